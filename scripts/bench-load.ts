// Benchmark, not a test: Code42-like load on one node and on a 3-node raft
// cluster, and SIGKILL of the active node under load with the server's default
// performance_multiplier (5) and with 1, on OpenBao (default) or HashiCorp
// Vault (--server vault: the toolchain's vault.env, scripts/build-vault.sh). Every server is private, on
// loopback, started here and purged afterwards. Nothing fails on a slow
// machine; a run fails only when an acknowledged write is lost or a read
// returns another value.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isolatedDeployment } from "../ops/engine/scratch";
import { cacheDir, loadToolchain } from "../ops/engine/toolchain";
import { parseEnvFile } from "../ops/common/env-file";
import { serverBinary } from "../ops/server/kind";
import { deploy } from "../ops/lifecycle/deploy";
import { FailoverRun, loadWithLeaderKill } from "../ops/load/failover";
import { LOAD_BOUNDS, LoadOptions, LoadReport, checkBound, formatLoadReport, runLoad } from "../ops/load/load";
import { startCluster, stopCluster } from "../ops/server/cluster";
import { LbRoute } from "../ops/server/load-balancer";
import { readServerEnv, startServer, stopServer } from "../ops/server/server";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    "reads-per-write": { type: "string", default: "10" },
    concurrency: { type: "string", default: "8" },
    "failover-users": { type: "string", default: "1000" },
    "failover-runs": { type: "string", default: "3" },
    // Only the load balancer's figures: steady load on 3 nodes direct and through HAProxy, failover through it per route.
    "lb-only": { type: "boolean", default: false },
    // bao (the toolchain's OpenBao) or vault (HashiCorp Vault from the toolchain's vault.env).
    server: { type: "string", default: "bao" },
  },
});
function whole(option: string, value: string, bound: { min: number; max: number }): number {
  try {
    return checkBound(`--${option}`, Number(value), bound);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
const users = whole("users", values.users, LOAD_BOUNDS.users);
const readsPerWrite = whole("reads-per-write", values["reads-per-write"], LOAD_BOUNDS.readsPerWrite);
const concurrency = whole("concurrency", values.concurrency, LOAD_BOUNDS.concurrency);
const failoverUsers = whole("failover-users", values["failover-users"], LOAD_BOUNDS.users);
const failoverRuns = whole("failover-runs", values["failover-runs"], { min: 1, max: 10 });

/** The server binary --server names. */
function serverUnderTest(choice: string): string {
  if (choice === "bao") return loadToolchain().bao;
  if (choice === "vault") {
    const file = join(cacheDir(), "vault.env");
    const vault = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")).C42_VAULT : undefined;
    if (vault && existsSync(vault)) return vault;
    process.stderr.write(`--server vault: HashiCorp Vault is not built (${file} is missing or names no binary); run: bash scripts/build-vault.sh\n`);
  } else process.stderr.write(`--server: ${JSON.stringify(choice)}; expected bao or vault\n`);
  process.exit(2);
}
const bao = serverUnderTest(values.server);
const log = (line: string) => process.stderr.write(`${line}\n`);
const load1m = () => Math.round(loadavg()[0] * 100) / 100;

/** Deploys the stack onto the server `env` names; the load makes its own access with the server's token. */
async function deployForLoad(work: string, env: Record<string, string>): Promise<Pick<LoadOptions, "adminToken">> {
  const deployment = isolatedDeployment(work, env, { C42_PUBLIC_URL: env.VAULT_ADDR });
  await deploy(deployment);
  return { adminToken: env.VAULT_TOKEN };
}

const common = { kvPath: "secret", certAuthPath: "cert", pkiIntPath: "pki_int", issuingRole: "cpRole", prefix: "c42-bench" };

interface LoadSample {
  readonly scenario: string;
  readonly report: LoadReport;
  readonly load1m: [number, number];
}

async function steadyLoad(nodes: 1 | 3, loadBalancer = false): Promise<LoadSample> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bench-load-"));
  const work = mkdtempSync(join(tmpdir(), "c42-bench-load-work-"));
  try {
    let storageDir: string;
    if (nodes === 1) {
      await startServer({ dir, baoBinary: bao });
      storageDir = join(dir, "data");
    } else {
      await startCluster({ dir, baoBinary: bao, nodes, performanceMultiplier: 1, loadBalancer: loadBalancer ? {} : undefined });
      storageDir = join(dir, "node-1", "data");
    }
    const env = readServerEnv(dir);
    const caPem = readFileSync(env.VAULT_CACERT, "utf8");
    const endpoints = [{ addr: env.VAULT_ADDR, caPem }];
    const access = await deployForLoad(work, env);
    const before = load1m();
    log(
      `load on ${nodes} node(s)${loadBalancer ? " through HAProxy" : ""}: ${users} users, ${readsPerWrite} reads per write, concurrency ${concurrency} (load ${before})`,
    );
    const { report } = await runLoad({ ...common, ...access, endpoints, users, readsPerWrite, concurrency, durationMs: 600_000, storageDir });
    log(formatLoadReport(report));
    if (report.wrongReads > 0) throw new Error(`${report.wrongReads} reads returned another value`);
    return { scenario: `${nodes} node${nodes > 1 ? "s" : ""}${loadBalancer ? " through HAProxy" : ""}`, report, load1m: [before, load1m()] };
  } finally {
    await (nodes === 1 ? stopServer(dir, { purge: true }) : stopCluster(dir, { purge: true }));
    // mkdtemp made the directory, so purge leaves it (empty) behind.
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

interface FailoverSample {
  readonly performanceMultiplier: number;
  /** Through HAProxy with this route; absent: the client given every node's address. */
  readonly route?: LbRoute;
  readonly runs: (Omit<FailoverRun, "run"> & { report: LoadReport; load1m: [number, number] })[];
}

async function failover(performanceMultiplier: number, route?: LbRoute): Promise<FailoverSample> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bench-failover-"));
  const work = mkdtempSync(join(tmpdir(), "c42-bench-failover-work-"));
  const runs: FailoverSample["runs"] = [];
  try {
    await startCluster({ dir, baoBinary: bao, nodes: 3, performanceMultiplier, loadBalancer: route ? { route } : undefined });
    const env = readServerEnv(dir);
    const access = await deployForLoad(work, env);
    const through = route ? [{ addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") }] : undefined;
    for (let i = 1; i <= failoverRuns; i++) {
      const before = load1m();
      const f = await loadWithLeaderKill(
        dir,
        Math.floor(failoverUsers / 4),
        {
          ...common,
          ...access,
          prefix: `c42-bench-failover-${i}`,
          users: failoverUsers,
          readsPerWrite: 2,
          concurrency: 4,
          durationMs: 300_000,
        },
        through,
      );
      const { run, ...rest } = f;
      log(
        `failover, performance_multiplier ${performanceMultiplier}${route ? `, through HAProxy (route ${route})` : ""}, run ${i}: killed ${f.killed.nodeId}; first write after the kill ${f.firstWriteAfterKillMs} ms; ` +
          `longest write gap ${run.report.longestWriteGapMs} ms; failed requests ${f.failedRequests}; lost ${f.lost.length} of ${run.report.usersWritten} (load ${before})`,
      );
      if (f.lost.length > 0) throw new Error(`acknowledged writes lost: ${f.lost.slice(0, 5).join("; ")}`);
      runs.push({ ...rest, report: run.report, load1m: [before, load1m()] });
      // The killed node rejoins before the next run, so every run starts from three voters.
      await startCluster({ dir, baoBinary: bao, nodes: 3 });
    }
    return { performanceMultiplier, route, runs };
  } finally {
    await stopCluster(dir, { purge: true });
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const { kind, version } = serverBinary(bao);
  log(`server: ${kind} ${version} (${bao})`);
  const steady = values["lb-only"] ? [await steadyLoad(3), await steadyLoad(3, true)] : [await steadyLoad(1), await steadyLoad(3), await steadyLoad(3, true)];
  const failovers = values["lb-only"]
    ? [await failover(1, "active"), await failover(1, "all")]
    : [await failover(5), await failover(1), await failover(1, "active"), await failover(1, "all")];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  log("\nsummary");
  for (const s of steady) {
    const r = s.report;
    log(
      `  ${s.scenario}: ${r.throughput} req/s; write p50/p95/p99 ${r.write.p50}/${r.write.p95}/${r.write.p99} ms; read ${r.read.p50}/${r.read.p95}/${r.read.p99} ms; ` +
        `login ${r.login.p50} ms; errors ${JSON.stringify(r.errors)}; FSM ${r.storage?.fsmBytesPerUser} B/user; load ${s.load1m.join("→")}`,
    );
  }
  for (const f of failovers) {
    const gaps = f.runs.map((r) => r.report.longestWriteGapMs);
    const first = f.runs.map((r) => r.firstWriteAfterKillMs ?? NaN);
    log(
      `  failover, performance_multiplier ${f.performanceMultiplier}${f.route ? `, through HAProxy (route ${f.route})` : ""}: longest write gap median ${median(gaps)} ms (${Math.min(...gaps)}-${Math.max(...gaps)}); ` +
        `first write after kill median ${median(first)} ms; failed requests ${f.runs.map((r) => r.failedRequests).join(", ")}; lost ${f.runs.map((r) => r.lost.length).join(", ")}`,
    );
  }
  process.stdout.write(
    JSON.stringify(
      { started, finished: new Date().toISOString(), server: { kind, version }, users, readsPerWrite, concurrency, failoverUsers, steady, failovers },
      null,
      2,
    ) + "\n",
  );
}

main().catch((e) => {
  process.stderr.write(`bench-load: ${(e as Error).message}\n`);
  process.exit(1);
});
