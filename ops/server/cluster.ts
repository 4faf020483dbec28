import { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureDir } from "../common/private-files";
import { AutopilotState, autopilotState, isFullyReplicated } from "../vault/autopilot";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { readSealStatus, requireSuccess } from "../vault/readers";
import { auditStanza, ensureApiAuditDevice } from "./audit";
import { AUTO_UNSEAL_LAYOUT, AutoUnseal, setUpTransitUnsealer, startUnsealer, stopUnsealer } from "./auto-unseal";
import { hclString as q, listenerStanza } from "./hcl";
import { health, initialise, writeEnvFile } from "./init";
import { ServerBinary, serverBinary } from "./kind";
import { LAYOUT, TLS } from "./layout";
import {
  DEFAULT_LB_ROUTE,
  LB_LAYOUT,
  LbBackendState,
  LbRoute,
  findLoadBalancerPid,
  loadBalancerBackends,
  locateHaproxy,
  readLbMeta,
  spawnLoadBalancer,
  stopLoadBalancer,
  writeLbMeta,
} from "./load-balancer";
import {
  KILL_TIMEOUT_MS,
  STOP_TIMEOUT_MS,
  findServerPid,
  freePorts,
  isAlive,
  killQuietly,
  portIsFree,
  signal,
  spawnServer,
  waitForExit,
  watchExit,
} from "./process";
import { waitFor } from "./server";
import { makeCertificates } from "./tls";

/*
 * A raft cluster of OpenBao (or HashiCorp Vault) nodes on loopback. The cluster directory holds
 * what the nodes share (TLS material, the unseal key, the root token,
 * vault.env) and one directory per node laid out like a single server's
 * (server.hcl, server.json, server.log, server.pid, data/, audit.log), so
 * every helper that takes a server directory works on a node directory.
 */

/** Names a cluster directory may hold besides {@link LAYOUT}'s shared files. */
export const CLUSTER_LAYOUT = {
  meta: "cluster.json",
  /** `node-1`, `node-2`, …; node 1 is the one initialised. */
  nodePrefix: "node-",
  /** HAProxy's directory (load-balancer.ts), when the cluster has one. */
  loadBalancer: "lb",
} as const;

/** The largest cluster `server start --nodes` makes: raft tolerates (N-1)/2 failures, and a loopback cluster larger than 5 proves nothing more. */
export const MAX_NODES = 5;
/** Raft's timing multiplier: 1 is the fastest (production-tuned hardware), 10 the slowest OpenBao allows. */
export const MAX_PERFORMANCE_MULTIPLIER = 10;
/** What a cluster uses unless told otherwise: fast leader elections on loopback. */
export const DEFAULT_PERFORMANCE_MULTIPLIER = 1;

/** What the cluster's first start recorded; reused on every restart. */
export interface ClusterMeta {
  readonly nodes: number;
  readonly performanceMultiplier: number;
  /** Whether the first start created the directory (purge removes it then; else only the cluster's files). */
  readonly createdDir: boolean;
  /** The nodes unseal themselves through this seal (auto-unseal.ts); absent: Shamir, one unseal key in the directory. */
  readonly autoUnseal?: AutoUnseal;
  /**
   * HashiCorp Vault nodes: no `audit` stanza in their configs (Vault has none), the audit device is enabled through
   * the API once the cluster is up (Vault keeps it in raft, so every node has it). Absent for OpenBao.
   */
  readonly apiAudit?: boolean;
}

/** The ports a node listens on, from its server.json. */
interface NodeMeta {
  readonly apiPort: number;
  readonly clusterPort: number;
}

/** One node of a running cluster. */
export interface ClusterNode {
  /** 1-based. */
  readonly index: number;
  /** Its raft node id, e.g. `c42-node-1`. */
  readonly nodeId: string;
  /** Its directory (a server directory: server.hcl, server.log, server.pid, data/, audit.log). */
  readonly dir: string;
  /** e.g. "https://127.0.0.1:41234" */
  readonly addr: string;
}

/** A running cluster: every node unsealed, every node a healthy voter. */
export interface LocalCluster {
  readonly dir: string;
  readonly nodes: readonly ClusterNode[];
  /** The node active when the start returned. */
  readonly active: ClusterNode;
  /** The CA of every node's certificate (VAULT_CACERT). */
  readonly caCertFile: string;
  /** KEY=VALUE file with VAULT_ADDR (the node active at the first start), VAULT_CACERT and VAULT_TOKEN (0600). */
  readonly envFile: string;
  readonly performanceMultiplier: number;
  /** HAProxy in front of the nodes, when the cluster has one: its address is VAULT_ADDR in vault.env. */
  readonly loadBalancer?: { readonly addr: string; readonly pid: number; readonly route: LbRoute };
}

/** How to start a {@link LocalCluster}. */
export interface StartClusterOptions {
  readonly dir: string;
  /** The server binary: OpenBao's `bao`, or HashiCorp Vault's `vault` (`<binary> version` tells them apart). */
  readonly baoBinary: string;
  /** Odd, 1 to {@link MAX_NODES}; a restart must give the recorded number. */
  readonly nodes: number;
  /** @default - the recorded value on a restart, else {@link DEFAULT_PERFORMANCE_MULTIPLIER} */
  readonly performanceMultiplier?: number;
  /**
   * Put HAProxy in front (kept on every later start). `route` is fixed at the first start with it.
   * @default - none, unless an earlier start set one up
   */
  readonly loadBalancer?: { readonly route?: LbRoute };
  /** Auto-unseal from a separate small OpenBao's transit key; fixed at the first start. @default - Shamir, one stored unseal key */
  readonly autoUnseal?: AutoUnseal;
  /** The haproxy binary. @default - {@link locateHaproxy} */
  readonly haproxyBinary?: string;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
}

/** One node's line of `server status`. */
export interface NodeStatus {
  readonly index: number;
  readonly nodeId: string;
  readonly addr: string;
  readonly pid?: number;
  /** `active`, `standby`, `sealed`, `uninitialized`, `unreachable` (running, no answer) or `stopped`. */
  readonly role: "active" | "standby" | "sealed" | "uninitialized" | "unreachable" | "stopped";
}

/** `server status` of a cluster. */
export interface ClusterStatus {
  readonly nodes: NodeStatus[];
  /** Absent when no node answers, or before the cluster is initialised. */
  readonly autopilot?: AutopilotState;
  /** Why the autopilot state is absent. */
  readonly autopilotError?: string;
  /** HAProxy, when the cluster has one: its address, pid (absent when stopped) and each node's check state. */
  readonly loadBalancer?: {
    readonly addr: string;
    readonly route: LbRoute;
    readonly pid?: number;
    /** Absent when HAProxy does not answer on its stats socket. */
    readonly backends?: LbBackendState[];
  };
}

const REACHABLE_TIMEOUT_MS = 30_000;
const ACTIVE_TIMEOUT_MS = 60_000;
/** Joining needs autopilot's server stabilization time (10 s by default) before a node is promoted to voter. */
const VOTERS_TIMEOUT_MS = 120_000;
const UNSEAL_RETRY_MS = 1_000;
/**
 * Autopilot promotes a joined node to voter once it has been healthy this long
 * (OpenBao's default is 10 s). A loopback cluster has no flaky network to wait
 * out, so its first start asks for less.
 */
const STABILIZATION_TIME = "3s";

export const nodeId = (index: number) => `c42-node-${index}`;
const nodeDir = (dir: string, index: number) => join(dir, `${CLUSTER_LAYOUT.nodePrefix}${index}`);
const lbDirOf = (dir: string) => join(dir, CLUSTER_LAYOUT.loadBalancer);
const hasLoadBalancer = (dir: string) => existsSync(join(lbDirOf(dir), LB_LAYOUT.meta));
const lbAddr = (port: number) => `https://127.0.0.1:${port}`;

/** Whether `dir` holds a cluster (rather than a single server or nothing). */
export function isClusterDir(dir: string): boolean {
  return existsSync(join(resolve(dir), CLUSTER_LAYOUT.meta));
}

/** Checks a node count; the message names the option. */
export function checkNodeCount(option: string, nodes: number): number {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES || nodes % 2 === 0) {
    throw new Error(
      `${option}: ${nodes} is not a cluster size; expected an odd number from 1 to ${MAX_NODES} (raft needs a majority: 3 nodes survive the loss of 1, 5 of 2)`,
    );
  }
  return nodes;
}

/** Checks a raft performance multiplier; the message names the option. */
export function checkPerformanceMultiplier(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_PERFORMANCE_MULTIPLIER) {
    throw new Error(`${option}: ${value} is not a raft performance multiplier; expected an integer from 1 (fastest failover) to ${MAX_PERFORMANCE_MULTIPLIER}`);
  }
  return value;
}

export function readClusterMeta(dir: string): ClusterMeta {
  return JSON.parse(readFileSync(join(dir, CLUSTER_LAYOUT.meta), "utf8")) as ClusterMeta;
}

function readNodeMeta(dir: string): NodeMeta {
  return JSON.parse(readFileSync(join(dir, LAYOUT.meta), "utf8")) as NodeMeta;
}

/** The nodes of the cluster in `dir`, from its files (running or not). */
export function clusterNodes(dir: string): ClusterNode[] {
  dir = resolve(dir);
  const meta = readClusterMeta(dir);
  return Array.from({ length: meta.nodes }, (_, i) => {
    const index = i + 1;
    const d = nodeDir(dir, index);
    return { index, nodeId: nodeId(index), dir: d, addr: `https://127.0.0.1:${readNodeMeta(d).apiPort}` };
  });
}

/**
 * Starts the cluster in `dir`: sets it up on the first start (shared TLS,
 * one directory, two ports and a config per node), starts every node that
 * is not running, initialises node 1 once, unseals every sealed node (the
 * others join node 1 through retry_join), and waits until autopilot counts
 * every node as a healthy voter. A node that was killed is started again
 * and rejoins the same way.
 */
export async function startCluster(options: StartClusterOptions): Promise<LocalCluster> {
  const log = options.log ?? (() => undefined);
  const dir = resolve(options.dir);
  checkNodeCount("--nodes", options.nodes);
  const started = Date.now();
  const createdDir = ensureDir(dir, "cluster directory (--dir)");
  const binary = serverBinary(options.baoBinary);
  const st = statSync(dir);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user (uid ${st.uid}); give a directory of your own`);
  }
  if (!isClusterDir(dir)) {
    if (existsSync(join(dir, LAYOUT.config))) {
      throw new Error(`${dir} holds a single server, not a cluster; stop it with --purge first or give another --dir`);
    }
    await setUpCluster(
      dir,
      createdDir,
      options.nodes,
      checkPerformanceMultiplier("--performance-multiplier", options.performanceMultiplier ?? DEFAULT_PERFORMANCE_MULTIPLIER),
      log,
      options.autoUnseal === undefined ? undefined : { kind: options.autoUnseal, baoBinary: options.baoBinary },
      binary,
    );
  }
  const meta = readClusterMeta(dir);
  if ((meta.apiAudit === true) !== (binary.kind === "vault")) {
    throw new Error(
      `the cluster in ${dir} was set up for ${meta.apiAudit ? "HashiCorp Vault" : "OpenBao"}, not ${binary.kind === "vault" ? "HashiCorp Vault" : "OpenBao"} (${options.baoBinary}); start it with the server it was set up for, or remove it with server stop --purge`,
    );
  }
  if (options.autoUnseal !== undefined && options.autoUnseal !== meta.autoUnseal) {
    throw new Error(
      `--auto-unseal: the cluster in ${dir} ${meta.autoUnseal ? `auto-unseals through ${meta.autoUnseal}` : "unseals with a stored key"}, fixed at its first start; leave the option out, or remove the cluster with server stop --purge`,
    );
  }
  // The unsealer first: a node starting without it stays sealed.
  if (meta.autoUnseal) await startUnsealer(dir, options.baoBinary, log);
  if (meta.nodes !== options.nodes) {
    throw new Error(
      `--nodes: ${options.nodes} differs from the ${meta.nodes} nodes of the cluster in ${dir}; give --nodes ${meta.nodes}, or remove the cluster with server stop --purge`,
    );
  }
  if (options.performanceMultiplier !== undefined && options.performanceMultiplier !== meta.performanceMultiplier) {
    throw new Error(
      `--performance-multiplier: ${options.performanceMultiplier} differs from the cluster's ${meta.performanceMultiplier} (in its nodes' server.hcl); leave the option out, or remove the cluster with server stop --purge`,
    );
  }
  const caPem = readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8");
  const nodes = clusterNodes(dir);
  const endpoint = (n: ClusterNode): VaultEndpoint => ({ addr: n.addr, caPem });

  const children: ChildProcess[] = [];
  const exits = new Map<number, () => string | undefined>();
  let loadBalancer: LocalCluster["loadBalancer"];
  try {
    for (const n of nodes) {
      const pid = findServerPid(n.dir);
      if (pid !== undefined) {
        exits.set(n.index, () => (isAlive(pid) ? undefined : "gone"));
        continue;
      }
      const { apiPort, clusterPort } = readNodeMeta(n.dir);
      for (const port of [apiPort, clusterPort]) {
        if (!(await portIsFree(port))) {
          throw new Error(
            `cannot start ${n.nodeId} in ${n.dir}: port 127.0.0.1:${port} from its config is taken by another process; stop it, or remove the cluster with --purge`,
          );
        }
      }
      const child = spawnServer(n.dir, options.baoBinary);
      children.push(child);
      exits.set(n.index, watchExit(child));
      log(`started ${n.nodeId} (${binary.name} ${binary.version}, pid ${child.pid}) on ${n.addr}; log: ${join(n.dir, LAYOUT.log)}`);
    }
    const exited = (n: ClusterNode) => exits.get(n.index) as () => string | undefined;
    for (const n of nodes) await waitFor(n.dir, `${n.nodeId}'s API to answer`, REACHABLE_TIMEOUT_MS, exited(n), () => health(endpoint(n)));

    const first = nodes[0];
    const keyFile = meta.autoUnseal ? LAYOUT.recoveryKey : LAYOUT.unsealKey;
    const initialising = !existsSync(join(dir, keyFile));
    if (initialising) {
      if ((await health(endpoint(first))).initialized) {
        throw new Error(`the cluster in ${dir} is initialised but ${keyFile} is missing; remove it with --purge`);
      }
      log(`initialising through ${first.nodeId} (1 ${meta.autoUnseal ? "recovery key" : "key"} share, threshold 1)`);
      await initialise(dir, endpoint(first), { autoUnseal: meta.autoUnseal !== undefined });
    }
    // Node 1 first: on a first start the others can only join an unsealed leader.
    for (const n of nodes) {
      if (meta.autoUnseal) {
        await waitFor(n.dir, `${n.nodeId} to join and unseal itself (${meta.autoUnseal})`, ACTIVE_TIMEOUT_MS, exited(n), () => unsealed(endpoint(n)));
        log(`${n.nodeId} unsealed itself (${meta.autoUnseal})`);
      } else await unsealNode(dir, n, endpoint(n), exited(n));
      if (n === first) {
        await waitFor(n.dir, "a node to become active", ACTIVE_TIMEOUT_MS, exited(n), () => activeNode(nodes, caPem));
      }
    }
    const token = readFileSync(join(dir, LAYOUT.rootToken), "utf8").trim();
    if (initialising) {
      const active = (await activeNode(nodes, caPem)) ?? first;
      const answer = await vaultCall(endpoint(active), {
        method: "POST",
        path: "sys/storage/raft/autopilot/configuration",
        token,
        body: { server_stabilization_time: STABILIZATION_TIME },
      });
      requireSuccess(answer, "setting autopilot's server_stabilization_time");
    }
    log(`waiting for autopilot to count ${nodes.length} healthy voters`);
    await waitFor(
      first.dir,
      `${nodes.length} healthy voters with failure tolerance ${(nodes.length - 1) / 2}`,
      VOTERS_TIMEOUT_MS,
      () => undefined,
      async () => {
        const active = await activeNode(nodes, caPem);
        if (active === undefined) return undefined;
        return isFullyReplicated(await autopilotState(endpoint(active), token), nodes.length) ? true : undefined;
      },
    );
    if (meta.apiAudit) {
      const active = (await activeNode(nodes, caPem)) ?? first;
      // Relative, as the OpenBao nodes' stanza: each node writes what it serves while active to its own DIR/node-N/audit.log.
      await ensureApiAuditDevice(endpoint(active), token, LAYOUT.audit);
    }
    if (options.loadBalancer || hasLoadBalancer(dir)) {
      loadBalancer = await startClusterLoadBalancer(dir, nodes, caPem, options, children, log);
    }
  } catch (e) {
    children.forEach(killQuietly);
    throw e;
  }
  const active = (await activeNode(nodes, caPem)) ?? nodes[0];
  const publicAddr = loadBalancer?.addr ?? active.addr;
  // The first start with a load balancer moves VAULT_ADDR from a node to it: Code42 and the commands get one address.
  if (!existsSync(join(dir, LAYOUT.env)) || (loadBalancer && !readFileSync(join(dir, LAYOUT.env), "utf8").includes(`VAULT_ADDR=${publicAddr}\n`))) {
    rmSync(join(dir, LAYOUT.env), { force: true });
    writeEnvFile(dir, publicAddr);
  }
  log(`${nodes.length} voters after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    dir,
    nodes,
    active,
    caCertFile: join(dir, LAYOUT.tls, TLS.caCert),
    envFile: join(dir, LAYOUT.env),
    performanceMultiplier: meta.performanceMultiplier,
    loadBalancer,
  };
}

/**
 * Starts HAProxy in front of `nodes` (set up on its first start: a port and
 * the route) and waits until a health call through it reaches an unsealed
 * node, TLS verified end to end against the cluster's CA: the server
 * certificate names 127.0.0.1, the load balancer's address, as well as each node's.
 */
async function startClusterLoadBalancer(
  dir: string,
  nodes: readonly ClusterNode[],
  caPem: string,
  options: StartClusterOptions,
  children: ChildProcess[],
  log: (line: string) => void,
): Promise<NonNullable<LocalCluster["loadBalancer"]>> {
  const lbDir = lbDirOf(dir);
  const haproxy = options.haproxyBinary ?? locateHaproxy();
  if (!hasLoadBalancer(dir)) {
    const [port] = await freePorts(1);
    writeLbMeta(lbDir, { port, route: options.loadBalancer?.route ?? DEFAULT_LB_ROUTE });
  }
  const meta = readLbMeta(lbDir);
  if (options.loadBalancer?.route !== undefined && options.loadBalancer.route !== meta.route) {
    throw new Error(
      `--lb-route: ${options.loadBalancer.route} differs from the load balancer's ${meta.route} (in ${join(lbDir, LB_LAYOUT.meta)}); leave the option out`,
    );
  }
  const addr = lbAddr(meta.port);
  if (findLoadBalancerPid(lbDir) === undefined && !(await portIsFree(meta.port))) {
    throw new Error(
      `cannot start the load balancer in ${lbDir}: port 127.0.0.1:${meta.port} is taken by another process; stop it, or remove the cluster with --purge`,
    );
  }
  const started = spawnLoadBalancer({
    lbDir,
    haproxy,
    backends: nodes.map((n) => ({ name: n.nodeId, port: readNodeMeta(n.dir).apiPort })),
    caFile: join(dir, LAYOUT.tls, TLS.caCert),
  });
  if (started.child) {
    children.push(started.child);
    log(
      `started haproxy (pid ${started.pid}) on ${addr}, route: ${meta.route === "active" ? "the active node only" : "every unsealed node"}; log: ${join(lbDir, LB_LAYOUT.log)}`,
    );
  }
  const exited = started.child ? watchExit(started.child) : () => (isAlive(started.pid) ? undefined : "gone");
  try {
    await waitFor(
      lbDir,
      `the load balancer at ${addr} to route to the ${meta.route === "active" ? "active node" : "unsealed nodes"}`,
      REACHABLE_TIMEOUT_MS,
      exited,
      async () => {
        // Settled: every check has decided (no "UP 1/2"-style transition), and the routed nodes are UP.
        const backends = await loadBalancerBackends(lbDir);
        if (backends === undefined || backends.some((b) => b.status !== "UP" && b.status !== "DOWN")) return undefined;
        const up = backends.filter((b) => b.status === "UP").length;
        if (meta.route === "active" ? up !== 1 : up !== nodes.length) return undefined;
        const h = await health({ addr, caPem });
        return h.initialized && !h.sealed && (meta.route === "all" || !h.standby) ? true : undefined;
      },
    );
  } catch (e) {
    const logFile = join(lbDir, LB_LAYOUT.log);
    const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-15).join("\n") : "";
    throw new Error(`${(e as Error).message}${tail ? `\n--- last lines of ${logFile} ---\n${tail}` : ""}`);
  }
  return { addr, pid: started.pid, route: meta.route };
}

/** The node that is active now, if any answers so. */
export async function activeNode(nodes: readonly ClusterNode[], caPem: string): Promise<ClusterNode | undefined> {
  for (const n of nodes) {
    try {
      const h = await health({ addr: n.addr, caPem });
      if (h.initialized && !h.sealed && !h.standby) return n;
    } catch {
      // a stopped node: ask the next
    }
  }
  return undefined;
}

async function unsealed(endpoint: VaultEndpoint): Promise<true | undefined> {
  const h = await health(endpoint);
  return h.initialized && !h.sealed ? true : undefined;
}

/**
 * Unseals one node with the stored key and waits until it says it is. A node
 * joining through retry_join answers the unseal before it has joined (sealed,
 * and sometimes already initialised) and stays sealed until the join is
 * done; the key is offered again until it is unsealed.
 */
async function unsealNode(dir: string, n: ClusterNode, endpoint: VaultEndpoint, exited: () => string | undefined): Promise<void> {
  const h = await health(endpoint);
  if (h.initialized && !h.sealed) return;
  const key = readFileSync(join(dir, LAYOUT.unsealKey), "utf8").trim();
  let offered = 0;
  await waitFor(n.dir, `${n.nodeId} to join and unseal`, ACTIVE_TIMEOUT_MS, exited, async () => {
    const now = await health(endpoint);
    if (now.initialized && !now.sealed) return true;
    if (Date.now() - offered > UNSEAL_RETRY_MS) {
      offered = Date.now();
      const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key } });
      // Only the status is read: a joining node's answer says nothing secret, but the key must never reach a message.
      if (answer.status === 200 && !readSealStatus(answer).sealed) return true;
    }
    return undefined;
  });
}

/**
 * Stops every node (SIGTERM, then SIGKILL after a bound). With `purge`,
 * removes the cluster's files, and the directory when its first start made it.
 */
export async function stopCluster(dir: string, options: { purge?: boolean } = {}): Promise<void> {
  dir = resolve(dir);
  const meta = readClusterMeta(dir);
  if (options.purge) assertClusterDir(dir, meta.nodes);
  const nodes = Array.from({ length: meta.nodes }, (_, i) => nodeDir(dir, i + 1));
  if (existsSync(lbDirOf(dir))) await stopLoadBalancer(lbDirOf(dir));
  const pids = nodes.map((d) => findServerPid(d)).filter((p): p is number => p !== undefined);
  pids.forEach((pid) => signal(pid, "SIGTERM"));
  for (const pid of pids) {
    if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
      signal(pid, "SIGKILL");
      if (!(await waitForExit(pid, KILL_TIMEOUT_MS))) throw new Error(`the cluster node (pid ${pid}) did not exit after SIGKILL`);
    }
  }
  for (const d of nodes) rmSync(join(d, LAYOUT.pid), { force: true });
  // After the nodes: they need it until they stop.
  if (meta.autoUnseal) await stopUnsealer(dir, { purge: options.purge });
  if (!options.purge) return;
  if (meta.createdDir) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const d of nodes) rmSync(d, { recursive: true, force: true });
  for (const name of [...Object.values(LAYOUT), ...Object.values(AUTO_UNSEAL_LAYOUT), CLUSTER_LAYOUT.meta, CLUSTER_LAYOUT.loadBalancer])
    rmSync(join(dir, name), { recursive: true, force: true });
}

/** Every node's role and pid, and autopilot's view; reads the root token from the directory to ask autopilot, never prints it. */
export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  dir = resolve(dir);
  const nodes = clusterNodes(dir);
  const caPem = readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8");
  const statuses: NodeStatus[] = [];
  for (const n of nodes) {
    const pid = findServerPid(n.dir);
    const base = { index: n.index, nodeId: n.nodeId, addr: n.addr, pid };
    if (pid === undefined) {
      statuses.push({ ...base, role: "stopped" });
      continue;
    }
    try {
      const h = await health({ addr: n.addr, caPem });
      statuses.push({ ...base, role: !h.initialized ? "uninitialized" : h.sealed ? "sealed" : h.standby ? "standby" : "active" });
    } catch {
      statuses.push({ ...base, role: "unreachable" });
    }
  }
  const tokenFile = join(dir, LAYOUT.rootToken);
  const answering = statuses.find((s) => s.role === "active") ?? statuses.find((s) => s.role === "standby");
  const loadBalancer = await loadBalancerStatus(dir);
  if (!answering || !existsSync(tokenFile)) return { nodes: statuses, autopilotError: "no unsealed node answers", loadBalancer };
  try {
    return { nodes: statuses, autopilot: await autopilotState({ addr: answering.addr, caPem }, readFileSync(tokenFile, "utf8").trim()), loadBalancer };
  } catch (e) {
    return { nodes: statuses, autopilotError: (e as Error).message, loadBalancer };
  }
}

async function loadBalancerStatus(dir: string): Promise<ClusterStatus["loadBalancer"]> {
  if (!hasLoadBalancer(dir)) return undefined;
  const lbDir = lbDirOf(dir);
  const meta = readLbMeta(lbDir);
  const pid = findLoadBalancerPid(lbDir);
  return { addr: lbAddr(meta.port), route: meta.route, pid, backends: pid === undefined ? undefined : await loadBalancerBackends(lbDir) };
}

/** First start: shared TLS, ports, the unsealer when auto-unsealed, one directory and config per node, then cluster.json (its presence marks a complete setup). */
async function setUpCluster(
  dir: string,
  createdDir: boolean,
  nodes: number,
  performanceMultiplier: number,
  log: (line: string) => void,
  autoUnseal: { kind: AutoUnseal; baoBinary: string } | undefined,
  binary: ServerBinary,
): Promise<void> {
  if (existsSync(join(dir, AUTO_UNSEAL_LAYOUT.unsealer))) await stopUnsealer(dir, { purge: true }); // an interrupted setup's
  const known = new Set<string>([LAYOUT.tls, LAYOUT.log, LAYOUT.gitignore, AUTO_UNSEAL_LAYOUT.seal]);
  const leftovers = readdirSync(dir);
  const interrupted = leftovers.every((name) => known.has(name) || name.startsWith(CLUSTER_LAYOUT.nodePrefix));
  if (!interrupted) throw new Error(`${dir} has no ${CLUSTER_LAYOUT.meta} but is not empty (${leftovers.join(", ")}); give an empty or new directory`);
  for (const name of leftovers) {
    // A node directory with raft data is not an interrupted setup: it ran.
    if (existsSync(join(dir, name, LAYOUT.data, "raft")))
      throw new Error(`${join(dir, name)} holds raft data but ${dir} has no ${CLUSTER_LAYOUT.meta}; give an empty or new directory`);
    rmSync(join(dir, name), { recursive: true, force: true });
  }
  const apiAudit = binary.kind === "vault";
  log(`setting up a ${nodes}-node ${apiAudit ? "HashiCorp Vault" : "OpenBao"} cluster in ${dir} (performance_multiplier ${performanceMultiplier})`);
  makeCertificates(join(dir, LAYOUT.tls));
  writeFileSync(join(dir, LAYOUT.gitignore), "# Written by c42-keystore: a local OpenBao cluster's keys, token and data.\n*\n", { mode: 0o600, flag: "wx" });
  const seal = autoUnseal ? await setUpTransitUnsealer(dir, autoUnseal.baoBinary, log) : "";
  const ports = await freePorts(2 * nodes);
  const metas: NodeMeta[] = Array.from({ length: nodes }, (_, i) => ({ apiPort: ports[2 * i], clusterPort: ports[2 * i + 1] }));
  metas.forEach((m, i) => {
    const d = nodeDir(dir, i + 1);
    ensureDir(d, "cluster node directory");
    ensureDir(join(d, LAYOUT.data), "node data directory");
    writeFileSync(join(d, LAYOUT.config), nodeConfig(dir, i + 1, metas, performanceMultiplier, !apiAudit) + seal, { mode: 0o600, flag: "wx" });
    writeFileSync(join(d, LAYOUT.meta), JSON.stringify(m) + "\n", { mode: 0o600, flag: "wx" });
  });
  const meta: ClusterMeta = {
    nodes,
    performanceMultiplier,
    createdDir,
    ...(autoUnseal ? { autoUnseal: autoUnseal.kind } : {}),
    ...(apiAudit ? { apiAudit } : {}),
  };
  writeFileSync(join(dir, CLUSTER_LAYOUT.meta), JSON.stringify(meta) + "\n", {
    mode: 0o600,
    flag: "wx",
  });
}

function nodeConfig(dir: string, index: number, metas: readonly NodeMeta[], performanceMultiplier: number, auditDeclared: boolean): string {
  const tls = join(dir, LAYOUT.tls);
  const d = nodeDir(dir, index);
  const { apiPort, clusterPort } = metas[index - 1];
  const peers = metas
    .filter((_, i) => i !== index - 1)
    .map((m) => `  retry_join {\n    leader_api_addr     = "https://127.0.0.1:${m.apiPort}"\n    leader_ca_cert_file = ${q(join(tls, TLS.caCert))}\n  }\n`)
    .join("");
  return `# Written by ops/server/cluster.ts: node ${index} of ${metas.length} of a local raft cluster.
storage "raft" {
  path    = ${q(join(d, LAYOUT.data))}
  node_id = ${q(nodeId(index))}
  # Scales raft's heartbeat and election timeouts: 1 fails over in ~2-3 s, OpenBao's default (5) in ~10 s but rides out a slow machine.
  performance_multiplier = ${performanceMultiplier}
${peers}}

${listenerStanza(tls, apiPort, clusterPort)}
disable_mlock = true
ui            = false
${
  // The same declaration on every node (OpenBao refuses to become active when a node's audit declaration differs from
  // the stored one: "modifications to audit devices are not allowed"), and the same as a single server's (server.ts),
  // so a snapshot of either restores into the other. Relative to the node's working directory, its own directory:
  // each node writes the entries it serves while active to its own DIR/node-N/audit.log.
  // HashiCorp Vault has no audit stanza: startCluster enables the same device through the API (meta.apiAudit).
  auditDeclared ? auditStanza(LAYOUT.audit) : ""
}`;
}

/** Refuses to purge a cluster directory holding anything the cluster did not put there. */
function assertClusterDir(dir: string, nodes: number): void {
  const nodeNames = Array.from({ length: nodes }, (_, i) => `${CLUSTER_LAYOUT.nodePrefix}${i + 1}`);
  const known = new Set<string>([
    ...Object.values(LAYOUT),
    ...Object.values(AUTO_UNSEAL_LAYOUT),
    CLUSTER_LAYOUT.meta,
    CLUSTER_LAYOUT.loadBalancer,
    ...nodeNames,
  ]);
  const foreign = readdirSync(dir).filter((name) => !known.has(name));
  const nodeKnown = new Set<string>(Object.values(LAYOUT));
  for (const n of nodeNames) {
    if (existsSync(join(dir, n)))
      foreign.push(
        ...readdirSync(join(dir, n))
          .filter((name) => !nodeKnown.has(name))
          .map((name) => join(n, name)),
      );
  }
  if (foreign.length > 0) throw new Error(`refusing to purge ${dir}: it holds files that are not the cluster's (${foreign.join(", ")})`);
}
