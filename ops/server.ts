import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { cacheDir, parseEnvFile } from "./toolchain";
import { VaultAnswer, VaultEndpoint, vaultCall } from "./vault-http";

/** A running, initialised, unsealed and active OpenBao server in production (non-dev) mode. */
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
  /** The `bao` binary. */
  readonly baoBinary: string;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
}

/** What {@link serverStatus} reads without touching any secret. */
export interface ServerStatus {
  /** A bao process started from this directory's config is alive. */
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
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const POLL_MS = 200;
const LOG_TAIL_LINES = 25;

/** Every name a server directory may hold; `purge` refuses to delete a directory with anything else in it. */
const LAYOUT = {
  config: "server.hcl",
  meta: "server.json",
  log: "server.log",
  pid: "server.pid",
  unsealKey: "unseal.key",
  rootToken: "root.token",
  env: "vault.env",
  tls: "tls",
  data: "data",
} as const;

const TLS = {
  opensslConfig: "openssl.cnf",
  caCert: "ca.pem",
  caKey: "ca.key",
  cert: "server.pem",
  key: "server.key",
  csr: "server.csr",
} as const;

/** Ports and addresses chosen when the directory was first set up; reused on every restart. */
interface ServerMeta {
  readonly apiPort: number;
  readonly clusterPort: number;
}

/** The subset of `sys/health` this module reads. */
interface Health {
  readonly initialized: boolean;
  readonly sealed: boolean;
  readonly standby: boolean;
}

/**
 * The `bao` binary: `C42_BAO` from the environment, else from the
 * `toolchain.env` that `npm run toolchain` writes in the cache directory.
 */
export function locateBao(env: NodeJS.ProcessEnv = process.env): string {
  const file = join(cacheDir(env), "toolchain.env");
  const bao = env.C42_BAO ?? (existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")).C42_BAO : undefined);
  if (!bao) {
    throw new Error(`no OpenBao binary: ${file} is missing or has no C42_BAO line; run npm run toolchain first`);
  }
  if (!existsSync(bao)) {
    throw new Error(`the OpenBao binary ${bao} (from ${env.C42_BAO ? "C42_BAO" : file}) does not exist; run npm run toolchain first`);
  }
  return bao;
}

/**
 * Starts OpenBao in server mode in `dir`, initialises and unseals it, and
 * waits until it is the active raft leader.
 *
 * A directory that already holds an initialised server is reused: a running,
 * healthy server is returned as it is; a stopped one is started again with
 * the same config and ports and unsealed with the stored key.
 */
export async function startServer(options: StartServerOptions): Promise<LocalServer> {
  const log = options.log ?? (() => undefined);
  const dir = resolve(options.dir);
  const started = Date.now();
  ensurePrivateDir(dir);

  if (!existsSync(join(dir, LAYOUT.config))) {
    await setUp(dir, log);
  }
  const meta = readMeta(dir);
  const addr = `https://127.0.0.1:${meta.apiPort}`;
  const endpoint: VaultEndpoint = { addr, caPem: readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8") };

  let pid = findServerPid(dir);
  let child: ChildProcess | undefined;
  if (pid === undefined) {
    for (const port of [meta.apiPort, meta.clusterPort]) {
      if (!(await portIsFree(port))) {
        throw new Error(`cannot start the server in ${dir}: port 127.0.0.1:${port} from its config is taken by another process; stop it, or remove this server with --purge`);
      }
    }
    child = spawnServer(dir, options.baoBinary);
    pid = child.pid as number;
    log(`started bao (pid ${pid}) on ${addr}; log: ${join(dir, LAYOUT.log)}`);
  } else {
    log(`bao is already running (pid ${pid}) on ${addr}`);
  }
  const serverPid = pid;
  const exited = child ? watchExit(child) : () => (isAlive(serverPid) ? undefined : "gone");

  try {
    let health = await waitFor(dir, "the API to answer", REACHABLE_TIMEOUT_MS, exited, async () => readHealth(endpoint));
    if (!health.initialized) {
      if (existsSync(join(dir, LAYOUT.unsealKey))) {
        throw new Error(`the server in ${dir} is not initialised but ${LAYOUT.unsealKey} exists: its raft data is gone; remove this server with --purge`);
      }
      log("initialising (1 key share, threshold 1)");
      await initialise(dir, endpoint);
      health = await readHealth(endpoint);
    }
    if (health.sealed) {
      log("unsealing");
      await unseal(dir, endpoint);
    }
    await waitFor(dir, "the server to become the active raft leader", ACTIVE_TIMEOUT_MS, exited, async () => {
      const h = await readHealth(endpoint);
      if (!h.initialized || h.sealed || h.standby) return undefined;
      const leader = await vaultCall(endpoint, { path: "sys/leader" });
      return leader.status === 200 && leader.json?.is_self === true ? true : undefined;
    });
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
 * exit in time. With `purge`, removes the directory and everything in it.
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
        throw new Error(`bao (pid ${pid}) did not exit after SIGKILL`);
      }
    }
  }
  rmSync(join(dir, LAYOUT.pid), { force: true });
  if (options.purge) rmSync(dir, { recursive: true, force: true });
}

/** Reports whether the server in `dir` runs and what its health says; reads no secret. */
export async function serverStatus(dir: string): Promise<ServerStatus> {
  dir = resolve(dir);
  const meta = existsSync(join(dir, LAYOUT.meta)) ? readMeta(dir) : undefined;
  const addr = meta ? `https://127.0.0.1:${meta.apiPort}` : undefined;
  const pid = findServerPid(dir);
  const stopped = { running: false, initialized: existsSync(join(dir, LAYOUT.unsealKey)), sealed: true, active: false, addr };
  if (pid === undefined || !addr) return stopped;
  try {
    const health = await readHealth({ addr, caPem: readFileSync(join(dir, LAYOUT.tls, TLS.caCert), "utf8") });
    return {
      running: true,
      initialized: health.initialized,
      sealed: health.sealed,
      active: health.initialized && !health.sealed && !health.standby,
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
async function setUp(dir: string, log: (line: string) => void): Promise<void> {
  const known = new Set<string>(Object.values(LAYOUT));
  const leftovers = readdirSync(dir).filter((name) => name !== LAYOUT.log);
  const dataDir = join(dir, LAYOUT.data);
  const interrupted = leftovers.every((name) => known.has(name)) && (!existsSync(dataDir) || readdirSync(dataDir).length === 0);
  if (!interrupted) {
    throw new Error(`${dir} has no ${LAYOUT.config} but is not empty (${leftovers.join(", ")}); give an empty or new directory`);
  }
  // An earlier setup stopped before the server ever ran: nothing in it is worth keeping.
  for (const name of leftovers) rmSync(join(dir, name), { recursive: true, force: true });
  log(`setting up a new server in ${dir}`);
  makeCertificates(join(dir, LAYOUT.tls));
  ensurePrivateDir(join(dir, LAYOUT.data));
  const [apiPort, clusterPort] = await freePorts(2);
  writeFileSync(join(dir, LAYOUT.config), serverConfig(dir, apiPort, clusterPort), { mode: 0o600, flag: "wx" });
  // Written last: its presence marks a complete setup.
  writeFileSync(join(dir, LAYOUT.meta), JSON.stringify({ apiPort, clusterPort } satisfies ServerMeta) + "\n", { mode: 0o600, flag: "wx" });
}

function serverConfig(dir: string, apiPort: number, clusterPort: number): string {
  // JSON string literals are valid HCL strings, so any path is quoted safely.
  const q = (s: string) => JSON.stringify(s);
  const tls = join(dir, LAYOUT.tls);
  return `# Written by ops/server.ts: a single-node production-mode server for local use.
storage "raft" {
  path    = ${q(join(dir, LAYOUT.data))}
  node_id = "c42-local"
  # Raft's production timings (multiplier 1): a single node elects itself in about a second instead of five.
  performance_multiplier = 1
}

listener "tcp" {
  address         = "127.0.0.1:${apiPort}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_cert_file   = ${q(join(tls, TLS.cert))}
  tls_key_file    = ${q(join(tls, TLS.key))}
  tls_min_version = "tls12"
}

api_addr      = "https://127.0.0.1:${apiPort}"
cluster_addr  = "https://127.0.0.1:${clusterPort}"
# OpenBao 2 has no mlock and warns about this line; HashiCorp Vault, the fallback, needs it without CAP_IPC_LOCK.
disable_mlock = true
ui            = false
`;
}

function readMeta(dir: string): ServerMeta {
  const file = join(dir, LAYOUT.meta);
  if (!existsSync(file)) throw new Error(`${dir} holds a partial setup (${LAYOUT.meta} is missing); remove it with --purge and start again`);
  return JSON.parse(readFileSync(file, "utf8")) as ServerMeta;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
function makeCertificates(tlsDir: string): void {
  ensurePrivateDir(tlsDir);
  const f = (name: string) => join(tlsDir, name);
  writeFileSync(
    f(TLS.opensslConfig),
    `[req]
distinguished_name = dn
prompt = no
[dn]
CN = c42-keystore local server
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`,
    { mode: 0o600, flag: "wx" },
  );
  // openssl creates key files itself; making them first fixes their mode whatever its version does.
  for (const key of [TLS.caKey, TLS.key]) writeFileSync(f(key), "", { mode: 0o600, flag: "wx" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const serial = () => "0x" + randomBytes(16).toString("hex").replace(/^[89a-f]/, "1");
  openssl(["req", "-x509", "-config", f(TLS.opensslConfig), "-extensions", "v3_ca", ...ec, "-keyout", f(TLS.caKey), "-out", f(TLS.caCert), "-days", "3650", "-set_serial", serial(), "-subj", "/CN=c42-keystore local CA"]);
  openssl(["req", "-new", "-config", f(TLS.opensslConfig), ...ec, "-keyout", f(TLS.key), "-out", f(TLS.csr), "-subj", "/CN=localhost"]);
  openssl(["x509", "-req", "-in", f(TLS.csr), "-CA", f(TLS.caCert), "-CAkey", f(TLS.caKey), "-set_serial", serial(), "-days", "825", "-sha256", "-extfile", f(TLS.opensslConfig), "-extensions", "v3_server", "-out", f(TLS.cert)]);
  unlinkSync(f(TLS.csr));
  for (const key of [TLS.caKey, TLS.key]) assertPrivateFile(f(key));
}

function openssl(args: string[]): void {
  const result = spawnSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (result.error) throw new Error(`cannot run openssl: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${result.status}): ${result.stderr.trim()}`);
}

/** Spawns `bao server` detached, so it outlives this process, logging to server.log. */
function spawnServer(dir: string, baoBinary: string): ChildProcess {
  const logFile = join(dir, LAYOUT.log);
  const fd = openSync(logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    writeSync(fd, `==== ${new Date().toISOString()} ops/server.ts: starting bao server\n`);
    child = spawn(baoBinary, ["server", `-config=${join(dir, LAYOUT.config)}`], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: serverEnv(process.env),
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${baoBinary}; see ${logFile}`);
  child.unref();
  writeFileSync(join(dir, LAYOUT.pid), `${child.pid}\n`, { mode: 0o600 });
  return child;
}

/**
 * The server's environment without VAULT_* and BAO_*: those would override
 * the config (api address, TLS) or hand it a client token it has no use for.
 */
function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(VAULT|BAO)_/.test(k)));
}

async function readHealth(endpoint: VaultEndpoint): Promise<Health> {
  const answer = await vaultCall(endpoint, { path: "sys/health" });
  const h = answer.json;
  if (typeof h?.initialized !== "boolean" || typeof h?.sealed !== "boolean") {
    throw new Error(`sys/health answered ${answer.status} without a health body`);
  }
  return { initialized: h.initialized, sealed: h.sealed, standby: h.standby === true };
}

async function initialise(dir: string, endpoint: VaultEndpoint): Promise<void> {
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/init", body: { secret_shares: 1, secret_threshold: 1 } });
  const key: unknown = answer.json?.keys_base64?.[0];
  const token: unknown = answer.json?.root_token;
  if (answer.status !== 200 || typeof key !== "string" || typeof token !== "string") {
    // A failed init carries only error text; a malformed success is not echoed, it would hold the secrets.
    const detail = answer.status === 200 ? "an unexpected body" : apiErrors(answer);
    throw new Error(`sys/init failed (HTTP ${answer.status}): ${detail}${logTail(dir)}`);
  }
  for (const [name, value] of [[LAYOUT.unsealKey, key], [LAYOUT.rootToken, token]] as const) {
    rmSync(join(dir, name), { force: true });
    writePrivateFile(join(dir, name), value + "\n");
  }
  // A stale env file would carry the previous root token.
  rmSync(join(dir, LAYOUT.env), { force: true });
}

async function unseal(dir: string, endpoint: VaultEndpoint): Promise<void> {
  const keyFile = join(dir, LAYOUT.unsealKey);
  if (!existsSync(keyFile)) throw new Error(`the server in ${dir} is sealed and ${keyFile} is missing`);
  const key = readFileSync(keyFile, "utf8").trim();
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key } });
  if (answer.status !== 200 || answer.json?.sealed !== false) {
    throw new Error(`sys/unseal failed (HTTP ${answer.status}): ${redact(apiErrors(answer), [key])}${logTail(dir)}`);
  }
}

function writeEnvFile(dir: string, addr: string): void {
  const tokenFile = join(dir, LAYOUT.rootToken);
  if (!existsSync(tokenFile)) throw new Error(`${tokenFile} is missing; cannot write ${LAYOUT.env}`);
  const token = readFileSync(tokenFile, "utf8").trim();
  const text = `VAULT_ADDR=${addr}\nVAULT_CACERT=${join(dir, LAYOUT.tls, TLS.caCert)}\nVAULT_TOKEN=${token}\n`;
  writePrivateFile(join(dir, LAYOUT.env), text);
}

/** Writes a new file created 0600 (never widening an existing one), then checks the mode. */
export function writePrivateFile(file: string, data: string): void {
  writeFileSync(file, data, { mode: 0o600, flag: "wx" });
  assertPrivateFile(file);
}

function assertPrivateFile(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if (mode !== 0o600) throw new Error(`${file} has mode ${mode.toString(8)}; expected 600`);
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw new Error(`${dir} belongs to another user (uid ${st.uid})`);
  }
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** Refuses to purge a directory that holds anything this module did not put there. */
function assertServerDir(dir: string): void {
  const known = new Set<string>(Object.values(LAYOUT));
  const foreign = readdirSync(dir).filter((name) => !known.has(name));
  if (foreign.length > 0) {
    throw new Error(`refusing to purge ${dir}: it holds files that are not the server's (${foreign.join(", ")})`);
  }
}

/** Polls `probe` until it returns a value; probe errors count as "not yet". */
async function waitFor<T>(dir: string, what: string, timeoutMs: number, exited: () => string | undefined, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    const exit = exited();
    if (exit !== undefined) throw new Error(`bao exited (${exit}) while waiting for ${what}${logTail(dir)}`);
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

/** For a child this process spawned, reports its exit as soon as it happens. */
function watchExit(child: ChildProcess): () => string | undefined {
  let exit: string | undefined;
  child.once("exit", (code, sig) => {
    exit = code !== null ? `exit code ${code}` : `signal ${sig}`;
  });
  return () => exit;
}

function killQuietly(child: ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/** The last lines of server.log, which holds no secrets, for error messages. */
function logTail(dir: string): string {
  const file = join(dir, LAYOUT.log);
  if (!existsSync(file)) return "";
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES);
  return `\n--- last lines of ${file} ---\n${lines.join("\n")}`;
}

function apiErrors(answer: VaultAnswer): string {
  const errors = answer.json?.errors;
  return Array.isArray(errors) ? errors.join("; ") : "no error text";
}

function redact(text: string, secrets: string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((t, s) => t.split(s).join("<redacted>"), text);
}

/**
 * The pid of the bao process serving `dir`: from server.pid when that process
 * is still this server, else found by its command line (a lost pid file).
 */
function findServerPid(dir: string): number | undefined {
  const config = `-config=${join(dir, LAYOUT.config)}`;
  const isOurs = (pid: number) => {
    const argv = readCmdline(pid);
    return argv !== undefined && argv[1] === "server" && argv.includes(config) && isAlive(pid);
  };
  const pidFile = join(dir, LAYOUT.pid);
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
    if (Number.isInteger(pid) && pid > 0 && isOurs(pid)) return pid;
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (isOurs(pid)) return pid;
  }
  return undefined;
}

function readCmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** Ports the kernel hands out for 127.0.0.1, held together so they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((ok, fail) => {
        const server = createServer();
        server.once("error", fail);
        server.listen(0, "127.0.0.1", () => ok(server));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === "string") throw new Error("no TCP port from the kernel");
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const server = createServer();
    server.once("error", () => ok(false));
    server.listen(port, "127.0.0.1", () => server.close(() => ok(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
