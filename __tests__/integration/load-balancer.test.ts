import { spawnSync } from "node:child_process";
import { X509Certificate, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeBundle } from "../../ops/bundle/bundle";
import { readPkcs12 } from "../../ops/bundle/pkcs12";
import { healthMain } from "../../ops/commands/health";
import { loadMain } from "../../ops/commands/load";
import { serverMain } from "../../ops/commands/server";
import { parseEnvFile } from "../../ops/common/env-file";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { HealthReport } from "../../ops/health/report";
import { deploy } from "../../ops/lifecycle/deploy";
import { clusterStatus } from "../../ops/server/cluster";
import { LB_LAYOUT, locateHaproxy } from "../../ops/server/load-balancer";
import { isAlive, signal } from "../../ops/server/process";
import { readAutopilotState } from "../../ops/vault/autopilot";
import { VaultEndpoint } from "../../ops/vault/client";
import { callApi } from "./fixtures";
import { JavaLoop, compileJavaLoop, isAcknowledged, loopArchiveKey, startJavaLoop } from "./java-loop";

/*
 * The production topology on loopback: `server start --nodes 3
 * --load-balancer` puts Debian's HAProxy in front of a 3-node raft cluster
 * (TCP passthrough, TLS checks with the certificate verified). Everything
 * goes through its one address: the deploy, the CA URLs, npm run load, the
 * health probe, and a Java client holding crashplan.p12 that logs in and
 * writes keys in a loop while the active node is SIGKILLed.
 */
describe("3-node cluster behind HAProxy", () => {
  let dir: string;
  let work: string;
  let env: Record<string, string>;
  let lb: VaultEndpoint;
  let started = false;
  let loop: JavaLoop | undefined;
  let killed: { nodeId: string; pid: number; at: number } | undefined;
  const out = { stdout: "", stderr: "" };
  const io = { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) };
  const bundleDir = () => join(work, "bundle");

  beforeAll(async () => {
    locateHaproxy(); // fails naming apt-get install haproxy when it is missing
    work = mkdtempSync(join(tmpdir(), "c42-lb-work-"));
    dir = join(mkdtempSync(join(tmpdir(), "c42-lb-")), "cluster");
    const code = await serverMain(["start", "--dir", dir, "--nodes", "3", "--load-balancer"], io);
    started = true;
    if (code !== 0) throw new Error(`server start failed (exit ${code}): ${out.stderr}`);
    env = parseEnvFile(readFileSync(join(dir, "vault.env"), "utf8"));
    lb = { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") };
  });

  afterAll(async () => {
    loop?.kill();
    if (started) await serverMain(["stop", "--dir", dir, "--purge"], io);
    if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("vault.env names the load balancer; status shows it with the active node UP and the standbys DOWN; the certificate names its address", async () => {
    const status = await clusterStatus(dir);
    expect(status.loadBalancer).toMatchObject({ addr: env.VAULT_ADDR, route: "active", pid: expect.any(Number) });
    expect(out.stdout).toContain(`load balancer: ${env.VAULT_ADDR} (haproxy pid ${status.loadBalancer?.pid}, route active)`);
    for (const n of status.nodes) expect(env.VAULT_ADDR).not.toBe(n.addr);
    const active = status.nodes.find((n) => n.role === "active")!;
    // A standby is out of the rotation as soon as a check saw its 429.
    expect(status.loadBalancer?.backends?.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      status.nodes.map((n) => ({ name: n.nodeId, status: n === active ? "UP" : "DOWN" })),
    );
    out.stdout = "";
    expect(await serverMain(["status", "--dir", dir], io)).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^load balancer  ${env.VAULT_ADDR}  pid \\d+  route active, checks: `));
    expect(out.stdout).toContain(`${active.nodeId} UP`);
    const cert = new X509Certificate(readFileSync(join(dir, "tls", "server.pem")));
    expect(cert.checkIP(new URL(env.VAULT_ADDR).hostname)).toBe(new URL(env.VAULT_ADDR).hostname);
    // TCP passthrough: what answers through HAProxy is OpenBao's own TLS, verified against the cluster CA.
    const h = await callApi(lb, { path: "sys/health" });
    expect(h.json).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(statSync(join(dir, "lb", LB_LAYOUT.config)).mode & 0o777).toBe(0o600);
  });

  test("the stack deploys through the load balancer and the CA URLs name its address; npm run load goes through it", async () => {
    const applied = await deploy(isolatedDeployment(work, env));
    expect(applied.apply.stdout).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
    const urls = (await callApi(lb, { path: "pki_int/config/urls", token: env.VAULT_TOKEN })).json.data;
    expect(urls.issuing_certificates).toEqual([`${env.VAULT_ADDR}/v1/pki_int/ca`]);
    await writeBundle({ outputs: await isolatedDeployment(work, env).outputs(), outDir: bundleDir() });

    let stdout = "";
    const argv = ["--users", "20", "--reads-per-write", "2", "--concurrency", "2", "--duration", "60", "--prefix", "c42-lb-cli", "--json"];
    argv.push("--addr", env.VAULT_ADDR);
    const code = await loadMain(
      argv,
      { stdout: (t) => void (stdout += t), stderr: () => undefined },
      // The load makes its own certificate, policy and cert role with the token (issue 28), never with crashplan.p12.
      { PATH: process.env.PATH, HOME: process.env.HOME, VAULT_CACERT: env.VAULT_CACERT, VAULT_TOKEN: env.VAULT_TOKEN },
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      addresses: [env.VAULT_ADDR],
      usersWritten: 20,
      wrongReads: 0,
      errors: {},
      write: { failed: 0 },
      read: { ok: 40, failed: 0 },
    });
    console.log(
      `npm run load through HAProxy: ${report.throughput} req/s, write p50 ${report.write.p50} ms p99 ${report.write.p99} ms, read p50 ${report.read.p50} ms p99 ${report.read.p99} ms`,
    );
  });

  test("Java (PKCS12) logs in and writes keys through the load balancer while the active node is SIGKILLed: no acknowledged write lost", async () => {
    const passphrase = readFileSync(join(bundleDir(), "crashplan.p12.password"), "utf8").trimEnd();
    const pfx = readFileSync(join(bundleDir(), "crashplan.p12"));
    const certificatePem = (await readPkcs12(pfx, passphrase)).certificatePem;
    // The keys' own policy and a cert role for the bundle's certificate, as Code42 makes them through crashplanPolicy
    // (written here with the cluster's token; the Java client logs in through it by name).
    const run = randomUUID();
    const grant = { policyName: "c42-lb-keys", roleName: "c42-lb-keys" };
    const policy = 'path "secret/c42-lb/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n';
    const written = [
      await callApi(lb, { method: "PUT", path: `sys/policies/acl/${grant.policyName}`, token: env.VAULT_TOKEN, body: { policy } }),
      await callApi(lb, {
        method: "PUT",
        path: `auth/cert/certs/${grant.roleName}`,
        token: env.VAULT_TOKEN,
        body: { certificate: certificatePem, display_name: grant.roleName, token_policies: [grant.policyName], token_ttl: 60, token_max_ttl: 60 },
      }),
    ];
    expect(written.map((w) => w.status)).toEqual([204, 204]);
    const classDir = join(work, "java");
    mkdirSync(classDir);
    await compileJavaLoop(classDir);
    loop = startJavaLoop({
      classDir,
      p12: join(bundleDir(), "crashplan.p12"),
      password: passphrase,
      caFile: env.VAULT_CACERT,
      addr: env.VAULT_ADDR,
      mount: "cert",
      role: grant.roleName,
      kvPath: "secret/c42-lb",
      run,
      durationMs: 25_000,
      pauseMs: 50,
    });
    await loop.waitFor((rs) => rs.filter((r) => r.op === "write" && isAcknowledged(r)).length >= 20, 60_000);
    const active = (await clusterStatus(dir)).nodes.find((n) => n.role === "active")!;
    signal(active.pid!, "SIGKILL");
    killed = { nodeId: active.nodeId, pid: active.pid!, at: Date.now() };
    await loop.done;
    const requests = [...loop.requests];
    loop = undefined;

    const after = requests.filter((r) => r.start >= killed!.at);
    const firstOk = after.find((r) => r.op === "write" && isAcknowledged(r));
    const failed = requests.filter((r) => !isAcknowledged(r) && !(r.op === "login" && r.status === "200"));
    const failedAfterGap = failed.filter((r) => firstOk !== undefined && r.start > firstOk.end);
    const gapMs = firstOk === undefined ? undefined : firstOk.end - killed.at;
    const byStatus = failed.reduce<Record<string, number>>((m, r) => ({ ...m, [`${r.op} ${r.status}`]: (m[`${r.op} ${r.status}`] ?? 0) + 1 }), {});
    console.log(
      `failover through HAProxy as Code42 sees it (Java PKCS12 client, route active, performance_multiplier 1): killed ${killed.nodeId}; ` +
        `first acknowledged write ${gapMs} ms after the kill (goal <= 3000 ms); failed requests ${failed.length} ${JSON.stringify(byStatus)}, ` +
        `${failedAfterGap.length} after the gap; ${requests.filter((r) => r.op === "write" && isAcknowledged(r)).length} writes acknowledged of ${requests.length} requests`,
    );
    expect(isAlive(killed.pid)).toBe(false);
    expect(gapMs).toBeDefined();
    expect(gapMs).toBeLessThan(15_000);
    expect(failedAfterGap).toEqual([]);

    // Every acknowledged write, before or after the kill, reads back through the load balancer with its value.
    const acknowledged = requests.filter((r) => r.op === "write" && isAcknowledged(r));
    expect(acknowledged.length).toBeGreaterThan(20);
    const lost: string[] = [];
    for (const w of acknowledged) {
      const answer = await callApi(lb, { path: `secret/c42-lb/${run}/${w.n}`, token: env.VAULT_TOKEN });
      if (answer.status !== 200 || answer.json?.data?.archiveKey !== loopArchiveKey(run, w.n)) lost.push(`${w.n} HTTP ${answer.status}`);
    }
    expect(lost).toEqual([]);
  });

  test("the health probe through the load balancer with one node killed: raft WARN, never CRIT", async () => {
    expect(killed).toBeDefined();
    // Autopilot calls a voter unhealthy once it has missed its last-contact threshold (10 s by default).
    let healthy = true;
    for (let i = 0; i < 60 && healthy; i++) {
      healthy = readAutopilotState(await callApi(lb, { path: "sys/storage/raft/autopilot/state", token: env.VAULT_TOKEN })).healthy;
      if (healthy) await new Promise((r) => setTimeout(r, 500));
    }
    expect(healthy).toBe(false);
    let stdout = "";
    await healthMain(["--json", "--bundle", join(work, "no-bundle"), "--backups", join(work, "no-backups")], () => isolatedDeployment(work, env), {
      stdout: (s) => void (stdout += s),
      stderr: () => undefined,
    });
    const report = JSON.parse(stdout) as HealthReport;
    const states = Object.fromEntries(report.checks.map((c) => [c.name, c.state]));
    expect(Object.values(states)).not.toContain("CRIT");
    expect(states.node).toBe("OK");
    expect(report.checks.find((c) => c.name === "raft")).toMatchObject({
      state: "WARN",
      reason: `3 voters, failure tolerance 0; autopilot calls ${killed!.nodeId} unhealthy`,
    });
  });

  test("the example haproxy.cfg passes haproxy -c", () => {
    const example = join(__dirname, "..", "..", "examples", "haproxy", "haproxy.cfg");
    expect(existsSync(example)).toBe(true);
    // The file as it is; only the CA it checks the nodes against is this cluster's (VAULT_CA_FILE, which it presets).
    const result = spawnSync(locateHaproxy(), ["-c", "-f", example], { encoding: "utf8", env: { ...process.env, VAULT_CA_FILE: env.VAULT_CACERT } });
    expect([result.status, result.stdout + result.stderr]).toEqual([0, expect.stringContaining("Configuration file is valid")]);
  });

  test("server stop stops HAProxy with the nodes", async () => {
    const pid = (await clusterStatus(dir)).loadBalancer?.pid;
    expect(pid).toEqual(expect.any(Number));
    expect(await serverMain(["stop", "--dir", dir], io)).toBe(0);
    expect(isAlive(pid!)).toBe(false);
    expect((await clusterStatus(dir)).loadBalancer?.pid).toBeUndefined();
    expect(await serverMain(["stop", "--dir", dir, "--purge"], io)).toBe(0);
    started = false;
    expect(existsSync(dir)).toBe(false);
  });
});
