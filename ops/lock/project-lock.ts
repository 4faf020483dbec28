import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** Who holds the project lock: written into the lock file, shown to whoever waits. */
export interface LockHolder {
  /** The command, e.g. "deploy". */
  readonly command: string;
  readonly pid: number;
  /** The holder's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a reused pid is not mistaken for it. */
  readonly startTicks?: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly since: string;
  /**
   * Taken by a child in the name of this process, which knows nothing of the
   * lock (the cdktf CLI, for the app it runs): it is never released, it ends
   * with the process, and the next taker takes it over without a warning.
   */
  readonly untilExit?: boolean;
}

/** How to take the lock. */
export interface AcquireOptions {
  /** The command taking it, shown to others. */
  readonly command: string;
  /** How long to wait for another holder, in milliseconds; 0 fails at once. */
  readonly timeoutMs: number;
  /** Progress lines while waiting, and the note when a stale lock is taken over. */
  readonly log?: (line: string) => void;
  /** How often to look again while waiting. @default 250 */
  readonly pollMs?: number;
  /**
   * Take the lock in the name of this other, running process (see
   * {@link LockHolder.untilExit}); it is then held until that process ends,
   * and taken at once when that process holds it already.
   * @default - this process, until release() or exit
   */
  readonly owner?: { readonly pid: number; readonly startTicks?: number };
}

/** The one-line refusal when the lock stayed taken for the whole timeout. */
export class ProjectLockBusyError extends Error {
  public constructor(
    public readonly holder: LockHolder,
    waitedMs: number,
    lockFile: string,
  ) {
    super(
      `another command holds the project lock: ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); ` +
        `waited ${Math.round(waitedMs / 1000)}s. Let it finish, or raise lockTimeout (C42_LOCK_TIMEOUT); ` +
        `if that process is gone, the next command takes the lock over by itself (lock file: ${lockFile})`,
    );
    this.name = "ProjectLockBusyError";
  }
}

/** The held lock; `release()` is idempotent and also runs on exit and on SIGINT/SIGTERM/SIGHUP. */
export interface HeldLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** This process's start time in clock ticks, from /proc; undefined where /proc is missing. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` is still running (same pid, same start time, same host). */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // another machine's process cannot be checked from here: assume alive
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  if (holder.startTicks === undefined) return true;
  const now = processStartTicks(holder.pid);
  return now === undefined || now === holder.startTicks;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const h = parsed as Record<string, unknown>;
    if (typeof h.pid !== "number" || typeof h.command !== "string" || typeof h.since !== "string" || typeof h.host !== "string") return undefined;
    return {
      command: h.command,
      pid: h.pid,
      host: h.host,
      since: h.since,
      startTicks: typeof h.startTicks === "number" ? h.startTicks : undefined,
      untilExit: h.untilExit === true ? true : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * Creates the lock file atomically: the holder is written to a private
 * temporary file first, then hard-linked to the lock's name, which fails when
 * the name exists. Readers therefore never see a half-written lock.
 */
function tryCreate(file: string, holder: LockHolder): boolean {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(holder) + "\n");
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Moves a dead holder's lock aside so that exactly one waiter can take it:
 * the rename succeeds for one of them; the others then find the lock gone or
 * taken by the winner.
 */
function takeOverStale(file: string, stale: LockHolder): boolean {
  const aside = `${file}.stale-${stale.pid}-${process.pid}`;
  try {
    // Re-read right before: the file may already be the winner's fresh lock.
    const current = readHolder(file);
    if (!current || current.pid !== stale.pid || current.since !== stale.since) return false;
    renameSync(file, aside);
    rmSync(aside, { force: true });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Takes the project lock `<dir>/project.lock` (the directory must exist and be
 * private). Waits up to `timeoutMs` for a live holder, reporting progress;
 * takes over a lock whose holder died (saying so); fails with
 * {@link ProjectLockBusyError}, one line naming the holder, when time runs out.
 */
export async function acquireProjectLock(dir: string, options: AcquireOptions): Promise<HeldLock> {
  const file = join(dir, "project.lock");
  const owner = options.owner;
  const holder: LockHolder = {
    command: options.command,
    pid: owner?.pid ?? process.pid,
    startTicks: owner ? owner.startTicks : processStartTicks(process.pid),
    host: hostname(),
    since: new Date().toISOString(),
    ...(owner ? { untilExit: true } : {}),
  };
  const started = Date.now();
  const poll = options.pollMs ?? 250;
  let announced = false;
  // Bounded: every pass either returns, throws, or sleeps until the deadline passes.
  for (;;) {
    if (tryCreate(file, holder)) return owner ? heldUntilExit(file, holder) : hold(file, holder);
    const other = readHolder(file);
    if (owner && other && other.host === holder.host && other.pid === holder.pid && other.startTicks === holder.startTicks) {
      return heldUntilExit(file, other);
    }
    if (other && !holderAlive(other)) {
      if (takeOverStale(file, other) && !other.untilExit) {
        options.log?.(`the project lock was left by ${other.command} (pid ${other.pid}, since ${other.since}), which is no longer running; taking it over`);
      }
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= options.timeoutMs) {
      throw new ProjectLockBusyError(other ?? { command: "unknown", pid: 0, host: "unknown", since: "unknown" }, waited, file);
    }
    if (!announced && other) {
      options.log?.(`waiting for ${other.command} (pid ${other.pid}, since ${other.since}) to finish; up to ${Math.round(options.timeoutMs / 1000)}s`);
      announced = true;
    }
    await sleep(Math.min(poll, options.timeoutMs - waited));
  }
}

/** A lock held in another process's name: nothing here releases it (that process's end does). */
function heldUntilExit(file: string, holder: LockHolder): HeldLock {
  return { file, holder, release: () => undefined };
}

function hold(file: string, holder: LockHolder): HeldLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Only remove the lock if it is still ours (a takeover after a pause would have replaced it).
    const current = readHolder(file);
    if (current && current.pid === holder.pid && current.since === holder.since) rmSync(file, { force: true });
    process.off("exit", release);
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    // Default behaviour for the signal: the shell sees 128 + its number.
    process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
  };
  process.on("exit", release);
  for (const s of SIGNALS) process.on(s, onSignal);
  return { file, holder, release };
}

/** Runs `body` holding the project lock, releasing it on every way out. */
export async function withProjectLock<T>(dir: string, options: AcquireOptions, body: () => Promise<T>): Promise<T> {
  const lock = await acquireProjectLock(dir, options);
  try {
    return await body();
  } finally {
    lock.release();
  }
}
