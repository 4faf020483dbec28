import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SYNTH_CACHE_DIR } from "../../ops/engine/synth-cache";
import { isolatedEnv } from "../../ops/engine/scratch";
import { editKeepingSizeAndTime, projectCopy } from "../helpers/project-copy";
import { TestServer, ok, startTestServer } from "./fixtures";
import { Finished, ProcessGroups } from "./process-groups";

/*
 * Issue 26: the synth cache through the real commands, on one real OpenBao with the real engine. The
 * commands run from a copy of the project (its cdktf.out, its cache and its sources are the test's),
 * as `c42-keystore` runs them. Whether a command synthesized is read from the outside: every synth
 * that is not reused adds an entry to cdktf.out/.synth-cache. Each change must be synthesized and
 * reach Vault (or the JSON), and the command after it must reuse that JSON again.
 */

const groups = new ProcessGroups();
afterAll(() => groups.stopAll());

const run = (checkout: string, args: string[], env: NodeJS.ProcessEnv): Promise<Finished> =>
  groups.run(process.execPath, [join(checkout, "bin", "c42-keystore.js"), ...args], { cwd: checkout, env });

describe("synth cache, through the commands", () => {
  let server: TestServer;
  let work: string;
  let a: string;
  let env: NodeJS.ProcessEnv;
  const entries = (checkout: string): string[] => {
    const cache = join(checkout, "cdktf.out", SYNTH_CACHE_DIR);
    return existsSync(cache) && statSync(cache).isDirectory() ? readdirSync(cache).sort() : [];
  };
  /** Runs a command in checkout `a` and says how many synths it did not reuse. */
  const command = async (args: string[], extra: Record<string, string> = {}, checkout = a): Promise<Finished & { synthesized: number }> => {
    const before = entries(checkout);
    const result = await run(checkout, args, { ...env, ...extra });
    if (result.code !== 0 && result.code !== 2) throw new Error(`${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
    return { ...result, synthesized: entries(checkout).filter((e) => !before.includes(e)).length };
  };
  const tokenTtl = async () => ok(await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl as number;
  const stack = () => JSON.parse(readFileSync(join(a, "cdktf.out", "stacks", "keystore", "cdk.tf.json"), "utf8"));

  beforeAll(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "c42-synth-cache-"));
    a = projectCopy(join(work, "a"), { ownCdktf: true });
    writeFileSync(join(a, "keystore.config.json"), JSON.stringify({ certRole: { tokenTtl: "1h" } }));
    env = { ...isolatedEnv(work, server.env), NODE_OPTIONS: "--preserve-symlinks" };
    const deployed = await command(["deploy"]);
    expect(deployed.code).toBe(0);
    expect(deployed.synthesized).toBeGreaterThan(0);
    expect(await tokenTtl()).toBe(3600);
  });
  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("with nothing changed, drift reuses the JSON (no synth) and is in sync", async () => {
    await command(["drift"]);
    const drift = await command(["drift"]);
    expect([drift.code, drift.synthesized]).toEqual([0, 0]);
    expect(drift.stdout).toContain("in sync");
    // Reused, not merely never kept: the deploy's entries are there.
    expect(entries(a).length).toBeGreaterThan(0);
  });

  test("an edit of the config file, same size and same modification time: synthesized, applied, then reused", async () => {
    editKeepingSizeAndTime(join(a, "keystore.config.json"), '"1h"', '"2h"');
    const deployed = await command(["deploy"]);
    expect(deployed.synthesized).toBeGreaterThan(0);
    expect(await tokenTtl()).toBe(7200);
    const drift = await command(["drift"]);
    expect([drift.code, drift.synthesized]).toEqual([0, 0]);
  });

  test("a changed C42_* value: synthesized, applied, then reused", async () => {
    const deployed = await command(["deploy"], { C42_CERT_ROLE_TOKEN_TTL: "3h" });
    expect(deployed.synthesized).toBeGreaterThan(0);
    expect(await tokenTtl()).toBe(10800);
    const drift = await command(["drift"], { C42_CERT_ROLE_TOKEN_TTL: "3h" });
    expect([drift.code, drift.synthesized]).toEqual([0, 0]);
    // Back to the file's value: its JSON is still cached, and the drift tells the truth about Vault (3h there, 2h wanted).
    const back = await command(["drift"]);
    expect([back.code, back.synthesized]).toEqual([2, 0]);
    expect((await command(["deploy"])).code).toBe(0);
    expect(await tokenTtl()).toBe(7200);
  });

  test("an edited source file of the same size and the same modification time: synthesized, applied, then reused", async () => {
    // Policy stanzas indented with a tab instead of two spaces: `\t` is two characters in the source.
    editKeepingSizeAndTime(join(a, "lib", "policy-document.ts"), "{\\n  capabilities", "{\\n\\tcapabilities");
    const deployed = await command(["deploy"]);
    expect(deployed.synthesized).toBeGreaterThan(0);
    const policy = ok(await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    expect(policy).toContain("{\n\tcapabilities");
    const drift = await command(["drift"]);
    expect([drift.code, drift.synthesized]).toEqual([0, 0]);
  });

  test("an upgraded dependency (the installed cdktf's version): synthesized with it, then reused", async () => {
    const version = (JSON.parse(readFileSync(join(a, "node_modules", "cdktf", "package.json"), "utf8")) as { version: string }).version;
    const next = version.replace(/\d+$/, (n) => String((Number(n) + 1) % 10));
    editKeepingSizeAndTime(join(a, "node_modules", "cdktf", "package.json"), `"version": "${version}"`, `"version": "${next}"`);
    const drift = await command(["drift"]);
    expect([drift.code, drift.synthesized > 0]).toEqual([0, true]);
    expect(stack()["//"].metadata.version).toBe(next);
    const again = await command(["drift"]);
    expect([again.code, again.synthesized]).toEqual([0, 0]);
  });

  test("a changed state record (a rotation started from another checkout sharing the state): synthesized for it, in sync, then reused", async () => {
    const b = projectCopy(join(work, "b"));
    writeFileSync(join(b, "keystore.config.json"), readFileSync(join(a, "keystore.config.json")));
    cpSync(join(a, "lib", "policy-document.ts"), join(b, "lib", "policy-document.ts"));
    const started = await command(["rotate", "start"], {}, b);
    expect(started.code).toBe(0);
    // Checkout a never built this phase: a JSON for the old one would plan to remove crashplanUser-next (drift 2).
    const drift = await command(["drift"]);
    expect([drift.code, drift.synthesized > 0]).toEqual([0, true]);
    expect(JSON.stringify(stack().resource.vault_cert_auth_backend_role)).toContain("crashplanUser-next");
    const again = await command(["drift"]);
    expect([again.code, again.synthesized]).toEqual([0, 0]);
    expect((await command(["rotate", "abort"])).code).toBe(0);
  });

  test("an unwritable cache directory: the commands still work and say nothing of it", async () => {
    const cache = join(a, "cdktf.out", SYNTH_CACHE_DIR);
    rmSync(cache, { recursive: true });
    writeFileSync(cache, "in the way");
    const drift = await command(["drift"]);
    expect(drift.code).toBe(0);
    expect(drift.stderr).not.toMatch(/cache/i);
    expect(readFileSync(cache, "utf8")).toBe("in the way");
    rmSync(cache);
    const refilled = await command(["drift"]);
    expect([refilled.code, refilled.synthesized > 0]).toEqual([0, true]);
  });

  test("a reused JSON loads neither cdktf nor the stack (drift, no-op deploy); a config edit loads them, synthesizes and applies", async () => {
    // What each command loaded, recorded at its exit by a preload (__tests__/helpers/module-probe.js) into a new 0600 file.
    const probed = async (args: string[], name: string) => {
      const file = join(work, `${name}.modules.json`);
      const result = await command(args, {
        NODE_OPTIONS: `--preserve-symlinks -r ${join(__dirname, "..", "helpers", "module-probe.js")}`,
        MODULE_PROBE_FILE: file,
      });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const modules = (JSON.parse(readFileSync(file, "utf8")) as { modules: string[] }).modules;
      // The probe saw the command itself run.
      expect(modules).toContain(join(a, "ops", "engine", "deployment.ts"));
      const cdktf = modules.filter((m) => /[\\/]node_modules[\\/](cdktf|constructs|@cdktf)[\\/]/.test(m));
      return { ...result, cdktf, stack: modules.filter((m) => m.endsWith(join("lib", "keystore-stack.ts"))) };
    };
    expect((await command(["drift"])).code).toBe(0);
    const drift = await probed(["drift"], "drift");
    expect([drift.code, drift.synthesized, drift.cdktf, drift.stack]).toEqual([0, 0, [], []]);
    expect(drift.stdout).toContain("in sync");
    const noop = await probed(["deploy"], "noop-deploy");
    expect([noop.code, noop.synthesized, noop.cdktf, noop.stack]).toEqual([0, 0, [], []]);

    editKeepingSizeAndTime(join(a, "keystore.config.json"), '"2h"', '"4h"');
    const edited = await probed(["deploy"], "edited-deploy");
    expect([edited.code, edited.synthesized > 0, edited.stack.length]).toEqual([0, true, 1]);
    expect(edited.cdktf).toEqual(
      expect.arrayContaining([join(a, "node_modules", "cdktf", "lib", "index.js"), join(a, "node_modules", "constructs", "lib", "index.js")]),
    );
    expect(edited.cdktf.some((m) => m.includes(join("node_modules", "@cdktf", "provider-vault")))).toBe(true);
    expect(await tokenTtl()).toBe(14400);
  });
});
