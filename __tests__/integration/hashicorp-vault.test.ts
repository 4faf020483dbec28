import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleMain } from "../../ops/commands/bundle";
import { driftMain } from "../../ops/commands/drift";
import { rotateMain } from "../../ops/commands/rotate";
import { DriftReport } from "../../ops/engine/drift-report";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { constructPaths } from "../../ops/engine/synthesized";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { P12_FILE, PASSWORD_FILE } from "../../ops/bundle/bundle";
import { AUDIT_DEVICE_PATH } from "../../ops/server/audit";
import { serverBinary } from "../../ops/server/kind";
import { LAYOUT } from "../../ops/server/layout";
import { capture } from "../helpers/io";
import {
  TestDeployment,
  TestServer,
  VAULT_BUILD_WAIT_MS,
  VAULT_RELEASE_LINE,
  hashicorpVault,
  vaultBuilt,
  ok,
  startTestServer,
  testDeployment,
} from "./fixtures";
import { LoopCounts, compileJavaLogin, javaLogin, readBundle, startLoginLoop } from "./login-clients";

/** The policy Code42's login gets: Vault lists policy names lower-cased. */
const POLICY = "crashplanpolicy";

/**
 * The life cycle Code42's article describes, on HashiCorp Vault itself rather
 * than OpenBao: production mode (raft, TLS on loopback, initialised and
 * unsealed through the API), real OpenTofu and providers, the bundle loaded by
 * the JDK's PKCS12 KeyStore as Code42's Java server does, and a two-phase
 * rotation under a login loop. The cluster, backups, restore and health on
 * Vault are in hashicorp-vault-cluster.test.ts.
 */

// Vault may still be compiling in the background (scripts/build-vault.sh --background).
beforeAll(() => vaultBuilt("hashicorp-vault.test.ts"), VAULT_BUILD_WAIT_MS);

describe("the life cycle on HashiCorp Vault 1.21", () => {
  let server: TestServer;
  let td: TestDeployment;
  /** Scratch: the compiled Java client and the bundle. */
  let work: string;
  let vault: string;
  /** Login loops still running when a test fails: afterAll stops them. */
  const loops: { stop(): Promise<LoopCounts> }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "c42-hcv-"));
    vault = hashicorpVault("hashicorp-vault.test.ts");
    // Both settle before either failure is thrown, so afterAll never removes `work` while javac still writes into it.
    const [started, compiled] = await Promise.allSettled([startTestServer({ binary: vault }), compileJavaLogin(work)]);
    if (started.status === "fulfilled") server = started.value;
    for (const outcome of [started, compiled]) if (outcome.status === "rejected") throw outcome.reason;
    td = testDeployment(server);
  });

  afterAll(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    td?.cleanup();
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const policyAddress = () => {
    const found = [...constructPaths(td.deployment.stackDir).entries()].find(([, path]) => path === "keystore/policy/policy");
    if (!found) throw new Error("no resource at keystore/policy/policy");
    return found[0];
  };

  test("the server is HashiCorp Vault 1.21 on raft, unsealed, with the launcher's audit device enabled through the API", async () => {
    const binary = serverBinary(vault);
    expect(binary).toMatchObject({ kind: "vault", name: "vault" });
    expect(binary.version).toMatch(VAULT_RELEASE_LINE);
    expect(server.env.VAULT_ADDR).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const seal = ok(await server.call({ path: "sys/seal-status", token: undefined })).json;
    expect(seal).toMatchObject({ type: "shamir", initialized: true, sealed: false, t: 1, n: 1, version: binary.version, storage_type: "raft" });
    // The same code as OpenBao's for an active node; Vault 1.21's body has fields OpenBao 2.4's lacks, which the health probe does not read.
    const health = await server.call({ path: "sys/health", token: undefined });
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ initialized: true, sealed: false, standby: false, enterprise: false, removed_from_cluster: false });
    expect(health.json).toEqual(expect.objectContaining({ clock_skew_ms: expect.any(Number), echo_duration_ms: expect.any(Number) }));
    // Vault has no audit stanza: the config declares none, the launcher enabled the device through the API.
    expect(readFileSync(join(server.dir, LAYOUT.config), "utf8")).not.toMatch(/^audit /m);
    const devices = ok(await server.call({ path: "sys/audit" })).json.data;
    expect(Object.keys(devices)).toEqual([`${AUDIT_DEVICE_PATH}/`]);
    expect(devices[`${AUDIT_DEVICE_PATH}/`]).toMatchObject({ type: "file", options: { file_path: LAYOUT.audit, mode: "0600" } });
    expect(statSync(join(server.dir, LAYOUT.audit)).mode & 0o777).toBe(0o600);
  });

  test("deploy: pki has one issuer; pki_int's default is the intermediate, chained to the root, beside the root imported without a key; then drift exits 0", async () => {
    await deploy(td.deployment);
    const issuers = async (mount: string) => {
      const keys = ok(await server.call({ method: "LIST", path: `${mount}/issuers` })).json.data.keys as string[];
      const defaultId = ok(await server.call({ path: `${mount}/config/issuers` })).json.data.default as string;
      const read = async (id: string) => ok(await server.call({ path: `${mount}/issuer/${id}` })).json.data;
      return { defaultIssuer: await read(defaultId), others: await Promise.all(keys.filter((k) => k !== defaultId).map(read)) };
    };
    const pem = (text: string) => text.trim();
    const root = await issuers("pki");
    expect(root.others).toEqual([]);
    expect(root.defaultIssuer.key_id).not.toBe("");
    const intermediate = await issuers("pki_int");
    expect(intermediate.defaultIssuer.key_id).not.toBe("");
    expect(intermediate.defaultIssuer.ca_chain.map(pem)).toEqual([pem(intermediate.defaultIssuer.certificate), pem(root.defaultIssuer.certificate)]);
    // Setting the signed intermediate imports the chain it came with: the root's certificate, without its key (OpenBao does the same).
    expect(intermediate.others.map((i: { certificate: string; key_id: string }) => [pem(i.certificate), i.key_id])).toEqual([
      [pem(root.defaultIssuer.certificate), ""],
    ]);
    const { out, io } = capture();
    expect(await driftMain([], () => td.deployment, io)).toBe(0);
    expect(out.stdout).toBe("in sync: Vault matches the configuration\n");
  });

  test("the bundle logs in as Code42 would: the JDK's PKCS12 KeyStore, mTLS to auth/cert/login, the lower-cased policy", async () => {
    const dir = join(work, "bundle");
    const { out, io } = capture();
    expect(await bundleMain(["--out", dir], () => td.deployment.outputs(), io)).toBe(0);
    const password = readFileSync(join(dir, PASSWORD_FILE), "utf8").trim();
    expect(out.stdout + out.stderr).not.toContain(password);
    // The cert role has fields of Vault's own (allowed_organizations, ocsp_max_retries) and lacks OpenBao 2.4's token_strictly_bind_ip.
    const role = ok(await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
    expect(Object.keys(role)).toEqual(expect.arrayContaining(["allowed_organizations", "ocsp_max_retries", "ocsp_this_update_max_age"]));
    expect(role).not.toHaveProperty("token_strictly_bind_ip");
    // Vault stores policy names lower-cased, as OpenBao does: "crashplanPolicy" comes back as "crashplanpolicy".
    expect(await javaLogin(work, join(dir, P12_FILE), password, server)).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });
  });

  test("an out-of-band policy edit is drift (exit 2, naming the policy); deploy repairs it and drift exits 0 again", async () => {
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: 'path "secret/*" {\n  capabilities = ["read"]\n}\n' } }));

    const json = capture();
    expect(await driftMain(["--json"], () => td.deployment, json.io)).toBe(2);
    expect(JSON.parse(json.out.stdout) as DriftReport).toEqual({
      inSync: false,
      drifted: [{ address: policyAddress(), actions: ["update"], attributes: ["policy"] }],
    });

    await deploy(td.deployment);
    const policy = ok(await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    expect(policy).toContain('path "pki/issue/*"');
    expect(policy).not.toContain('path "secret/*"');
    const after = capture();
    expect(await driftMain([], () => td.deployment, after.io)).toBe(0);
    expect(after.out.stdout).toBe("in sync: Vault matches the configuration\n");
  });
  test("two-phase rotation under login loops: the current certificate logs in until finish, the next one from start through finish, 0 failed logins; then only the next one (Java PKCS12)", async () => {
    const fresh = () => isolatedDeployment(td.work, server.env);
    const run = async (main: typeof rotateMain, argv: string[]) => {
      const { out, io } = capture();
      return { code: await main(argv, fresh, io), ...out };
    };
    const writeBundle = async (name: string) => {
      const dir = join(work, name);
      const { out, io } = capture();
      expect(await bundleMain(["--out", dir], () => fresh().outputs(), io)).toBe(0);
      const bundle = readBundle(dir, P12_FILE, PASSWORD_FILE);
      expect(out.stdout + out.stderr).not.toContain(bundle.passphrase);
      return { dir, bundle, serial: /certificate serial ([0-9a-f:]+),/.exec(out.stdout)?.[1] ?? "", stdout: out.stdout };
    };
    const roles = async () => [...(ok(await server.call({ method: "LIST", path: "auth/cert/certs" })).json.data.keys as string[])].sort();
    const clean = (counts: LoopCounts) => {
      process.stderr.write(
        `hashicorp-vault.test.ts: rotation: ${counts.name} login loop: ${counts.ok} ok, ${counts.failed} failed of ${counts.attempts} in ${counts.seconds} s (longest gap ${counts.maxGapMs} ms)\n`,
      );
      expect(counts.failures).toEqual([]);
      expect(counts.failed).toBe(0);
      expect(counts.attempts).toBeGreaterThan(10);
      expect(counts.ok).toBe(counts.attempts);
    };

    const current = await writeBundle("current");
    const loopCurrent = startLoginLoop(server, "current", current.bundle, POLICY);
    loops.push(loopCurrent);
    const started = await run(rotateMain, ["start"]);
    expect([started.code, started.stderr]).toEqual([0, ""]);
    expect(started.stdout).toContain(
      `started: the next certificate is issued and role crashplanUser-next lets it log in; crashplanUser still lets the current one (${current.serial}) log in\n`,
    );
    expect(await roles()).toEqual(["crashplanuser", "crashplanuser-next"]);

    const next = await writeBundle("next");
    expect(next.serial).not.toBe(current.serial);
    expect(next.stdout).toContain("this is the NEXT certificate of the rotation in progress");
    const loopNext = startLoginLoop(server, "next", next.bundle, POLICY);
    loops.push(loopNext);
    // Code42 uploads the next bundle while both log in.
    expect(await javaLogin(work, join(next.dir, P12_FILE), next.bundle.passphrase, server)).toEqual({ status: 200, policies: [POLICY, "default"] });
    expect(await javaLogin(work, join(current.dir, P12_FILE), current.bundle.passphrase, server)).toEqual({ status: 200, policies: [POLICY, "default"] });

    loops.splice(loops.indexOf(loopCurrent), 1);
    clean(await loopCurrent.stop());
    const finished = await run(rotateMain, ["finish"]);
    expect([finished.code, finished.stderr]).toEqual([0, ""]);
    expect(finished.stdout).toContain(`the old certificate ${current.serial} is revoked`);
    loops.splice(loops.indexOf(loopNext), 1);
    clean(await loopNext.stop());

    expect(await roles()).toEqual(["crashplanuser"]);
    expect((await server.call({ path: `pki_int/cert/${current.serial}` })).json.data.revocation_time).toBeGreaterThan(0);
    expect((await javaLogin(work, join(current.dir, P12_FILE), current.bundle.passphrase, server)).status).toBe(400);
    expect(await javaLogin(work, join(next.dir, P12_FILE), next.bundle.passphrase, server)).toEqual({ status: 200, policies: [POLICY, "default"] });
    expect(await checkDrift(fresh())).toEqual({ inSync: true, drifted: [] });
  });

  test('audit.mode "enable": the stack enables its own file device through the API, which Vault allows as it is; drift stays 0', async () => {
    // Vault 1.21 refuses a second file device on a file another device already writes (the launcher's audit.log).
    const twin = await server.call({ method: "PUT", path: "sys/audit/twin", body: { type: "file", options: { file_path: LAYOUT.audit } } });
    expect([twin.status, twin.json.errors]).toEqual([400, ["file_path already in use: invalid configuration"]]);
    // The launcher's device sits at the path the stack's takes by default; remove it, as a Vault with no device would be.
    ok(await server.call({ method: "DELETE", path: `sys/audit/${AUDIT_DEVICE_PATH}` }));
    const filePath = join(work, "stack-audit.log");
    const enabled = isolatedDeployment(td.work, server.env, { C42_AUDIT_MODE: "enable", C42_AUDIT_FILE_PATH: filePath });
    const result = await deploy(enabled);
    expect(result.apply.stdout).toContain("Resources: 1 added, 0 changed, 0 destroyed");
    const devices = ok(await server.call({ path: "sys/audit" })).json.data;
    expect(Object.keys(devices)).toEqual(["file/"]);
    expect(devices["file/"]).toMatchObject({ type: "file", options: { file_path: filePath, mode: "0600" } });
    expect(statSync(filePath).mode & 0o777).toBe(0o600);
    expect(await checkDrift(enabled)).toEqual({ inSync: true, drifted: [] });
  });
});
