import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib";
import { P12_FILE, PASSWORD_FILE, TofuOutputs, writeBundle } from "../../ops/bundle/bundle";
import { bundleMain } from "../../ops/commands/bundle";
import { statusMain } from "../../ops/commands/status";
import { Deployment } from "../../ops/engine/deployment";
import { constructPaths } from "../../ops/engine/synthesized";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { StatusReport } from "../../ops/lifecycle/status";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { capture } from "../helpers/io";

/** A 3 minute certificate renewed in its last 2 minutes: inside the window one minute after issue. */
const TTL_SECONDS = 180;
const WINDOW_SECONDS = 120;


describe("admin certificate rotation on a real OpenBao with real OpenTofu", () => {
  let server: TestServer;
  let td: TestDeployment;
  let d: Deployment;
  let bundles: string;
  let before: TofuOutputs;
  let after: TofuOutputs;

  const out = (outputs: TofuOutputs, name: string) => outputs[name].value as string;
  const certOf = (outputs: TofuOutputs) => new X509Certificate(out(outputs, BUNDLE_OUTPUTS.certificate));
  const status = async (args: string[] = []) => {
    const { out: printed, io } = capture();
    const code = await statusMain(args, () => d, io);
    return { code, ...printed };
  };
  const login = (outputs: TofuOutputs) =>
    server.call({ method: "PUT", path: "auth/cert/login", token: undefined, clientCert: { cert: out(outputs, BUNDLE_OUTPUTS.certificate), key: out(outputs, BUNDLE_OUTPUTS.privateKey) } });
  const noSecrets = (text: string, outputs: TofuOutputs) => {
    expect(text.includes(out(outputs, BUNDLE_OUTPUTS.privateKey))).toBe(false);
    expect(text.includes(out(outputs, BUNDLE_OUTPUTS.password))).toBe(false);
    expect(text).not.toContain("PRIVATE KEY");
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server, { C42_ADMIN_CERT_TTL: "3m", C42_ADMIN_CERT_RENEW_BEFORE: "2m" });
    d = td.deployment;
    bundles = mkdtempSync(join(tmpdir(), "c42-bundles-"));
    await deploy(d);
    before = await d.outputs();
  });

  afterAll(async () => {
    if (bundles) rmSync(bundles, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  test("a fresh 3 minute certificate is outside the 2 minute window: status exits 0 and prints no secret", async () => {
    const cert = certOf(before);
    expect((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000).toBeGreaterThanOrEqual(TTL_SECONDS);

    const human = await status();
    expect(human.stderr).toBe("");
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("admin certificate (Code42 login)\n  subject    CN=crashplan-admin\n");
    expect(human.stdout).toContain(`  serial     ${out(before, BUNDLE_OUTPUTS.serialNumber)}\n`);
    expect(human.stdout).toContain(`  not after  ${new Date(cert.validTo).toISOString()}\n`);
    expect(human.stdout).toContain("Vault server TLS certificate\n  subject    CN=localhost\n");
    expect(human.stdout).toContain("ok: both certificates are outside the renewal window\n");
    noSecrets(human.stdout, before);

    const json = await status(["--json"]);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.windowSeconds).toBe(WINDOW_SECONDS);
    expect(report.adminCertificate.serial).toBe(out(before, BUNDLE_OUTPUTS.serialNumber));
    expect(Date.parse(report.adminCertificate.notAfter) / 1000).toBe(Number(before[BUNDLE_OUTPUTS.expiration].value));
    expect(report.adminCertificate.secondsLeft).toBeGreaterThan(WINDOW_SECONDS);
    expect(report.adminCertificate.insideWindow).toBe(false);
    // The test server's certificate (ops/server.ts) was issued for 825 days a moment ago.
    expect(report.vaultServer.subject).toBe("CN=localhost");
    expect(report.vaultServer.daysLeft).toBeGreaterThanOrEqual(824.9);
    expect(report.vaultServer.daysLeft).toBeLessThanOrEqual(825);
    expect(report.ok).toBe(true);
  });

  test("--window overrides the configured window: a 1 day window flags the 3 minute certificate", async () => {
    const wide = await status(["--window", "1d", "--json"]);
    expect(wide.code).toBe(1);
    const report = JSON.parse(wide.stdout) as StatusReport;
    expect(report.windowSeconds).toBe(86400);
    expect(report.adminCertificate.insideWindow).toBe(true);
    expect(report.vaultServer.insideWindow).toBe(false);
  });

  test("inside the window: status exits 1 and the drift check names the certificate", async () => {
    const windowOpens = Date.parse(certOf(before).validTo) - WINDOW_SECONDS * 1000 + 2000;
    const wait = windowOpens - Date.now();
    expect(wait).toBeLessThan(TTL_SECONDS * 1000);
    const started = Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    process.stderr.write(`rotation: waited ${Math.round((Date.now() - started) / 1000)} s for the renewal window\n`);

    const flagged = await status();
    expect(flagged.code).toBe(1);
    expect(flagged.stdout).toContain(`RENEW: inside the 2m renewal window; run \`npm run deploy\``);
    expect(flagged.stdout.match(/RENEW/g)).toHaveLength(1);
    noSecrets(flagged.stdout, before);

    // What the runbook tells the reviewer to expect in the plan: exactly these three.
    const report = await checkDrift(d);
    const paths = constructPaths(d.stackDir);
    expect(Object.fromEntries(report.drifted.map((r) => [paths.get(r.address), r.actions]))).toEqual({
      "keystore/adminCert/certificate": ["delete", "create"],
      "keystore/bundle/password": ["delete", "create"],
      "keystore/certRole/role": ["delete", "create"],
    });
    const attributes = (path: string) => report.drifted.find((r) => paths.get(r.address) === path)!.attributes;
    expect(attributes("keystore/adminCert/certificate")).toEqual(expect.arrayContaining(["renew_pending", "serial_number", "certificate", "private_key"]));
    expect(attributes("keystore/bundle/password")).toEqual(expect.arrayContaining(["keepers", "result"]));
    expect(attributes("keystore/certRole/role")).toContain("certificate");
  });

  test("the next deploy issues a new certificate and rebinds crashplanUser to it", async () => {
    await writeBundle({ outputs: before, outDir: join(bundles, "old") });
    await deploy(d);
    after = await d.outputs();

    expect(out(after, BUNDLE_OUTPUTS.serialNumber)).not.toBe(out(before, BUNDLE_OUTPUTS.serialNumber));
    expect(certOf(after).raw.equals(certOf(before).raw)).toBe(false);
    const role = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
    expect(role.certificate.trim()).toBe(out(after, BUNDLE_OUTPUTS.certificate).trim());
    // Revoked on replacement, so a leaked old key is dead too.
    const old = (await server.call({ path: `pki_int/cert/${out(before, BUNDLE_OUTPUTS.serialNumber)}` })).json.data;
    expect(old.revocation_time).toBeGreaterThan(0);
  });

  test("right after the rotation, outside the window: a deploy changes nothing and status is ok again", async () => {
    expect(Date.parse(certOf(after).validTo) - WINDOW_SECONDS * 1000 - Date.now()).toBeGreaterThan(10_000);
    const plan = await d.plan();
    expect(plan.stdout).toContain("No changes.");
    expect(plan.code).toBe(0);
    await deploy(d);
    expect(out(await d.outputs(), BUNDLE_OUTPUTS.serialNumber)).toBe(out(after, BUNDLE_OUTPUTS.serialNumber));
    expect((await status()).code).toBe(0);
  });

  test("the old certificate's TLS login fails and the new one's succeeds", async () => {
    const refused = await login(before);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.json.auth).toBeUndefined();

    const accepted = await login(after);
    expect(accepted.status).toBe(200);
    expect(accepted.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
    await server.call({ method: "PUT", path: "auth/token/revoke-self", token: accepted.json.auth.client_token });
  });

  test("the new bundle logs in with its new password; the old bundle no longer does", async () => {
    const { out: printed, io } = capture();
    expect(await bundleMain(["--out", join(bundles, "new")], after, io)).toBe(0);
    noSecrets(printed.stdout + printed.stderr, after);

    const read = (dir: string) => ({ pfx: readFileSync(join(bundles, dir, P12_FILE)), passphrase: readFileSync(join(bundles, dir, PASSWORD_FILE), "utf8").trim() });
    const oldBundle = read("old");
    const newBundle = read("new");
    expect(newBundle.passphrase).toBe(out(after, BUNDLE_OUTPUTS.password));
    expect(newBundle.passphrase === oldBundle.passphrase).toBe(false);

    const accepted = await server.call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: newBundle });
    expect(accepted.status).toBe(200);
    expect(accepted.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
    await server.call({ method: "PUT", path: "auth/token/revoke-self", token: accepted.json.auth.client_token });

    const refused = await server.call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: oldBundle });
    expect(refused.status).toBeGreaterThanOrEqual(400);
  });
});
