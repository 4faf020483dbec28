import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib";
import { adoptMain } from "../../ops/commands/adopt";
import { driftMain } from "../../ops/commands/drift";
import { deployJournalFile } from "../../ops/engine/deploy-journal";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { IssuerGuardError, caStepsToCreate, guardIssuers } from "../../ops/lifecycle/issuer-guard";
import { capture } from "../helpers/io";
import { TestServer, ok, startTestServer } from "./fixtures";
import { Finished, ProcessGroups, Running, processesInGroup, until } from "./process-groups";

/*
 * Issue 16: a cold `deploy` whose engine is killed with SIGKILL at five points
 * (a cancelled CI job, an OOM kill, a reboot). Each point is reached by asking
 * Vault until the object appears, never by a sleep; then the engine (the tofu
 * process, not the command around it) is killed. After each, one more
 * `deploy` must end in the complete stack, with one root issuer on pki and one
 * intermediate issuer on pki_int, and `drift` must exit 0.
 *
 * Each case has a server of its own. The deploys run in a process of their own
 * (its own process group, so a kill reaches the provider plugins too), as a
 * person or a CI job runs them.
 */

const PROJECT = resolve(__dirname, "..", "..");

const DRIVER = `
const { isolatedDeployment } = require("./ops/engine/scratch");
const { processIo } = require("./ops/commands/command");
const { deployMain } = require("./ops/commands/deploy");
const pick = (re) => Object.fromEntries(Object.entries(process.env).filter(([k]) => re.test(k)));
const make = () => isolatedDeployment(process.env.RECOVER_TEST_WORK, pick(/^VAULT_/), pick(/^C42_(?!CACHE)/), { echo: true });
deployMain([], make, processIo).then((code) => process.exit(code));
`;

/** The engine's apply of a deploy (not its init, state pull or the refresh after a failure). */
const isEngineApply = (argv: string[]) => /\/(tofu|terraform)$/.test(argv[0]) && argv[1] === "apply" && !argv.includes("-refresh-only");

interface Point {
  readonly name: string;
  /** Whether the deploy got that far, asked of Vault. */
  reached(server: TestServer): Promise<boolean>;
}

const keysOf = async (server: TestServer, path: string): Promise<string[]> => {
  const answer = await server.call({ method: "LIST", path });
  return answer.status === 200 ? (answer.json.data.keys as string[]) : [];
};
const exists = async (server: TestServer, path: string) => (await server.call({ path })).status === 200;

/** Issuers of a PKI mount with their key (empty for a certificate imported without one) and serial. */
async function issuers(server: TestServer, mount: string): Promise<{ id: string; keyId: string; serial: string }[]> {
  const answer = await server.call({ method: "LIST", path: `${mount}/issuers` });
  // 404: none yet, or no mount yet.
  if (answer.status !== 200) return [];
  const info = answer.json.data.key_info as Record<string, { key_id: string; serial_number: string }>;
  return Object.entries(info).map(([id, i]) => ({ id, keyId: i.key_id, serial: i.serial_number }));
}

const POINTS: readonly Point[] = [
  {
    name: "after the mounts",
    reached: async (s) => {
      const mounts = (await s.call({ path: "sys/mounts" })).json.data;
      const auths = (await s.call({ path: "sys/auth" })).json.data;
      return ["secret/", "pki/", "pki_int/"].every((m) => m in mounts) && "cert/" in auths;
    },
  },
  { name: "after the root", reached: async (s) => (await keysOf(s, "pki/issuers")).length > 0 },
  { name: "after the intermediate", reached: async (s) => (await keysOf(s, "pki_int/issuers")).length > 0 },
  {
    name: "after the admin certificate",
    // Set-signed lists the CA certificates it imported under pki_int/certs too: the admin certificate is any other serial.
    reached: async (s) => {
      const caSerials = new Set((await issuers(s, "pki_int")).map((i) => i.serial));
      return caSerials.size > 0 && (await keysOf(s, "pki_int/certs")).some((serial) => !caSerials.has(serial));
    },
  },
  {
    name: "after the roles",
    reached: async (s) => (await exists(s, "pki_int/roles/cpRole")) && (await exists(s, "auth/cert/certs/crashplanUser")),
  },
];

/** At most this many tries per point when the engine finished before the kill could land (it takes about three seconds). */
const ATTEMPTS = 3;

describe("a deploy whose engine is killed with SIGKILL converges with one more deploy", () => {
  const groups = new ProcessGroups();
  const cleanups: (() => Promise<void> | void)[] = [];

  /** Starts `deploy` in a process group of its own. */
  const startDeploy = (server: TestServer, work: string): Running =>
    groups.start(process.execPath, ["-r", "ts-node/register", "-e", DRIVER], {
      cwd: PROJECT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        C42_CACHE: process.env.C42_CACHE,
        TS_NODE_TRANSPILE_ONLY: "1",
        CHECKPOINT_DISABLE: "1",
        RECOVER_TEST_WORK: work,
        ...server.env,
      },
    });

  afterEach(async () => {
    // Nothing a deploy started (engine, provider plugins) outlives the test: killed, and waited for.
    await groups.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A fresh server, a cold deploy, and a SIGKILL of its engine once `point`
   * is reached; tried again (on a fresh server) when the engine finished first.
   */
  const interrupt = async (point: Point): Promise<{ server: TestServer; work: string; killed: Finished; attempt: number }> => {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const server = await startTestServer();
      const work = mkdtempSync(join(tmpdir(), "c42-interrupted-"));
      cleanups.push(
        () => server.stop(),
        () => rmSync(work, { recursive: true, force: true }),
      );
      const run = startDeploy(server, work);
      const reached = await until(point.name, () => point.reached(server), run.ended);
      const engines = reached ? processesInGroup(run.child.pid!, isEngineApply) : [];
      for (const pid of engines) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // it ended on its own meanwhile: the output below tells
        }
      }
      const killed = await run.done;
      if (engines.length === 1 && /(tofu|terraform) apply was killed by SIGKILL/.test(killed.output)) return { server, work, killed, attempt };
      console.log(`interrupted-deploy: ${point.name}: attempt ${attempt} missed (the engine finished first); trying again on a fresh server`);
    }
    throw new Error(`the engine finished before the kill ${ATTEMPTS} times in a row at "${point.name}"`);
  };

  test.each(POINTS.map((p) => [p.name, p] as const))("%s", async (_, point) => {
    const started = Date.now();
    const { server, work, killed, attempt } = await interrupt(point);
    expect(killed.code).toBe(1);
    const rootBefore = await issuers(server, "pki");
    const intermediateBefore = (await issuers(server, "pki_int")).filter((i) => i.keyId !== "");
    // The interrupted run left its journal (0600, names only) and a state the engine can read.
    const journal = deployJournalFile(join(work, "state"));
    expect(statSync(journal).mode & 0o777).toBe(0o600);
    expect(readFileSync(journal, "utf8")).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|hvs\.|s\.[A-Za-z0-9]{20}/);
    expect(JSON.parse(readFileSync(join(work, "state", "keystore.tfstate"), "utf8")).version).toBe(4);

    const next = await startDeploy(server, work).done;
    expect({ code: next.code, tail: next.code === 0 ? "" : next.output.slice(-3000) }).toEqual({ code: 0, tail: "" });
    // It said what it took over, and the journal is gone.
    expect(next.output).toMatch(/^deploy: the deploy interrupted at \S+ had made .*secret\/.*; took them over as `npm run adopt` does/m);
    if (rootBefore.length > 0) expect(next.output).toContain(`issuer ${rootBefore[0].id}`);
    expect(existsSync(journal)).toBe(false);

    // One root issuer on pki; on pki_int one intermediate (with its key) and the root's certificate, imported with the chain.
    const root = await issuers(server, "pki");
    expect(root).toHaveLength(1);
    expect(root[0].keyId).not.toBe("");
    const onInt = await issuers(server, "pki_int");
    const intermediate = onInt.filter((i) => i.keyId !== "");
    expect(intermediate).toHaveLength(1);
    expect(onInt.filter((i) => i.keyId === "").map((i) => i.serial)).toEqual([root[0].serial]);
    // What the interrupted run made is used as it is, never made again.
    if (rootBefore.length > 0) expect(root.map((i) => i.id)).toEqual(rootBefore.map((i) => i.id));
    if (intermediateBefore.length > 0) expect(intermediate.map((i) => i.id)).toEqual(intermediateBefore.map((i) => i.id));

    // The whole stack, with the configured values.
    const mounts = (await server.call({ path: "sys/mounts" })).json.data;
    expect([mounts["secret/"].type, mounts["secret/"].options.version]).toEqual(["kv", "1"]);
    expect((await server.call({ path: "sys/mounts/pki/tune" })).json.data.max_lease_ttl).toBe(87600 * 3600);
    expect((await server.call({ path: "sys/mounts/pki_int/tune" })).json.data.max_lease_ttl).toBe(43800 * 3600);
    expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(60);
    const policy = (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    expect(policy.match(/^path "[^"]+"/gm)).toEqual(['path "pki/issue/*"', 'path "sys/policy/*"', 'path "auth/cert/certs/*"']);
    const role = (await server.call({ path: "pki_int/roles/cpRole" })).json.data;
    expect([role.allow_any_name, role.allow_subdomains, role.client_flag]).toEqual([true, true, true]);
    const deployment = isolatedDeployment(work, server.env);
    const outputs = await deployment.outputs();
    const out = (name: string) => outputs[name].value as string;
    const certRole = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
    expect([certRole.token_policies, certRole.token_ttl]).toEqual([["crashplanPolicy"], 60]);
    expect(certRole.certificate.trim()).toBe(out(BUNDLE_OUTPUTS.certificate).trim());
    // The admin certificate was issued by that intermediate, and logs in.
    const admin = new X509Certificate(out(BUNDLE_OUTPUTS.certificate));
    const intermediatePem = (await server.call({ path: `pki_int/issuer/${intermediate[0].id}` })).json.data.certificate as string;
    expect(admin.checkIssued(new X509Certificate(intermediatePem))).toBe(true);
    const login = await server.call({
      method: "PUT",
      path: "auth/cert/login",
      token: undefined,
      clientCert: { cert: out(BUNDLE_OUTPUTS.certificate), key: out(BUNDLE_OUTPUTS.privateKey) },
    });
    expect([login.status, login.json.auth?.token_policies]).toEqual([200, ["crashplanpolicy", "default"]]);

    const drift = capture();
    const driftCode = await driftMain([], () => isolatedDeployment(work, server.env), drift.io);
    expect({ code: driftCode, out: drift.out.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/in sync/) });
    console.log(`interrupted-deploy: ${point.name}: killed on attempt ${attempt}; recovered, ${Math.round((Date.now() - started) / 1000)} s`);
  });
  test("with the journal lost (a CI runner's disk), deploy refuses and names `npm run adopt`, which takes over the run's CAs as they are", async () => {
    const { server, work } = await interrupt(POINTS[2]);
    const [root] = await issuers(server, "pki");
    const [intermediate] = (await issuers(server, "pki_int")).filter((i) => i.keyId !== "");
    rmSync(deployJournalFile(join(work, "state")));

    const refused = await startDeploy(server, work).done;
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(
      new RegExp(`^deploy: .*pki/ issuer ${root.id} \\(rootCa\\).*pki_int/ issuer ${intermediate.id} \\(intermediateCa\\).*run: npm run adopt$`, "m"),
    );
    expect((await issuers(server, "pki")).map((i) => i.id)).toEqual([root.id]);

    const adopted = capture();
    const code = await adoptMain(["--yes"], () => isolatedDeployment(work, server.env), adopted.io, { interactive: false, ask: async () => false });
    expect({ code, err: adopted.out.stderr }).toEqual({ code: 0, err: "" });
    expect((await issuers(server, "pki")).map((i) => i.id)).toEqual([root.id]);
    expect((await issuers(server, "pki_int")).filter((i) => i.keyId !== "").map((i) => i.id)).toEqual([intermediate.id]);
    await deploy(isolatedDeployment(work, server.env));
    const drift = capture();
    expect(await driftMain([], () => isolatedDeployment(work, server.env), drift.io)).toBe(0);
  });

  test("objects no interrupted run of this checkout made are refused, naming them and `npm run adopt`; the issuer guard names the issuer", async () => {
    const server = await startTestServer();
    const work = mkdtempSync(join(tmpdir(), "c42-interrupted-"));
    cleanups.push(
      () => server.stop(),
      () => rmSync(work, { recursive: true, force: true }),
    );
    // A root made by hand, as the recipe's first steps do.
    ok(await server.call({ method: "POST", path: "sys/mounts/pki", body: { type: "pki" } }));
    ok(await server.call({ method: "POST", path: "pki/root/generate/internal", body: { common_name: "example.com", ttl: "87600h" } }));
    const [root] = await issuers(server, "pki");

    const refused = await startDeploy(server, work).done;
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(
      new RegExp(
        `^deploy: ${server.env.VAULT_ADDR} already holds pki/ \\(pki\\), pki/ issuer ${root.id} \\(rootCa\\), which ${join(work, "state", "keystore.tfstate")} does not record, ` +
          `and no deploy of this checkout was interrupted while making them \\(no journal at ${deployJournalFile(join(work, "state"))}\\)\\. ` +
          ".*Nothing was changed\\. To take them over without replacing any mount, CA or issuer, run: npm run adopt$",
        "m",
      ),
    );
    // Nothing was made: no other mount, no second root.
    const mounts = Object.keys((await server.call({ path: "sys/mounts" })).json.data);
    expect(mounts.filter((m) => ["secret/", "pki_int/"].includes(m))).toEqual([]);
    expect((await issuers(server, "pki")).map((i) => i.id)).toEqual([root.id]);

    // The guard itself, as deploy and apply-plan run it before any CA step.
    const d = isolatedDeployment(work, server.env);
    await d.ensureInit();
    const steps = caStepsToCreate(d, await d.stateResources());
    const guarded = await guardIssuers(d, steps).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(guarded).toBeInstanceOf(IssuerGuardError);
    expect(guarded?.message).toMatch(
      new RegExp(
        `^  pki/ already holds issuer ${root.id}, and this apply would make a root CA there \\(vault_pki_secret_backend_root_cert\\.rootCa_certificate_\\w+\\)`,
        "m",
      ),
    );
    expect(guarded?.message).toMatch(/Nothing was applied\. To bring the existing CA under management without replacing it, run: npm run adopt$/);
    expect((await issuers(server, "pki")).map((i) => i.id)).toEqual([root.id]);
  });

  test("a state file left truncated by a killed engine is replaced by the last good state at the next command, which says so", async () => {
    const server = await startTestServer();
    const work = mkdtempSync(join(tmpdir(), "c42-interrupted-"));
    cleanups.push(
      () => server.stop(),
      () => rmSync(work, { recursive: true, force: true }),
    );
    await deploy(isolatedDeployment(work, server.env));
    // A second deploy keeps the state it starts from as the last good state.
    await deploy(isolatedDeployment(work, server.env));
    const state = join(work, "state", "keystore.tfstate");
    const lastGood = readFileSync(`${state}.last-good`, "utf8");
    expect(JSON.parse(lastGood).resources.length).toBeGreaterThan(10);
    expect(statSync(`${state}.last-good`).mode & 0o777).toBe(0o600);
    // What the engine leaves when it is killed while rewriting the file in place.
    writeFileSync(state, readFileSync(state, "utf8").slice(0, 1000));

    const stderr: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const drift = capture();
    let code: number;
    try {
      code = await driftMain([], () => isolatedDeployment(work, server.env), drift.io);
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join("")).toContain(
      `warning: the state ${state} was unusable (1000 bytes that are not a whole state: an engine run was stopped while writing it); ` +
        `restored the last good state ${state}.last-good, kept before the last engine run that wrote the state. The damaged file is kept as ${state}.unusable (0600).`,
    );
    expect({ code, out: drift.out.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/in sync/) });
    expect(readFileSync(state, "utf8")).toBe(lastGood);
    expect(statSync(`${state}.unusable`).mode & 0o777).toBe(0o600);
  });
});
