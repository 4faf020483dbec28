import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleMain } from "../../ops/commands/bundle";
import { driftMain } from "../../ops/commands/drift";
import { parseEnvFile } from "../../ops/common/env-file";
import { DriftReport } from "../../ops/engine/drift-report";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { constructPaths } from "../../ops/engine/synthesized";
import { cacheDir } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { P12_FILE, PASSWORD_FILE } from "../../ops/bundle/bundle";
import { AUDIT_DEVICE_PATH } from "../../ops/server/audit";
import { serverBinary } from "../../ops/server/kind";
import { LAYOUT } from "../../ops/server/layout";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";
import { compileJavaLogin, javaLogin } from "./login-clients";

/**
 * HashiCorp Vault from `scripts/build-vault.sh` (the latest release the Go module proxy serves, 1.21.x),
 * which `npm run test:integration` and CI run first. A missing binary fails the test with the command to
 * run; it never skips.
 */
function hashicorpVault(): string {
  const file = join(cacheDir(), "vault.env");
  const vault = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")).C42_VAULT : undefined;
  if (!vault || !existsSync(vault)) throw new Error(`HashiCorp Vault is not built (${file} is missing or names no binary); run: bash scripts/build-vault.sh`);
  return vault;
}

/**
 * The life cycle Code42's article describes, on HashiCorp Vault itself rather
 * than OpenBao: production mode (raft, TLS on loopback, initialised and
 * unsealed through the API), real OpenTofu and providers, the bundle loaded by
 * the JDK's PKCS12 KeyStore as Code42's Java server does.
 */
/** The release line the toolchain builds (scripts/build-vault.sh VAULT_VERSION). */
const RELEASE_LINE = /^1\.21\.\d+$/;

describe("the life cycle on HashiCorp Vault 1.21", () => {
  let server: TestServer;
  let td: TestDeployment;
  /** Scratch: the compiled Java client and the bundle. */
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "c42-hcv-"));
    const vault = hashicorpVault();
    // The release this file ran on, in the test output.
    process.stdout.write(`hashicorp-vault.test.ts: vault version: ${execFileSync(vault, ["version"], { encoding: "utf8" }).trim()}\n`);
    // Both settle before either failure is thrown, so afterAll never removes `work` while javac still writes into it.
    const [started, compiled] = await Promise.allSettled([startTestServer({ binary: vault }), compileJavaLogin(work)]);
    if (started.status === "fulfilled") server = started.value;
    for (const outcome of [started, compiled]) if (outcome.status === "rejected") throw outcome.reason;
    td = testDeployment(server);
  });

  afterAll(async () => {
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
    const binary = serverBinary(hashicorpVault());
    expect(binary).toMatchObject({ kind: "vault", name: "vault" });
    expect(binary.version).toMatch(RELEASE_LINE);
    expect(server.env.VAULT_ADDR).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const seal = ok(await server.call({ path: "sys/seal-status", token: undefined })).json;
    expect(seal).toMatchObject({ type: "shamir", initialized: true, sealed: false, t: 1, n: 1, version: binary.version, storage_type: "raft" });
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
  test('audit.mode "enable": the stack enables its own file device through the API, which Vault allows as it is; drift stays 0', async () => {
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
