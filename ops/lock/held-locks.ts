import { join } from "node:path";
import { ensureDir } from "../common/private-files";
import { AcquireOptions, HeldLock, acquireProjectLock } from "./project-lock";

/*
 * The project lock as the engine driver takes it: once per project directory
 * and process, on the first step that writes cdktf.out or runs the engine, and
 * held until the command ends (runCommand releases every held lock) or the
 * process exits. Re-entrant, so one command's several deployments of the same
 * checkout never wait for themselves.
 */

const held = new Map<string, HeldLock>();
let commandName = "c42-keystore";

/** Names the running command in the lock file, for whoever has to wait for it. */
export function setLockCommandName(name: string): void {
  commandName = name;
}

/** The directory of a project's lock file. */
export const lockDir = (projectDir: string) => join(projectDir, ".local", "lock");

/**
 * Takes the lock of `projectDir` for this process unless it holds it already;
 * waits up to `timeoutMs` for another holder (see acquireProjectLock). With
 * `owner`, in the name of that process, until it ends.
 */
export async function holdProjectLock(projectDir: string, timeoutMs: number, log: (line: string) => void, owner?: AcquireOptions["owner"]): Promise<void> {
  if (held.has(projectDir)) return;
  const dir = lockDir(projectDir);
  ensureDir(dir, "the project lock directory");
  held.set(projectDir, await acquireProjectLock(dir, { command: commandName, timeoutMs, log, owner }));
}

/** Releases every project lock this process holds (the end of a command). */
export function releaseProjectLocks(): void {
  for (const lock of held.values()) lock.release();
  held.clear();
}
