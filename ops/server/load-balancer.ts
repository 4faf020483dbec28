import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createConnection } from "node:net";
import { delimiter, join } from "node:path";
import { ensureDir } from "../common/private-files";
import { KILL_TIMEOUT_MS, STOP_TIMEOUT_MS, isAlive, readCmdline, signal, waitForExit } from "./process";

/*
 * HAProxy from the operating system's package in front of a local cluster:
 * one address for Code42. TCP passthrough (HAProxy never holds a key or
 * terminates TLS: the client's certificate reaches OpenBao's cert auth), and
 * health checks on every node's /v1/sys/health over TLS, verifying the node's
 * certificate against the cluster's CA.
 */

/** Names inside the load balancer's directory (DIR/lb). */
export const LB_LAYOUT = {
  config: "haproxy.cfg",
  meta: "lb.json",
  pid: "haproxy.pid",
  log: "haproxy.log",
  /** The stats socket (0600): `server status` reads each backend's check state from it. */
  socket: "haproxy.sock",
} as const;

/**
 * Which nodes take traffic. `active`: only the node whose /v1/sys/health
 * answers 200 (the active one). `all`: every unsealed node
 * (`?standbyok=true`), standbys forwarding to the active node.
 */
export type LbRoute = "active" | "all";
export const LB_ROUTES: readonly LbRoute[] = ["active", "all"];
/** Chosen by the failover figures in docs/benchmarks.md. */
export const DEFAULT_LB_ROUTE: LbRoute = "active";

/** What the load balancer's first start recorded (lb.json). */
export interface LbMeta {
  readonly port: number;
  readonly route: LbRoute;
}

/** One node as HAProxy sees it. */
export interface LbBackend {
  /** The server's name in haproxy.cfg, e.g. `c42-node-1`. */
  readonly name: string;
  readonly port: number;
}

/** The check timings: fast enough that the new active node takes traffic within a second of its election. */
export const LB_CHECK = { interMs: 1000, fastInterMs: 250, downInterMs: 250, fall: 2, rise: 1 } as const;

/** The config of HAProxy for `backends` on 127.0.0.1. */
export function haproxyConfig(options: {
  readonly port: number;
  readonly backends: readonly LbBackend[];
  readonly caFile: string;
  readonly route: LbRoute;
  /** The stats socket's path; none when absent. */
  readonly socket?: string;
}): string {
  const uri = options.route === "active" ? "/v1/sys/health" : "/v1/sys/health?standbyok=true";
  const c = LB_CHECK;
  return `# Written by c42-keystore (ops/server/load-balancer.ts): one address for the cluster's nodes.
# TCP passthrough: TLS runs end to end from the client to the node, which sees the client certificate.
global
  log stdout format raw local0 info
  maxconn 4096
${options.socket ? `  stats socket ${options.socket} mode 600 level user\n` : ""}
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 2s
  timeout client 5m
  timeout server 5m
  timeout check 2s
  # A connection refused by a node that just died is tried again, on another node once one is up.
  retries 3
  option redispatch

frontend c42_vault
  bind 127.0.0.1:${options.port}
  default_backend c42_vault_nodes

backend c42_vault_nodes
  # Route: ${options.route === "active" ? "the active node only (a standby answers 429 and stays out)" : "every unsealed node (standbys answer 200 with standbyok and forward to the active node)"}.
  option httpchk
  http-check send meth GET uri ${uri} ver HTTP/1.1 hdr Host localhost
  http-check expect status 200
  # The checks speak TLS and verify the node's certificate; client traffic passes through untouched.
  default-server check check-ssl verify required ca-file ${options.caFile} verifyhost localhost inter ${c.interMs}ms fastinter ${c.fastInterMs}ms downinter ${c.downInterMs}ms fall ${c.fall} rise ${c.rise} on-marked-down shutdown-sessions
${options.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port}`).join("\n")}
`;
}

const SBIN_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

/** The haproxy binary: `C42_HAPROXY`, else on PATH or in the sbin directories Debian's package uses. */
export function locateHaproxy(env: NodeJS.ProcessEnv = process.env): string {
  if (env.C42_HAPROXY) {
    if (!existsSync(env.C42_HAPROXY)) throw new Error(`C42_HAPROXY names ${env.C42_HAPROXY}, which does not exist`);
    return env.C42_HAPROXY;
  }
  const dirs = [...(env.PATH ?? "").split(delimiter).filter((d) => d !== ""), ...SBIN_DIRS];
  for (const d of dirs) {
    const candidate = join(d, "haproxy");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    "--load-balancer needs HAProxy, which is not installed (no haproxy on PATH or in /usr/sbin). " +
      "Install the distribution's package, e.g. on Debian or Ubuntu: apt-get update && apt-get install -y haproxy; or set C42_HAPROXY to its path",
  );
}

/** Runs `haproxy -c -f config`; throws with HAProxy's own message when it refuses the file. */
export function checkHaproxyConfig(haproxy: string, config: string): void {
  const result = spawnSync(haproxy, ["-c", "-q", "-f", config], { encoding: "utf8", timeout: 30_000 });
  if (result.error) throw new Error(`cannot run ${haproxy}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${haproxy} -c refuses ${config} (exit ${result.status}): ${(result.stdout + result.stderr).trim()}`);
}

export const readLbMeta = (lbDir: string): LbMeta => JSON.parse(readFileSync(join(lbDir, LB_LAYOUT.meta), "utf8")) as LbMeta;

/** Records the port and route at the first start; later starts reuse them. */
export function writeLbMeta(lbDir: string, meta: LbMeta): void {
  ensureDir(lbDir, "load balancer directory");
  writeFileSync(join(lbDir, LB_LAYOUT.meta), JSON.stringify(meta) + "\n", { mode: 0o600, flag: "wx" });
}

/** The haproxy process serving `lbDir`'s config: from haproxy.pid when it is still that process, else none. */
export function findLoadBalancerPid(lbDir: string): number | undefined {
  const pidFile = join(lbDir, LB_LAYOUT.pid);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const argv = readCmdline(pid);
  return argv !== undefined && argv.includes(join(lbDir, LB_LAYOUT.config)) ? pid : undefined;
}

/**
 * Writes haproxy.cfg for `backends`, checks it with `haproxy -c`, and starts
 * HAProxy in the foreground of a detached process (it outlives this one),
 * logging to haproxy.log. Returns the child, for the caller to kill when the
 * rest of the start fails. Does nothing (returns undefined) when it runs.
 */
export function spawnLoadBalancer(options: {
  readonly lbDir: string;
  readonly haproxy: string;
  readonly backends: readonly LbBackend[];
  readonly caFile: string;
}): {
  child?: ChildProcess;
  pid: number;
} {
  const { lbDir } = options;
  const running = findLoadBalancerPid(lbDir);
  if (running !== undefined) return { pid: running };
  const meta = readLbMeta(lbDir);
  const config = join(lbDir, LB_LAYOUT.config);
  rmSync(config, { force: true });
  rmSync(join(lbDir, LB_LAYOUT.socket), { force: true });
  writeFileSync(config, haproxyConfig({ ...meta, backends: options.backends, caFile: options.caFile, socket: join(lbDir, LB_LAYOUT.socket) }), {
    mode: 0o600,
    flag: "wx",
  });
  checkHaproxyConfig(options.haproxy, config);
  const logFile = join(lbDir, LB_LAYOUT.log);
  const fd = openSync(logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    writeSync(fd, `==== ${new Date().toISOString()} ops/server/load-balancer.ts: starting haproxy\n`);
    child = spawn(options.haproxy, ["-db", "-f", config], { cwd: lbDir, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${options.haproxy}; see ${logFile}`);
  child.unref();
  writeFileSync(join(lbDir, LB_LAYOUT.pid), `${child.pid}\n`, { mode: 0o600 });
  return { child, pid: child.pid };
}

/** Stops the load balancer of `lbDir` (SIGTERM, then SIGKILL after a bound); nothing when it is not running. */
export async function stopLoadBalancer(lbDir: string): Promise<void> {
  const pid = findLoadBalancerPid(lbDir);
  if (pid !== undefined) {
    signal(pid, "SIGTERM");
    if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
      signal(pid, "SIGKILL");
      if (!(await waitForExit(pid, KILL_TIMEOUT_MS))) throw new Error(`haproxy (pid ${pid}) did not exit after SIGKILL`);
    }
  }
  rmSync(join(lbDir, LB_LAYOUT.pid), { force: true });
}

/** A backend's state as HAProxy's checks see it: `UP`, `DOWN`, `MAINT`, … */
export interface LbBackendState {
  readonly name: string;
  readonly status: string;
}

/** Each node's check state, from the stats socket (`show stat`); undefined when HAProxy does not answer. */
export async function loadBalancerBackends(lbDir: string, timeoutMs = 2_000): Promise<LbBackendState[] | undefined> {
  const socket = join(lbDir, LB_LAYOUT.socket);
  if (!existsSync(socket)) return undefined;
  const csv = await new Promise<string | undefined>((resolve) => {
    let text = "";
    const conn = createConnection(socket);
    const timer = setTimeout(() => {
      conn.destroy();
      resolve(undefined);
    }, timeoutMs);
    conn.on("connect", () => conn.write("show stat\n"));
    conn.on("data", (d) => (text += d.toString()));
    conn.on("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  return csv === undefined ? undefined : parseShowStat(csv);
}

/** The servers of the nodes' backend in `show stat` CSV, with their status column. */
export function parseShowStat(csv: string): LbBackendState[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.replace(/^# /, "").split(",") ?? [];
  const [px, sv, st] = ["pxname", "svname", "status"].map((name) => header.indexOf(name));
  if (px < 0 || sv < 0 || st < 0) return [];
  return lines
    .slice(1)
    .map((l) => l.split(","))
    .filter((f) => f[px] === "c42_vault_nodes" && f[sv] !== "BACKEND" && f[sv] !== "FRONTEND")
    .map((f) => ({ name: f[sv], status: f[st] }));
}
