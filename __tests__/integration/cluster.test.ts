import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMain } from "../../ops/commands/load";
import { serverMain } from "../../ops/commands/server";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { loadWithLeaderKill } from "../../ops/load/failover";
import { runLoad } from "../../ops/load/load";
import { AUDIT_DEVICE_PATH } from "../../ops/server/audit";
import { ClusterNode, clusterStatus } from "../../ops/server/cluster";
import { isAlive } from "../../ops/server/process";
import { TestCluster, ok, startTestCluster } from "./fixtures";

/*
 * A 3-node raft cluster on loopback (performance_multiplier 1): the stack
 * deploys through a standby and a second deploy through another node changes
 * nothing; Code42-style traffic lands in the declared audit log with tokens
 * and values hashed; the active node is SIGKILLed under load and every
 * acknowledged write reads back from the survivors; the killed node rejoins.
 */
describe("3-node OpenBao raft cluster", () => {
  let cluster: TestCluster;
  let work: string;

  const roles = async () => Object.fromEntries((await clusterStatus(cluster.dir)).nodes.map((n) => [n.nodeId, n.role]));
  const byRole = async (role: string): Promise<ClusterNode[]> => {
    const r = await roles();
    return cluster.nodes.filter((n) => r[n.nodeId] === role);
  };

  beforeAll(async () => {
    cluster = await startTestCluster(3, 1);
    work = mkdtempSync(join(tmpdir(), "c42-cluster-work-"));
  });

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await cluster?.stop();
  });

  test("three healthy voters with failure tolerance 1; status prints one line per node with its address, pid and role", async () => {
    const status = await clusterStatus(cluster.dir);
    expect(status.autopilot).toMatchObject({ healthy: true, failureTolerance: 1, voters: ["c42-node-1", "c42-node-2", "c42-node-3"] });
    expect(status.nodes.map((n) => n.role).sort()).toEqual(["active", "standby", "standby"]);
    let printed = "";
    const code = await serverMain(["status", "--dir", cluster.dir], { stdout: (s) => (printed += s), stderr: (s) => (printed += s) });
    expect(code).toBe(0);
    for (const n of status.nodes) expect(printed).toContain(`${n.nodeId}  ${n.addr}  pid ${n.pid}  ${n.role}\n`);
    expect(printed).toContain("autopilot: healthy, leader c42-node-");
    expect(printed).toContain("3 voters (c42-node-1, c42-node-2, c42-node-3), failure tolerance 1");
  });

  test("the stack deploys unchanged through a standby, and a second deploy through another node changes nothing", async () => {
    const [standby, other] = await byRole("standby");
    // The CA and CRL URLs name the cluster's one public address (a load balancer in production), not the node a deploy goes through.
    const settings = { C42_PUBLIC_URL: cluster.env.VAULT_ADDR };
    const first = isolatedDeployment(work, cluster.envFor(standby), settings);
    const applied = await deploy(first);
    expect(applied.apply.stdout).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
    const again = await deploy(isolatedDeployment(work, cluster.envFor(other), settings));
    expect(again.repaired).toEqual([]);
    expect(again.apply.stdout).toContain("Resources: 0 added, 0 changed, 0 destroyed");
  });

  test("a Code42-style login and key write are in the declared audit log, token and key hashed, never in clear text", async () => {
    const devices = ok(await cluster.call({ path: "sys/audit" }));
    // Relative to each node's directory: the same declaration on every node, each node logging what it serves while active.
    expect(devices.json.data[`${AUDIT_DEVICE_PATH}/`]).toMatchObject({ type: "file", options: { file_path: "audit.log" } });
    // The load's own access (certificate, policy and cert role of its own), one login and three writes we can look for.
    const run = await runLoad({ ...loadOptions(), users: 3, readsPerWrite: 1, prefix: "c42-audit" });
    expect(run.report.usersWritten).toBe(3);
    const { path, archiveKey } = run.writes[0];

    const hash = async (input: string) =>
      ok(await cluster.call({ method: "POST", path: `sys/audit-hash/${AUDIT_DEVICE_PATH}`, body: { input } })).json.data.hash as string;
    const keyHash = await hash(archiveKey);
    const files = cluster.nodes.map((n) => join(n.dir, "audit.log")).filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
    const text = files.map((f) => readFileSync(f, "utf8")).join("");
    const entries = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const write = entries.find((e) => e.type === "request" && e.request?.path === path && ["create", "update"].includes(e.request?.operation));
    expect(write?.request).toMatchObject({ client_token: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/), data: { archiveKey: keyHash } });
    const tokenHash = write.request.client_token as string;
    const login = entries.find((e) => e.type === "response" && e.request?.path === "auth/cert/login" && e.auth?.client_token === tokenHash);
    const grant = run.report.grant;
    expect(login?.auth).toMatchObject({ display_name: `cert-${grant}`, policies: expect.arrayContaining([grant]) });
    expect(text).not.toContain(archiveKey);
    expect(text).not.toContain(cluster.env.VAULT_TOKEN);
  });

  test("npm run load through the CLI: every node as --addr, VAULT_TOKEN; a JSON report with every key written and read back", async () => {
    let stdout = "";
    let stderr = "";
    const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t) };
    const argv = ["--users", "20", "--reads-per-write", "3", "--concurrency", "2", "--duration", "60", "--prefix", "c42-cli", "--json"];
    for (const n of cluster.nodes) argv.push("--addr", n.addr);
    argv.push("--storage-dir", join(cluster.nodes[0].dir, "data"));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, VAULT_CACERT: cluster.env.VAULT_CACERT, VAULT_TOKEN: cluster.env.VAULT_TOKEN };
    const code = await loadMain(argv, io, env);
    expect([code, stderr]).toEqual([0, expect.stringContaining("[load] 20 users, 3 reads per write, concurrency 2")]);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ usersWritten: 20, wrongReads: 0, errors: {}, write: { ok: 20, failed: 0 }, read: { ok: 60, failed: 0 }, login: { ok: 1 } });
    expect(report.write.p99).toBeGreaterThanOrEqual(report.write.p50);
    expect(report.storage.fsmBytes).toBeGreaterThanOrEqual(0);
    expect(report.cleanupProblems).toEqual([]);
    expect(stdout).not.toContain(cluster.env.VAULT_TOKEN);
  });

  test("SIGKILL of the active node under load: writes resume on a new leader and no acknowledged write is lost", async () => {
    const f = await loadWithLeaderKill(cluster.dir, 100, {
      ...loadOptions(),
      users: 400,
      readsPerWrite: 2,
      concurrency: 4,
      durationMs: 60_000,
      prefix: "c42-failover",
      // Short tokens, so that the run logs in again as Code42 does when its 60 s token runs out.
      tokenTtlSeconds: 7,
    });
    const r = f.run.report;
    console.log(
      `failover (performance_multiplier 1): killed ${f.killed.nodeId} after ${f.acknowledgedBeforeKill} writes; first write after the kill ${f.firstWriteAfterKillMs} ms; ` +
        `longest write gap ${r.longestWriteGapMs} ms; failed requests ${f.failedRequests} (${JSON.stringify(r.errors)}); ${r.usersWritten} writes acknowledged in ${r.seconds} s`,
    );
    expect(f.acknowledgedBeforeKill).toBe(100);
    expect(isAlive(f.killed.pid)).toBe(false);
    expect(f.firstWriteAfterKillMs).toBeGreaterThan(0);
    expect(r.usersWritten).toBe(400);
    expect(f.run.writes.filter((w) => w.acknowledged)).toHaveLength(400);
    expect(r.wrongReads).toBe(0);
    expect(r.login.ok).toBeGreaterThan(1);
    expect((await byRole("active")).map((n) => n.nodeId)).not.toContain(f.killed.nodeId);
    // Every acknowledged key, read back from each of the two survivors with its value.
    expect(f.lost).toEqual([]);
  });

  test("the killed node restarts and rejoins: three healthy voters again", async () => {
    await cluster.restart();
    const status = await clusterStatus(cluster.dir);
    expect(status.autopilot).toMatchObject({ healthy: true, failureTolerance: 1 });
    expect(status.autopilot?.voters.sort()).toEqual(["c42-node-1", "c42-node-2", "c42-node-3"]);
    expect(status.nodes.map((n) => n.role).sort()).toEqual(["active", "standby", "standby"]);
  });

  function loadOptions() {
    return {
      endpoints: [cluster.endpoint],
      adminToken: cluster.env.VAULT_TOKEN,
      kvPath: "secret",
      certAuthPath: "cert",
      pkiIntPath: "pki_int",
      issuingRole: "cpRole",
      prefix: "c42-load",
      users: 10,
      readsPerWrite: 1,
      concurrency: 2,
      durationMs: 30_000,
    };
  }
});
