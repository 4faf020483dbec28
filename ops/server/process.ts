import { ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { LAYOUT } from "./layout";

/** Bounds on waiting for a process, in milliseconds. */
export const STOP_TIMEOUT_MS = 15_000;
export const KILL_TIMEOUT_MS = 5_000;
export const POLL_MS = 200;

/** Spawns `bao server` detached, so it outlives this process, logging to server.log. */
export function spawnServer(dir: string, baoBinary: string): ChildProcess {
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
export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(VAULT|BAO)_/.test(k)));
}

/** For a child this process spawned, reports its exit as soon as it happens. */
export function watchExit(child: ChildProcess): () => string | undefined {
  let exit: string | undefined;
  child.once("exit", (code, sig) => {
    exit = code !== null ? `exit code ${code}` : `signal ${sig}`;
  });
  return () => exit;
}

export function killQuietly(child: ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * The pid of the bao process serving `dir`: from server.pid when that process
 * is still this server, else found by its command line (a lost pid file).
 */
export function findServerPid(dir: string): number | undefined {
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

export function readCmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** Ports the kernel hands out for 127.0.0.1, held together so they differ. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
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

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const server = createServer();
    server.once("error", () => ok(false));
    server.listen(port, "127.0.0.1", () => server.close(() => ok(true)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
