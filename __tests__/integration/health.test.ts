import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { takeBackup } from "../../ops/backup/backup";
import { keystorePaths } from "../../ops/backup/keystore";
import { BackupManifest } from "../../ops/backup/manifest";
import { bundleMain } from "../../ops/commands/bundle";
import { healthMain } from "../../ops/commands/health";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { HealthReport } from "../../ops/health/report";
import { LAYOUT, TLS } from "../../ops/server/layout";
import { findServerPid, signal } from "../../ops/server/process";
import { stopServer } from "../../ops/server/server";
import { parsePrometheus, sampleValue } from "../helpers/prometheus";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";

/** What one run of the probe printed and returned. */
interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const CHECK_NAMES = ["tls", "node", "raft", "audit", "login", "admin_cert", "backup"];

describe("health: one probe for monitoring, on a real deployment", () => {
  let server: TestServer;
  let td: TestDeployment;
  let scratch: string;
  let bundleDir: string;
  let password: string;
  let backupsDir: string;
  let backup: BackupManifest;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
    scratch = mkdtempSync(join(tmpdir(), "c42-health-"));
    bundleDir = join(scratch, "bundle");
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    expect(await bundleMain(["--out", bundleDir], () => td.deployment.outputs(), quiet)).toBe(0);
    password = readFileSync(join(bundleDir, "crashplan.p12.password"), "utf8").trim();
    backupsDir = join(scratch, "backups");
    const taken = await takeBackup({
      endpoint: server.endpoint,
      token: server.env.VAULT_TOKEN,
      paths: keystorePaths(td.deployment.config),
      outDir: backupsDir,
    });
    // Read back as any other reader of the manifest would.
    backup = JSON.parse(readFileSync(taken.files.manifest, "utf8")) as BackupManifest;
  });

  afterAll(async () => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  /** Runs `health` in-process as the CLI would, on this test's deployment. */
  async function probe(args: string[], settings: Record<string, string> = {}, vaultEnv: Record<string, string> = server.env): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const io = { stdout: (s: string) => void (stdout += s), stderr: (s: string) => void (stderr += s) };
    const code = await healthMain(["--backups", backupsDir, ...args], (abort) => isolatedDeployment(td.work, vaultEnv, settings, { signal: abort }), io);
    return { code, stdout, stderr };
  }

  async function probeJson(
    args: string[],
    settings: Record<string, string> = {},
    vaultEnv?: Record<string, string>,
  ): Promise<{ run: Run; report: HealthReport }> {
    const run = await probe(["--bundle", bundleDir, "--json", ...args], settings, vaultEnv);
    return { run, report: JSON.parse(run.stdout) as HealthReport };
  }

  const states = (report: HealthReport) => Object.fromEntries(report.checks.map((c) => [c.name, c.state]));
  const check = (report: HealthReport, name: string) => report.checks.find((c) => c.name === name)!;

  async function accessors(): Promise<string[]> {
    const answer = ok(await server.call({ method: "LIST", path: "auth/token/accessors" }));
    return [...(answer.json.data.keys as string[])].sort();
  }

  test("a healthy stack: exit 0, every check OK, drift included when asked", async () => {
    const { run, report } = await probeJson(["--drift"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(report.state).toBe("OK");
    expect(states(report)).toEqual(Object.fromEntries([...CHECK_NAMES, "drift"].map((n) => [n, "OK"])));
    expect(check(report, "login").reason).toBe("logged in over mTLS with crashplanpolicy, token TTL 60s; token revoked");
    expect(check(report, "raft").reason).toBe("single node: 1 voter, failure tolerance 0 (a single node has no redundancy to lose)");
    expect(check(report, "audit").reason).toBe("1 enabled: file/ (file)");
    expect(check(report, "node").reason).toBe("initialised, unsealed, active node");
  });

  test("Prometheus textfile: written atomically 0644, parsed by a real parser, values computed independently; no token left behind", async () => {
    const before = await accessors();
    const file = join(scratch, "c42_keystore.prom");
    const run = await probe(["--bundle", bundleDir, "--format", "prometheus", "--out", file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`KEYSTORE OK - all 7 checks OK (wrote ${file})\n`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(await accessors()).toEqual(before);

    const families = parsePrometheus(readFileSync(file, "utf8"));
    expect(families.every((f) => f.name.startsWith("c42_keystore_") && f.type === "GAUGE")).toBe(true);
    const adminPem = (await td.deployment.outputs())[BUNDLE_OUTPUTS.certificate].value as string;
    const adminExpiry = Math.floor(new Date(new X509Certificate(adminPem).validTo).getTime() / 1000);
    const serverPem = readFileSync(join(server.dir, LAYOUT.tls, TLS.cert));
    const serverExpiry = Math.floor(new Date(new X509Certificate(serverPem).validTo).getTime() / 1000);
    const value = (name: string, labels?: Record<string, string>) => sampleValue(families, `c42_keystore_${name}`, labels);
    expect(value("admin_cert_expiry_seconds")).toBe(adminExpiry);
    expect(value("server_cert_expiry_seconds")).toBe(serverExpiry);
    const probedAt = value("probe_timestamp_seconds")!;
    const backupAge = probedAt - Math.floor(Date.parse(backup.createdAt) / 1000);
    expect(value("backup_age_seconds")).toBeGreaterThanOrEqual(backupAge - 1);
    expect(value("backup_age_seconds")).toBeLessThanOrEqual(backupAge + 1);
    expect(value("backup_verified")).toBe(0);
    expect({
      up: value("up"),
      status: value("status"),
      login_success: value("login_success"),
      login_token_ttl_seconds: value("login_token_ttl_seconds"),
      raft_voters: value("raft_voters"),
      raft_failure_tolerance: value("raft_failure_tolerance"),
      audit_devices: value("audit_devices"),
      sealed: value("sealed"),
      admin_rotation_in_progress: value("admin_rotation_in_progress"),
      drift: value("drift"),
    }).toEqual({
      up: 1,
      status: 0,
      login_success: 1,
      login_token_ttl_seconds: 60,
      raft_voters: 1,
      raft_failure_tolerance: 0,
      audit_devices: 1,
      sealed: 0,
      admin_rotation_in_progress: 0,
      drift: undefined,
    });
    for (const name of CHECK_NAMES) expect(value("check_status", { check: name })).toBe(0);
  });

  test("a two-phase rotation in progress is reported by the login check, from Vault alone", async () => {
    // What `rotate start` leaves in Vault: a second login role pinning the next certificate.
    const issued = ok(await server.call({ method: "POST", path: "pki_int/issue/cpRole", body: { common_name: "crashplan-admin", ttl: "2h" } }));
    const nextPem = issued.json.data.certificate as string;
    const next = new X509Certificate(nextPem);
    ok(
      await server.call({
        method: "PUT",
        path: "auth/cert/certs/crashplanUser-next",
        body: { certificate: nextPem, token_policies: ["crashplanPolicy"], token_ttl: 60 },
      }),
    );
    try {
      const run = await probe(["--bundle", bundleDir, "--format", "prometheus"]);
      expect(run.code).toBe(0);
      const families = parsePrometheus(run.stdout);
      expect(sampleValue(families, "c42_keystore_admin_rotation_in_progress")).toBe(1);
      expect(sampleValue(families, "c42_keystore_admin_next_cert_expiry_seconds")).toBe(Math.floor(Date.parse(next.validTo) / 1000));
      const { report } = await probeJson([]);
      expect(check(report, "login").state).toBe("OK");
      expect(check(report, "login").reason).toContain(
        `; a rotation is in progress: crashplanUser-next lets the next certificate (${issued.json.data.serial_number}, expires `,
      );
    } finally {
      ok(await server.call({ method: "DELETE", path: "auth/cert/certs/crashplanUser-next" }));
    }
    const { report } = await probeJson([]);
    expect(check(report, "login").values).toEqual({ login_success: 1, login_token_ttl_seconds: 60, admin_rotation_in_progress: 0 });
  });

  test("without an admin token: the audit check is UNKNOWN (exit 3), the login still works", async () => {
    const home = mkdtempSync(join(scratch, "home-"));
    const { VAULT_TOKEN: _root, ...noToken } = server.env;
    const { run, report } = await probeJson([], {}, { ...noToken, HOME: home });
    expect(run.code).toBe(3);
    expect(states(report)).toMatchObject({ audit: "UNKNOWN", login: "OK", tls: "OK", node: "OK", admin_cert: "OK" });
    expect(check(report, "audit").reason).toMatch(/^sys\/audit needs a token that may read it: set VAULT_TOKEN/);
  });

  test("a token with only examples/monitoring/health-probe-policy.hcl grades every check", async () => {
    const policy = readFileSync(join(__dirname, "..", "..", "examples", "monitoring", "health-probe-policy.hcl"), "utf8");
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/c42-health", body: { policy } }));
    const created = ok(
      await server.call({ method: "POST", path: "auth/token/create", body: { policies: ["c42-health"], no_default_policy: true, ttl: "5m" } }),
    );
    const token = created.json.auth.client_token as string;
    try {
      const { run, report } = await probeJson([], {}, { ...server.env, VAULT_TOKEN: token });
      expect(run.code).toBe(0);
      expect(states(report)).toEqual(Object.fromEntries(CHECK_NAMES.map((n) => [n, "OK"])));
      // Without sudo, listing audit devices is refused: the policy file is the least that works.
      ok(await server.call({ method: "PUT", path: "sys/policies/acl/c42-health", body: { policy: policy.replace('["read", "sudo"]', '["read"]') } }));
      const { report: noSudo } = await probeJson([], {}, { ...server.env, VAULT_TOKEN: token });
      expect(check(noSudo, "audit")).toMatchObject({ state: "UNKNOWN" });
      expect(check(noSudo, "audit").reason).toMatch(/may not read sys\/audit \(HTTP 403\)/);
    } finally {
      ok(await server.call({ method: "PUT", path: "auth/token/revoke", body: { token } }));
    }
  });

  test("certificates inside the warning window are WARN, inside the critical window CRIT (windows longer than the certificates' lives)", async () => {
    const warn = await probeJson([], { C42_HEALTH_CERT_WARN_BEFORE: "87600h" });
    expect(warn.run.code).toBe(1);
    expect(states(warn.report)).toMatchObject({ tls: "WARN", admin_cert: "WARN", login: "OK" });
    expect(check(warn.report, "admin_cert").reason).toMatch(/^admin certificate expires .* days left\), inside the warning window of 3650d$/);
    const crit = await probeJson([], { C42_HEALTH_CERT_WARN_BEFORE: "87600h", C42_HEALTH_CERT_CRIT_BEFORE: "43800h" });
    expect(crit.run.code).toBe(2);
    expect(states(crit.report)).toMatchObject({ tls: "CRIT", admin_cert: "CRIT" });
  });

  test("a newest backup older than health.backupMaxAge is WARN", async () => {
    // Awaited, not slept: the age is counted in whole seconds, so it must reach 2 s to exceed a 1 s limit.
    for (let i = 0; i < 60 && Date.now() - Date.parse(backup.createdAt) <= 2500; i++) await new Promise((r) => setTimeout(r, 100));
    const { run, report } = await probeJson([], { C42_HEALTH_BACKUP_MAX_AGE: "1s" });
    expect(run.code).toBe(1);
    expect(check(report, "backup").state).toBe("WARN");
    expect(check(report, "backup").reason).toMatch(
      new RegExp(
        `^newest backup c42-keystore-\\d{8}T\\d{9}Z taken ${backup.createdAt} \\(.* ago\\), not verified .*: older than health\\.backupMaxAge \\(1s\\)$`,
      ),
    );
  });

  test("a wrong bundle password: CRIT on the login, and neither password in any output", async () => {
    const wrongDir = mkdtempSync(join(scratch, "wrong-"));
    copyFileSync(join(bundleDir, "crashplan.p12"), join(wrongDir, "crashplan.p12"));
    const wrong = "Wr0ngPassw0rdWr0ngPassw0rd123456";
    writeFileSync(join(wrongDir, "crashplan.p12.password"), `${wrong}\n`, { mode: 0o600 });
    const human = await probe(["--bundle", wrongDir]);
    const json = await probe(["--bundle", wrongDir, "--json"]);
    const prom = await probe(["--bundle", wrongDir, "--format", "prometheus"]);
    for (const run of [human, json, prom]) {
      expect(run.code).toBe(2);
      for (const secret of [wrong, password]) expect(run.stdout + run.stderr).not.toContain(secret);
    }
    const report = JSON.parse(json.stdout) as HealthReport;
    expect(check(report, "login")).toMatchObject({ state: "CRIT", values: { login_success: 0 } });
    expect(check(report, "login").reason).toContain("does not open");
    expect(check(report, "admin_cert").state).toBe("UNKNOWN");
    expect(human.stdout).toMatch(/^KEYSTORE CRIT - login CRIT: the password in .* does not open .*crashplan\.p12/);
    expect(sampleValue(parsePrometheus(prom.stdout), "c42_keystore_login_success")).toBe(0);
  });

  test("no audit device: WARN (OK with audit.mode off)", async () => {
    // OpenBao refuses to disable a declared device through the API; dropping it from the config and reloading does.
    const config = join(server.dir, LAYOUT.config);
    writeFileSync(config, readFileSync(config, "utf8").replace(/\naudit "file"[\s\S]*?\n}\n/, "\n"));
    signal(findServerPid(server.dir)!, "SIGHUP");
    let devices: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      devices = ok(await server.call({ path: "sys/audit" })).json.data;
      if (Object.keys(devices).length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(devices).toEqual({});
    const { run, report } = await probeJson([]);
    expect(run.code).toBe(1);
    expect(check(report, "audit")).toMatchObject({
      state: "WARN",
      reason: "no audit device is enabled: requests to the keystore leave no trace",
      values: { audit_devices: 0 },
    });
    const off = await probeJson([], { C42_AUDIT_MODE: "off" });
    expect(off.run.code).toBe(0);
    expect(check(off.report, "audit")).toMatchObject({ state: "OK", reason: "no audit device is enabled, and audit.mode is off: none is required" });
  });

  test("a sealed server: CRIT with the reason", async () => {
    expect((await server.call({ method: "PUT", path: "sys/seal" })).status).toBe(204);
    const { run, report } = await probeJson([]);
    expect(run.code).toBe(2);
    expect(check(report, "node")).toMatchObject({
      state: "CRIT",
      reason: "sealed: no key can be read or written until the server is unsealed",
      values: { sealed: 1 },
    });
    expect(check(report, "login").state).toBe("CRIT");
    expect(run.stdout.split("\n")[0]).not.toContain("KEYSTORE OK");
  });

  test("a stopped server: CRIT unreachable, every check finished within its timeout", async () => {
    await stopServer(server.dir);
    const started = Date.now();
    const { run, report } = await probeJson([], { C42_HEALTH_CHECK_TIMEOUT: "3s" });
    const elapsed = (Date.now() - started) / 1000;
    expect(run.code).toBe(2);
    expect(states(report)).toMatchObject({ tls: "CRIT", node: "CRIT", raft: "CRIT", audit: "CRIT", login: "CRIT" });
    for (const name of ["tls", "node", "login"])
      expect(check(report, name).reason).toMatch(/^unreachable: cannot reach Vault at https:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    expect(check(report, "tls").values).toEqual({ up: 0 });
    // The bound is the setting; the figure is printed for the record, not gated on beyond it.
    for (const c of report.checks) expect(c.seconds).toBeLessThanOrEqual(3 + 1);
    process.stderr.write(`health against a stopped server took ${elapsed.toFixed(2)} s\n`);
  });
});
