import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../common/errors";
import { processStartTicks } from "../lock/project-lock";
import { LAYOUT } from "../server/layout";
import { LocalServer, readServerEnv, startServer, stopServer } from "../server/server";

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/*
 * A scratch directory names the process that owns it: c42-scratch-<pid>_<start ticks>_XXXXXX. A process
 * killed with SIGKILL cannot stop its scratch server (it runs detached); the next one that starts a scratch
 * server recognises the leftover by that name (its owner is gone: no process with that pid and start time)
 * and by its contents (only a server's files), stops the server whose config lies in it, and deletes it.
 */
const PREFIX = "c42-scratch-";
const OWNED = /^c42-scratch-(\d+)_(\d+)_[A-Za-z0-9]{6}$/;

/** The prefix of this process's scratch directories. */
function ownPrefix(): string {
  return `${PREFIX}${process.pid}_${processStartTicks(process.pid) ?? 0}_`;
}

/** Whether the process with `pid` that started at `ticks` still runs. */
function ownerAlive(pid: number, ticks: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const now = processStartTicks(pid);
  return now === undefined || ticks === 0 || now === ticks;
}

/**
 * Stops and deletes the scratch servers in `parent` that a killed process left behind. Only directories
 * this project made are touched: the name carries a dead owner, the directory is this user's (not a link),
 * and it holds nothing but a server's files; anything else is left alone. Returns the directories removed.
 */
export async function reapLeftoverScratchServers(parent: string, log: (line: string) => void): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const known = new Set<string>(Object.values(LAYOUT));
  const removed: string[] = [];
  for (const name of names) {
    const match = OWNED.exec(name);
    if (!match) continue;
    const dir = join(parent, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || (typeof process.getuid === "function" && st.uid !== process.getuid())) continue;
      if (ownerAlive(Number(match[1]), Number(match[2]))) continue;
      if (!readdirSync(dir).every((entry) => known.has(entry))) {
        log(`left ${dir} alone: it looks like a scratch server directory whose owner is gone, but holds files that are not a server's`);
        continue;
      }
      await stopServer(dir, { purge: true });
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
      log(`stopped and deleted a scratch server left behind by process ${match[1]}, which is gone (killed?): ${dir}`);
    } catch (e) {
      log(`could not remove the leftover scratch server ${dir}: ${errorMessage(e)}`);
    }
  }
  return removed;
}

/**
 * Runs `body` with a scratch OpenBao (production mode, TLS on loopback, in a
 * new temporary directory), then stops it and deletes the directory: on
 * success, on failure, and on SIGINT/SIGTERM/SIGHUP (then the process exits
 * with 128 + the signal's number). A scratch server a SIGKILLed process left
 * behind is removed first ({@link reapLeftoverScratchServers}).
 */
export async function withScratchServer<T>(
  baoBinary: string,
  log: (line: string) => void,
  body: (server: LocalServer, rootToken: string) => Promise<T>,
  parent: string = tmpdir(),
  /** The seal stanza of an auto-unsealed source cluster (seal-config.ts); none: Shamir. */
  seal?: string,
): Promise<T> {
  await reapLeftoverScratchServers(parent, log);
  const dir = mkdtempSync(join(parent, ownPrefix()));
  let cleaning: Promise<void> | undefined;
  // stopServer's purge keeps a directory the server did not create; this one was made here, so it goes too.
  const cleanup = () => (cleaning ??= stopServer(dir, { purge: true }).finally(() => rmSync(dir, { recursive: true, force: true })));
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the scratch server and deleting ${dir}`);
    void cleanup().finally(() => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  try {
    // No audit device: a snapshot whose source declared other ones would keep a server that declares one from becoming active.
    const server = await startServer({ dir, baoBinary, log: (line) => log(`[scratch] ${line}`), audit: false, seal });
    return await body(server, readServerEnv(dir).VAULT_TOKEN);
  } finally {
    for (const sig of SIGNALS) process.off(sig, onSignal);
    await cleanup();
    log(`scratch server stopped and ${dir} deleted`);
  }
}
