import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { healthMain } from "../../ops/commands/health";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { HealthReport } from "../../ops/health/report";
import { ClusterNode } from "../../ops/server/cluster";
import { findServerPid, isAlive, signal } from "../../ops/server/process";
import { readAutopilotState } from "../../ops/vault/autopilot";
import { vaultCall } from "../../ops/vault/client";
import { TestCluster, startTestCluster } from "./fixtures";

/*
 * The node and raft checks on a real three-node raft cluster: probed through
 * a standby, then with one voter killed. No stack is deployed (the login
 * checks have their own test file), so the bundle and backup checks are UNKNOWN here.
 */
describe("health on a three-node raft cluster", () => {
  let cluster: TestCluster;
  let work: string;

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    work = mkdtempSync(join(tmpdir(), "c42-health-cluster-"));
  });

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await cluster?.stop();
  });

  async function probe(node: ClusterNode): Promise<HealthReport> {
    let stdout = "";
    const io = { stdout: (s: string) => void (stdout += s), stderr: () => undefined };
    await healthMain(
      ["--json", "--bundle", join(work, "no-bundle"), "--backups", join(work, "no-backups")],
      () => isolatedDeployment(work, cluster.envFor(node)),
      io,
    );
    return JSON.parse(stdout) as HealthReport;
  }
  const check = (report: HealthReport, name: string) => report.checks.find((c) => c.name === name)!;

  async function standbys(): Promise<ClusterNode[]> {
    const roles = await Promise.all(
      cluster.nodes.map(async (n) => ((await vaultCall({ ...cluster.endpoint, addr: n.addr }, { path: "sys/health" })).status === 429 ? n : undefined)),
    );
    return roles.filter((n): n is ClusterNode => n !== undefined);
  }

  test("through a standby: the node check names the active node, raft counts 3 voters with failure tolerance 1", async () => {
    const [standby] = await standbys();
    const report = await probe(standby);
    expect(check(report, "node")).toMatchObject({ state: "OK", values: { initialized: 1, sealed: 0, active: 0 } });
    expect(check(report, "node").reason).toMatch(/^initialised, unsealed, standby; the active node is https:\/\/127\.0\.0\.1:\d+$/);
    expect(check(report, "raft")).toEqual(
      expect.objectContaining({ state: "OK", reason: "3 voters, failure tolerance 1", values: { raft_voters: 3, raft_failure_tolerance: 1, raft_healthy: 1 } }),
    );
    expect(check(report, "tls").state).toBe("OK");
    expect(check(report, "audit").state).toBe("OK");
  });

  test("one voter killed: raft is WARN and names it", async () => {
    const [victim, survivor] = await standbys();
    const pid = findServerPid(victim.dir)!;
    signal(pid, "SIGKILL");
    // Autopilot calls a voter unhealthy once it has missed its last-contact threshold (10 s by default).
    let healthy = true;
    for (let i = 0; i < 60 && healthy; i++) {
      await new Promise((r) => setTimeout(r, 500));
      healthy = readAutopilotState(await vaultCall(cluster.endpoint, { path: "sys/storage/raft/autopilot/state", token: cluster.env.VAULT_TOKEN })).healthy;
    }
    expect(isAlive(pid)).toBe(false);
    expect(healthy).toBe(false);
    const report = await probe(survivor);
    expect(check(report, "raft").state).toBe("WARN");
    expect(check(report, "raft").reason).toMatch(new RegExp(`^3 voters, failure tolerance 0; autopilot calls ${victim.nodeId} unhealthy$`));
    expect(report.exitCode).toBe(1); // the bundle and backup checks are UNKNOWN: WARN outranks UNKNOWN
  });
});
