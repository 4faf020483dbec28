import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { P12_FILE, PASSWORD_FILE } from "../../ops/bundle/bundle";
import { bundleMain } from "../../ops/commands/bundle";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { rotateMain } from "../../ops/commands/rotate";
import { parseEnvFile } from "../../ops/common/env-file";
import { PROJECT_DIR } from "../../ops/common/paths";
import { Deployment } from "../../ops/engine/deployment";
import { onPath } from "../../ops/engine/engine";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { cacheDir, readToolchainEnv } from "../../ops/engine/toolchain";
import { rotationView } from "../../ops/lifecycle/rotation";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { Bundle, LoopCounts, compileJavaLogin, javaLogin, readBundle, startJavaLoginLoop, startLoginLoop } from "./login-clients";

/*
 * Issue 23, "config edits go through the rotation": in two-phase mode a deploy of a setting that would replace
 * the admin certificate or crashplanUser is refused at plan time (a postcondition on the ignored attribute),
 * naming the setting, both values and `rotate start`; nothing is applied, and Code42's bundle keeps logging in.
 * A rotation then carries the edits. One server, one deploy; the doors: the deploy command, `npx cdktf deploy`.
 */

const POLICY = "crashplanpolicy";

/** A setting whose edit would replace what Code42 logs in with, as a deploy of it is refused. */
interface Edit {
  readonly setting: string;
  readonly env: Record<string, string>;
  readonly live: string;
  readonly configured: string;
  /** What the refusal tells the user to do. */
  readonly advice: string;
}
const ROTATE = "Run `npm run rotate -- start`";
const EDITS: readonly Edit[] = [
  {
    setting: "adminCert.commonName",
    env: { C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2" },
    live: "crashplan-admin",
    configured: "crashplan-admin-2",
    advice: ROTATE,
  },
  { setting: "adminCert.ttl", env: { C42_ADMIN_CERT_TTL: "4380h" }, live: "8760h", configured: "4380h", advice: ROTATE },
  { setting: "role.name", env: { C42_ROLE_NAME: "cpRole2" }, live: "cpRole", configured: "cpRole2", advice: ROTATE },
  { setting: "certRole.name", env: { C42_CERT_ROLE_NAME: "code42User" }, live: "crashplanUser", configured: "code42User", advice: ROTATE },
  { setting: "certAuth.path", env: { C42_CERT_AUTH_PATH: "cert2" }, live: "cert", configured: "cert2", advice: 'Set certAuth.path back to "cert"' },
  { setting: "pki_int.path", env: { C42_PKI_INT_PATH: "pki_int2" }, live: "pki_int", configured: "pki_int2", advice: 'Set pki_int.path back to "pki_int"' },
];
/** The edits a rotation carries, all at once. */
const CARRIED = Object.assign({}, ...EDITS.filter((e) => e.advice === ROTATE).map((e) => e.env)) as Record<string, string>;

/** An engine's diagnostics as one line: box drawing and line wrapping undone. */
const oneLine = (text: string) => text.replace(/[│╷╵]/g, " ").replace(/\s+/g, " ");

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

describe("two-phase: a config edit that would replace the live certificate or crashplanUser is refused before anything is applied, and a rotation carries it (real OpenBao, real OpenTofu)", () => {
  let server: TestServer;
  let td: TestDeployment;
  let work: string;
  let javaDir: string;
  let a: { dir: string; bundle: Bundle; serial: string };
  const loops: { stop(): Promise<LoopCounts> }[] = [];

  const fresh = (settings: Record<string, string> = {}): Deployment => isolatedDeployment(td.work, server.env, settings);
  const runMain = async (
    main: (argv: readonly string[], make: () => Deployment, io: ReturnType<typeof capture>["io"]) => Promise<number>,
    argv: string[] = [],
    settings: Record<string, string> = {},
  ) => {
    const { out, io } = capture();
    const code = await main(argv, () => fresh(settings), io);
    return { code, ...out };
  };
  const writeBundle = async (name: string, settings: Record<string, string> = {}) => {
    const dir = join(work, name);
    const { out, io } = capture();
    expect(await bundleMain(["--out", dir], await fresh(settings).outputs(), io)).toBe(0);
    return { dir, bundle: readBundle(dir, P12_FILE, PASSWORD_FILE), serial: /certificate serial ([0-9a-f:]+),/.exec(out.stdout)?.[1] ?? "" };
  };
  const list = async (path: string) => ((await server.call({ method: "LIST", path })).json?.data?.keys ?? []).slice().sort() as string[];
  const pinned = async (role: string, mount = "cert") =>
    new X509Certificate((await server.call({ path: `auth/${mount}/certs/${role}` })).json.data.certificate);
  const nodeLogin = async (b: Bundle) => (await server.call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: b })).status;
  const report = (counts: LoopCounts) => {
    process.stderr.write(
      `config-edits: ${counts.name} login loop: ${counts.ok} ok, ${counts.failed} failed of ${counts.attempts} in ${counts.seconds} s ` +
        `(${counts.rate}/s, longest gap ${counts.maxGapMs} ms)${counts.failures.length ? `; first failures: ${counts.failures.join("; ")}` : ""}\n`,
    );
    return counts;
  };
  const expectClean = (counts: LoopCounts) => {
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBe(counts.attempts);
    expect(counts.attempts).toBeGreaterThan(0);
  };
  /** What a refused deploy must leave as it was: the state file (byte for byte) and what Vault holds. */
  const snapshot = async () => ({
    state: readFileSync(td.deployment.stateFile, "utf8"),
    auths: Object.keys((await server.call({ path: "sys/auth" })).json.data).sort(),
    mounts: Object.keys((await server.call({ path: "sys/mounts" })).json.data).sort(),
    certRoles: await list("auth/cert/certs"),
    pinned: (await pinned("crashplanUser")).serialNumber,
    pkiRoles: await list("pki_int/roles"),
    issued: await list("pki_int/certs"),
  });

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    work = mkdtempSync(join(tmpdir(), "c42-config-edits-"));
    javaDir = join(work, "java");
    mkdirSync(javaDir, { mode: 0o700 });
    await Promise.all([compileJavaLogin(javaDir), runMain(deployMain).then((r) => expect(r.code).toBe(0))]);
    a = await writeBundle("a");
    loops.push(startLoginLoop(server, "current (A), Node", a.bundle, POLICY));
    loops.push(startJavaLoginLoop(javaDir, "current (A), Java PKCS12", join(a.dir, P12_FILE), a.bundle.passphrase, server, POLICY));
  });

  afterAll(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    if (work) rmSync(work, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  test.each(EDITS)(
    "$setting: a plain deploy of the edit is refused at plan time, naming the setting, both values and what to do; state and Vault unchanged",
    async (edit) => {
      const before = await snapshot();
      const started = Date.now();
      const refused = await runMain(deployMain, [], edit.env);
      process.stderr.write(`config-edits: the refused deploy of ${edit.setting} took ${Date.now() - started} ms\n`);
      expect(refused.code).toBe(1);
      const text = oneLine(refused.stderr);
      expect(text).toContain(`${edit.setting}: `);
      expect(text).toContain(`"${edit.live}"`);
      expect(text).toContain(`"${edit.configured}"`);
      expect(text).toContain("so this plan is refused and nothing was applied");
      expect(text).toContain(edit.advice);
      expect(text).not.toMatch(/Creating\.\.\.|Destroying\.\.\.|Modifying\.\.\./);
      expect(await snapshot()).toEqual(before);
    },
  );

  test("npx cdktf deploy --auto-approve of an edit is refused the same way", async () => {
    const before = await snapshot();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...parseEnvFile(readFileSync(join(cacheDir(), "toolchain.env"), "utf8")),
      ...server.env,
      C42_STATE_DIR: td.deployment.config.stateDir,
      C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2",
      CHECKPOINT_DISABLE: "1",
      FORCE_COLOR: "0",
      CI: "1",
    };
    const { code, output } = await run(
      "npx",
      ["cdktf", "deploy", "--auto-approve", "--no-color", "--output", join(td.work, "cdktf-cli.out")],
      env,
      PROJECT_DIR,
    );
    expect(code).not.toBe(0);
    const text = oneLine(output);
    expect(text).toContain(
      'adminCert.commonName: the admin certificate Code42 logs in with has common name "crashplan-admin", and the configuration says "crashplan-admin-2".',
    );
    expect(text).toContain("so this plan is refused and nothing was applied. Run `npm run rotate -- start`");
    expect(text).not.toMatch(/Apply complete/);
    expect(await snapshot()).toEqual(before);
  });

  test("rotate start and finish carry the edits: the next certificate has the new common name, TTL and role, crashplanUser's new name takes over at finish; the current bundle logged in throughout (Node and Java)", async () => {
    const started = await runMain(rotateMain, ["start"], CARRIED);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    const v = rotationView(await fresh(CARRIED).outputs());
    expect(v.phase).toBe("started");
    expect(v.current?.serial).toBe(a.serial);
    expect(await list("auth/cert/certs")).toEqual(["code42user-next", "crashplanuser"]);
    expect((await pinned("crashplanUser")).serialNumber).toBe(a.serial.replace(/:/g, "").toUpperCase());
    expect(await list("pki_int/roles")).toEqual(["cpRole2"]);

    const b = await writeBundle("b", CARRIED);
    expect(b.serial).toBe(v.next?.serial);
    expect((await pinned("code42User-next")).subject).toBe("CN=crashplan-admin-2");
    const loopB = startLoginLoop(server, "next (B), Node", b.bundle, POLICY);
    loops.push(loopB);
    expect(await javaLogin(javaDir, join(b.dir, P12_FILE), b.bundle.passphrase, server)).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });

    // The current bundle's loops ran from the first deploy through every refusal and the start.
    for (const loop of loops.splice(0, 2)) expectClean(report(await loop.stop()));

    const finished = await runMain(rotateMain, ["finish"], CARRIED);
    expect(finished.stderr).toBe("");
    expect(finished.code).toBe(0);
    expectClean(report(await loops.splice(0, 1)[0].stop()));

    expect(await list("auth/cert/certs")).toEqual(["code42user"]);
    const final = await pinned("code42User");
    expect(final.serialNumber).toBe(b.serial.replace(/:/g, "").toUpperCase());
    expect(final.subject).toBe("CN=crashplan-admin-2");
    expect((Date.parse(final.validTo) - Date.parse(final.validFrom)) / 3600_000).toBeCloseTo(4380, 0);
    expect(await nodeLogin(b.bundle)).toBe(200);
    expect(await nodeLogin(a.bundle)).toBe(400);

    const drift = await runMain(driftMain, [], CARRIED);
    expect(drift.stdout).toBe("in sync: Vault matches the configuration\n");
    expect(drift.code).toBe(0);
    const deployed = await runMain(deployMain, [], CARRIED);
    expect(deployed.stderr).toBe("");
    expect(deployed.code).toBe(0);
    expect((await pinned("code42User")).serialNumber).toBe(final.serialNumber);
  });
});

/*
 * The engines themselves: a postcondition on an ignored attribute is evaluated at plan time, so the plan fails
 * and an apply applies nothing. A bare `terraform_data` (no provider, no server), on the toolchain's OpenTofu
 * and on Terraform (from PATH, else the test toolchain's).
 */
describe.each([
  ["OpenTofu", () => readToolchainEnv().values.C42_TOFU],
  ["Terraform", () => onPath("terraform") ?? readToolchainEnv().values.C42_TERRAFORM],
])("%s: a postcondition on an ignored attribute refuses the plan", (label, binary) => {
  test("plan and apply fail at plan time with the message; the object is neither replaced nor changed", async () => {
    const engine = binary();
    if (!engine) throw new Error(`no ${label} binary: build the test toolchain (npm run toolchain -- --for-tests)`);
    const dir = mkdtempSync(join(tmpdir(), "c42-postcondition-"));
    try {
      const config = (value: string) =>
        writeFileSync(
          join(dir, "main.tf.json"),
          JSON.stringify({
            locals: { configured: value },
            resource: {
              terraform_data: {
                live: {
                  triggers_replace: value,
                  lifecycle: {
                    ignore_changes: ["triggers_replace"],
                    postcondition: [
                      {
                        condition: "${self.triggers_replace == local.configured}",
                        error_message: 'live "${self.triggers_replace}", configured "${local.configured}": run rotate start.',
                      },
                    ],
                  },
                },
              },
            },
          }),
        );
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
      const engineRun = (args: string[]) => run(engine, [...args, "-no-color"], env, dir);
      config("a");
      expect((await engineRun(["init", "-input=false"])).code).toBe(0);
      expect((await engineRun(["apply", "-input=false", "-auto-approve"])).code).toBe(0);
      const state = () => readFileSync(join(dir, "terraform.tfstate"), "utf8");
      const before = state();

      config("b");
      const plan = await engineRun(["plan", "-input=false"]);
      expect(plan.code).toBe(1);
      expect(plan.output).toMatch(/Planning failed\. (OpenTofu|Terraform) encountered an error while generating this plan/);
      expect(oneLine(plan.output)).toContain("Resource postcondition failed");
      expect(oneLine(plan.output)).toContain('live "a", configured "b": run rotate start.');
      const apply = await engineRun(["apply", "-input=false", "-auto-approve"]);
      expect(apply.code).toBe(1);
      expect(apply.output).toMatch(/Planning failed/);
      expect(oneLine(apply.output)).toContain('live "a", configured "b": run rotate start.');
      expect(apply.output).not.toMatch(/Creating\.\.\.|Destroying\.\.\.|Modifying\.\.\.|Apply complete/);
      expect(state()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
