import { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnvFile } from "../common/env-file";
import { ensureDir } from "../common/private-files";
import { VaultEndpoint } from "../vault/client";
import { auditStanza, ensureApiAuditDevice } from "./audit";
import { hclString as q, listenerStanza } from "./hcl";
import { health, initialise, isLeader, unseal, writeEnvFile } from "./init";
import { ServerBinary, serverBinary } from "./kind";
import { LAYOUT, ServerMeta, TLS, assertServerDir, logTail, readMeta } from "./layout";
import {
  KILL_TIMEOUT_MS,
  POLL_MS,
  STOP_TIMEOUT_MS,
  findServerPid,
  freePorts,
  isAlive,
  killQuietly,
  portIsFree,
  signal,
  sleep,
  spawnServer,
  waitForExit,
  watchExit,
} from "./process";
import { makeCertificates } from "./tls";

/** A running, initialised, unsealed and active OpenBao or HashiCorp Vault server in production (non-dev) mode. */
export interface LocalServer {
  /** The directory holding its config, TLS material, raft data, secrets and log. */
  readonly dir: string;
  /** e.g. "https://127.0.0.1:41234" */
  readonly addr: string;
  /** The CA that signed the server certificate (VAULT_CACERT). */
  readonly caCertFile: string;
  /** KEY=VALUE file with VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (0600). */
  readonly envFile: string;
  /** The server process. */
  readonly pid: number;
}

/** How to start a {@link LocalServer}. */
export interface StartServerOptions {
  /** Directory for everything the server owns; created 0700. */
  readonly dir: string;
  /**
   * The server binary: OpenBao's `bao`, or HashiCorp Vault's `vault` (proven on 1.21). `<binary> version`
   * tells them apart; a Vault server gets no `audit` stanza and its audit device through the API instead.
   */
  readonly baoBinary: string;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
  /**
   * Declare the file audit device. A scratch server that verifies a snapshot declares none: it then takes a
   * snapshot whatever audit devices its source declared (a declaration that differs from the restored one keeps
   * OpenBao from becoming active), and drops them. Read on the first start only, like the rest of the config.
   * @default true
   */
  readonly audit?: boolean;
  /**
   * A seal stanza (auto-unseal, e.g. `seal "transit" { … }`) for the config: the server is initialised with a
   * recovery key instead of an unseal key and unseals itself. Holds the seal's credentials: written 0600.
   * Read on the first start only. @default - Shamir: one unseal key, stored in the directory
   */
  readonly seal?: string;
}

/** What {@link serverStatus} reads without touching any secret. */
export interface ServerStatus {
  /** A server process started from this directory's config is alive. */
  readonly running: boolean;
  /** The server says so when running; otherwise whether an unseal key is stored. */
  readonly initialized: boolean;
  /** True whenever the server is not running. */
  readonly sealed: boolean;
  /** Unsealed and the raft leader. */
  readonly active: boolean;
  /** The API address the directory's config listens on, once configured. */
  readonly addr?: string;
  /** The server process, when running. */
  readonly pid?: number;
}

/** Bounds on every wait, in milliseconds. */
const REACHABLE_TIMEOUT_MS = 30_000;
const ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Starts OpenBao (or HashiCorp Vault) in server mode in `dir`, initialises and
 * unseals it, and waits until it is the active raft leader.
 *
 * A directory that already holds an initialised server is reused: a running,
 * healthy server is returned as it is; a stopped one is started again with
 * the same config and ports and unsealed with the stored key.
 */
export async function startServer(options: StartServerOptions): Promise<LocalServer> {
  const log = options.log ?? (() => undefined);
  const dir = resolve(options.dir);
  const started = Date.now();
  const createdDir = ensureServerDir(dir);
  const binary = serverBinary(options.baoBinary);

  if (!existsSync(join(dir, LAYOUT.config))) {
    await setUp(dir, createdDir, log, options.audit ?? true, binary, options.seal);
  }
  const meta = readMeta(dir);
  const addr = `https://127.0.0.1:${meta.apiPort}`;
  const endpoint: VaultEndpoint = { addr, caPem: readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8") };

  let pid = findServerPid(dir);
  let child: ChildProcess | undefined;
  if (pid === undefined) {
    for (const port of [meta.apiPort, meta.clusterPort]) {
      if (!(await portIsFree(port))) {
        throw new Error(
          `cannot start the server in ${dir}: port 127.0.0.1:${port} from its config is taken by another process; stop it, or remove this server with --purge`,
        );
      }
    }
    child = spawnServer(dir, options.baoBinary);
    pid = child.pid as number;
    log(`started ${binary.name} ${binary.version} (pid ${pid}) on ${addr}; log: ${join(dir, LAYOUT.log)}`);
  } else {
    log(`${binary.name} is already running (pid ${pid}) on ${addr}`);
  }
  const serverPid = pid;
  const exited = child ? watchExit(child) : () => (isAlive(serverPid) ? undefined : "gone");

  try {
    let h = await waitFor(dir, "the API to answer", REACHABLE_TIMEOUT_MS, exited, async () => health(endpoint));
    if (!h.initialized) {
      for (const key of [LAYOUT.unsealKey, LAYOUT.recoveryKey]) {
        if (existsSync(join(dir, key)))
          throw new Error(`the server in ${dir} is not initialised but ${key} exists: its raft data is gone; remove this server with --purge`);
      }
      log(`initialising (1 ${meta.autoUnseal ? "recovery" : "key"} share, threshold 1)`);
      await initialise(dir, endpoint, { autoUnseal: meta.autoUnseal });
      h = await health(endpoint);
    }
    if (h.sealed && !meta.autoUnseal) {
      log("unsealing");
      await unseal(dir, endpoint, log);
    }
    await waitFor(dir, "the server to become the active raft leader", ACTIVE_TIMEOUT_MS, exited, async () => {
      const h = await health(endpoint);
      if (!h.initialized || h.sealed || h.standby) return undefined;
      return (await isLeader(endpoint)) ? true : undefined;
    });
    if (meta.apiAudit) await ensureApiAuditDevice(endpoint, readFileSync(join(dir, LAYOUT.rootToken), "utf8").trim(), LAYOUT.audit);
  } catch (e) {
    if (child) killQuietly(child);
    throw e;
  }

  const envFile = join(dir, LAYOUT.env);
  if (!existsSync(envFile)) writeEnvFile(dir, addr);
  log(`active after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dir, addr, caCertFile: join(dir, LAYOUT.tls, TLS.caCert), envFile, pid };
}

/**
 * Stops the server started from `dir`: SIGTERM, then SIGKILL if it does not
 * exit in time. With `purge`, removes the server's files, and the directory
 * itself when the server's first start created it.
 * Does nothing when no server is running.
 */
export async function stopServer(dir: string, options: { purge?: boolean } = {}): Promise<void> {
  dir = resolve(dir);
  if (options.purge && existsSync(dir)) assertServerDir(dir);
  const pid = findServerPid(dir);
  if (pid !== undefined) {
    signal(pid, "SIGTERM");
    if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
      signal(pid, "SIGKILL");
      if (!(await waitForExit(pid, KILL_TIMEOUT_MS))) {
        throw new Error(`the server (pid ${pid}) did not exit after SIGKILL`);
      }
    }
  }
  rmSync(join(dir, LAYOUT.pid), { force: true });
  if (options.purge && existsSync(dir)) {
    const meta = existsSync(join(dir, LAYOUT.meta)) ? readMeta(dir) : undefined;
    if (meta?.createdDir === false) {
      for (const name of Object.values(LAYOUT)) rmSync(join(dir, name), { recursive: true, force: true });
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Reports whether the server in `dir` runs and what its health says; reads no secret. */
export async function serverStatus(dir: string): Promise<ServerStatus> {
  dir = resolve(dir);
  const meta = existsSync(join(dir, LAYOUT.meta)) ? readMeta(dir) : undefined;
  const addr = meta ? `https://127.0.0.1:${meta.apiPort}` : undefined;
  const pid = findServerPid(dir);
  const stopped = {
    running: false,
    initialized: existsSync(join(dir, LAYOUT.unsealKey)) || existsSync(join(dir, LAYOUT.recoveryKey)),
    sealed: true,
    active: false,
    addr,
  };
  if (pid === undefined || !addr) return stopped;
  try {
    const h = await health({ addr, caPem: readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8") });
    return {
      running: true,
      initialized: h.initialized,
      sealed: h.sealed,
      active: h.initialized && !h.sealed && !h.standby,
      addr,
      pid,
    };
  } catch {
    return { ...stopped, running: true, pid };
  }
}

/** Parses the server's `vault.env` (VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN). */
export function readServerEnv(dir: string): Record<string, string> {
  const file = join(resolve(dir), LAYOUT.env);
  if (!existsSync(file)) throw new Error(`${file} does not exist; start the server first (npm run server:start)`);
  return parseEnvFile(readFileSync(file, "utf8"));
}

/** First start in `dir`: TLS material, raft directory, ports and config. */
async function setUp(
  dir: string,
  createdDir: boolean,
  log: (line: string) => void,
  audit: boolean,
  binary: ServerBinary,
  seal: string | undefined,
): Promise<void> {
  const known = new Set<string>(Object.values(LAYOUT));
  const leftovers = readdirSync(dir).filter((name) => name !== LAYOUT.log);
  const dataDir = join(dir, LAYOUT.data);
  const interrupted = leftovers.every((name) => known.has(name)) && (!existsSync(dataDir) || readdirSync(dataDir).length === 0);
  if (!interrupted) {
    throw new Error(`${dir} has no ${LAYOUT.config} but is not empty (${leftovers.join(", ")}); give an empty or new directory`);
  }
  // An earlier setup stopped before the server ever ran: nothing in it is worth keeping.
  for (const name of leftovers) rmSync(join(dir, name), { recursive: true, force: true });
  log(`setting up a new ${binary.kind === "vault" ? "HashiCorp Vault" : "OpenBao"} server in ${dir}`);
  makeCertificates(join(dir, LAYOUT.tls));
  ensureDir(join(dir, LAYOUT.data), "server data directory");
  const [apiPort, clusterPort] = await freePorts(2);
  const apiAudit = audit && binary.kind === "vault";
  writeFileSync(join(dir, LAYOUT.config), serverConfig(dir, apiPort, clusterPort, audit && !apiAudit) + (seal ?? ""), { mode: 0o600, flag: "wx" });
  writeFileSync(join(dir, LAYOUT.gitignore), "# Written by c42-keystore: a local OpenBao server's keys, token and data.\n*\n", { mode: 0o600, flag: "wx" });
  // Written last: its presence marks a complete setup.
  const meta: ServerMeta = { apiPort, clusterPort, createdDir, ...(apiAudit ? { apiAudit } : {}), ...(seal !== undefined ? { autoUnseal: true } : {}) };
  writeFileSync(join(dir, LAYOUT.meta), JSON.stringify(meta) + "\n", { mode: 0o600, flag: "wx" });
}

function serverConfig(dir: string, apiPort: number, clusterPort: number, audit: boolean): string {
  const tls = join(dir, LAYOUT.tls);
  return `# Written by ops/server.ts: a single-node production-mode server for local use.
storage "raft" {
  path    = ${q(join(dir, LAYOUT.data))}
  node_id = "c42-local"
  # Raft's production timings (multiplier 1): a single node elects itself in about a second instead of five.
  performance_multiplier = 1
}

${listenerStanza(tls, apiPort, clusterPort)}
# OpenBao 2 has no mlock and warns about this line; HashiCorp Vault, the fallback, needs it without CAP_IPC_LOCK.
disable_mlock = true
ui            = false
${
  // Relative to the server's working directory, which is its own directory (spawnServer): the declaration is then the
  // same text in every server, so a snapshot of one restores into another. OpenBao refuses to become active when a
  // declared audit device differs from the restored table's ("modifications to audit devices are not allowed").
  // HashiCorp Vault has no audit stanza: startServer enables the same device through the API (meta.apiAudit).
  audit ? auditStanza(LAYOUT.audit) : ""
}`;
}

/**
 * The server's directory and its subdirectories: created 0700 when missing;
 * an existing one must be a directory of this user and is never chmodded
 * (a shared parent keeps its mode; the secrets inside are 0600 files and
 * 0700 subdirectories this module creates).
 */
function ensureServerDir(dir: string): boolean {
  const created = ensureDir(dir, "server directory (--dir)");
  const st = statSync(dir);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user (uid ${st.uid}); give a directory of your own`);
  }
  return created;
}

/** Polls `probe` until it returns a value; probe errors count as "not yet". */
export async function waitFor<T>(
  dir: string,
  what: string,
  timeoutMs: number,
  exited: () => string | undefined,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    const exit = exited();
    if (exit !== undefined) throw new Error(`the server exited (${exit}) while waiting for ${what}${logTail(dir)}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = "";
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}${logTail(dir)}`);
    }
    await sleep(POLL_MS);
  }
}
