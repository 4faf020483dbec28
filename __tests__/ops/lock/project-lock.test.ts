import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { acquireProjectLock, holderAlive, LockHolder, processStartTicks, ProjectLockBusyError } from "../../../ops/lock/project-lock";

const PROJECT = resolve(__dirname, "..", "..", "..");
let dir: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keystore-lock-"));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const lockFile = () => join(dir, "project.lock");
const readLock = () => JSON.parse(readFileSync(lockFile(), "utf8")) as LockHolder;

/** A real other process, and a lock file naming it, as a holder in another shell would leave. */
function otherHolder(command: string): { child: ChildProcess; holder: LockHolder } {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  children.push(child);
  const holder: LockHolder = { command, pid: child.pid!, startTicks: processStartTicks(child.pid!), host: hostname(), since: "2026-11-27T03:00:00.000Z" };
  writeFileSync(lockFile(), JSON.stringify(holder));
  return { child, holder };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done({ code: child.exitCode, signal: child.signalCode });
    else child.on("exit", (code, signal) => done({ code, signal }));
  });
}

/** A node process that takes the lock, prints "held", and waits to be signalled. */
function holderProcess(): Promise<ChildProcess> {
  const script = `
    const { acquireProjectLock } = require("./ops/lock/project-lock");
    acquireProjectLock(${JSON.stringify(dir)}, { command: "deploy", timeoutMs: 0 }).then(() => {
      process.stdout.write("held\\n");
      setTimeout(() => {}, 60000);
    });`;
  const child = spawn(process.execPath, ["-r", "ts-node/register", "-e", script], {
    cwd: PROJECT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((done, fail) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("held") && done(child));
    child.on("exit", (code) => fail(new Error(`holder exited early (${code})`)));
  });
}

test("the lock names its holder and is gone after release", async () => {
  const lock = await acquireProjectLock(dir, { command: "deploy", timeoutMs: 0 });
  expect(readLock()).toMatchObject({ command: "deploy", pid: process.pid, host: hostname() });
  lock.release();
  expect(existsSync(lockFile())).toBe(false);
  lock.release(); // idempotent
});

test("a live holder makes a second taker wait, then fail with one line naming it", async () => {
  const { holder } = otherHolder("deploy");
  const lines: string[] = [];
  const started = Date.now();
  const attempt = acquireProjectLock(dir, { command: "drift", timeoutMs: 600, pollMs: 50, log: (l) => lines.push(l) });
  await expect(attempt).rejects.toThrow(ProjectLockBusyError);
  await expect(attempt).rejects.toThrow(
    new RegExp(
      `^another command holds the project lock: deploy \\(pid ${holder.pid} on ${hostname()}, since 2026-11-27T03:00:00.000Z\\); waited 1s\\. Let it finish, or raise lockTimeout`,
    ),
  );
  expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  expect(lines).toEqual([`waiting for deploy (pid ${holder.pid}, since 2026-11-27T03:00:00.000Z) to finish; up to 1s`]);
  expect(readLock()).toEqual(holder); // untouched
});

test("the waiter gets the lock as soon as the holder lets go", async () => {
  const first = await acquireProjectLock(dir, { command: "deploy", timeoutMs: 0 });
  setTimeout(() => first.release(), 300);
  const second = await acquireProjectLock(dir, { command: "deploy", timeoutMs: 5000, pollMs: 50 });
  expect(readLock()).toMatchObject({ pid: process.pid, since: second.holder.since });
  second.release();
});

test("a lock whose holder was SIGKILLed is recognised as stale and taken over, saying so", async () => {
  const child = await holderProcess();
  const before = readLock();
  expect(before.pid).toBe(child.pid);
  child.kill("SIGKILL");
  await exited(child);
  expect(existsSync(lockFile())).toBe(true); // SIGKILL leaves it behind
  const lines: string[] = [];
  const lock = await acquireProjectLock(dir, { command: "deploy", timeoutMs: 0, log: (l) => lines.push(l) });
  expect(lines).toEqual([`the project lock was left by deploy (pid ${child.pid}, since ${before.since}), which is no longer running; taking it over`]);
  expect(readLock().pid).toBe(process.pid);
  lock.release();
});

test("SIGTERM releases the lock and exits 143", async () => {
  const child = await holderProcess();
  expect(existsSync(lockFile())).toBe(true);
  child.kill("SIGTERM");
  expect(await exited(child)).toEqual({ code: 143, signal: null });
  expect(existsSync(lockFile())).toBe(false);
});

test("a reused pid (same pid, other start time) does not keep a stale lock alive", () => {
  const holder: LockHolder = { command: "deploy", pid: process.pid, startTicks: (processStartTicks(process.pid) ?? 0) + 1, host: hostname(), since: "x" };
  expect(holderAlive(holder)).toBe(false);
  expect(holderAlive({ ...holder, startTicks: processStartTicks(process.pid) })).toBe(true);
});

test("a holder on another host is assumed alive (its pid means nothing here)", () => {
  expect(holderAlive({ command: "deploy", pid: 999999, host: "other-host.example", since: "x" })).toBe(true);
});

describe("a lock taken in the name of another process (the cdktf CLI, by the app it runs)", () => {
  test("names that process, outlives release(), and is taken at once when that process asks again", async () => {
    const owner = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(owner);
    const ownerId = { pid: owner.pid!, startTicks: processStartTicks(owner.pid!) };
    const lock = await acquireProjectLock(dir, { command: "cdktf deploy", timeoutMs: 0, owner: ownerId });
    expect(readLock()).toMatchObject({ command: "cdktf deploy", pid: owner.pid, startTicks: ownerId.startTicks, untilExit: true });
    lock.release();
    expect(existsSync(lockFile())).toBe(true); // held until that process ends
    const since = readLock().since;
    // A second app run of the same CLI (cdktf watch) holds it already.
    await acquireProjectLock(dir, { command: "cdktf deploy", timeoutMs: 0, owner: ownerId });
    expect(readLock().since).toBe(since);
    // Anyone else waits for it.
    await expect(acquireProjectLock(dir, { command: "deploy", timeoutMs: 100, pollMs: 20 })).rejects.toThrow(
      new RegExp(`^another command holds the project lock: cdktf deploy \\(pid ${owner.pid} on `),
    );
  });

  test("once that process has ended, the next taker takes it over without a warning (that is how it ends)", async () => {
    const owner = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(owner);
    await acquireProjectLock(dir, { command: "cdktf deploy", timeoutMs: 0, owner: { pid: owner.pid!, startTicks: processStartTicks(owner.pid!) } });
    owner.kill("SIGKILL");
    await exited(owner);
    const lines: string[] = [];
    const lock = await acquireProjectLock(dir, { command: "deploy", timeoutMs: 0, log: (l) => lines.push(l) });
    expect(lines).toEqual([]);
    expect(readLock()).toMatchObject({ command: "deploy", pid: process.pid });
    expect(readLock().untilExit).toBeUndefined();
    lock.release();
  });
});
