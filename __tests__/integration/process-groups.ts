// Commands run as a person or a CI job runs them: each in a process group of its own, so a kill reaches the
// engine and its provider plugins too. Not a test file: jest's testMatch is `**/*.test.ts`.

import { ChildProcess, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** How a command run in its own process group ended. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr together, in the order they arrived. */
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from the start to the end, in seconds. */
  readonly seconds: number;
}

/** A command running in its own process group. */
export interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** Whether the process has ended. */
  ended(): boolean;
  /** What it wrote so far (stdout and stderr). */
  output(): string;
}

/** Waits, bounded, until `check` holds; false when `stop` holds first (the process it waits on ended). */
export async function until(what: string, check: () => Promise<boolean> | boolean, stop: () => boolean = () => false, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (stop()) return false;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Process ids in process group `group` whose argv satisfies `match` (read from /proc). */
export function processesInGroup(group: number, match: (argv: string[]) => boolean = () => true): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp !== group) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (match(argv)) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

/** SIGKILLs the process group `child` leads, if any of it is left. */
export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // the group is gone
  }
}

/**
 * The commands a test started, each in a process group of its own; `stopAll`
 * SIGKILLs what is left of them and waits until nothing of them runs.
 */
export class ProcessGroups {
  private readonly children: ChildProcess[] = [];

  /**
   * Starts `command` in a process group of its own, collecting stdout and stderr (apart and together).
   * Secrets go in `env`, never in `args`; nothing here prints what the command wrote.
   */
  public start(command: string, args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): Running {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.children.push(child);
    let output = "";
    let stdout = "";
    let stderr = "";
    let ended = false;
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      output += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      output += d.toString();
    });
    const done = new Promise<Finished>((finish, fail) => {
      // A command that cannot be started (not found, not executable) ends the wait with the reason.
      child.on("error", (error) => {
        ended = true;
        fail(error);
      });
      child.on("close", (code, signal) => {
        ended = true;
        // Provider plugins outlive a killed engine: end whatever is left of the group.
        killGroup(child);
        finish({ code, signal, output, stdout, stderr, seconds: (Date.now() - started) / 1000 });
      });
    });
    return { child, done, ended: () => ended, output: () => output };
  }

  /** Runs `command` to its end in a process group of its own (see `start`) and says how it ended. */
  public run(command: string, args: readonly string[], options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv }): Promise<Finished> {
    return this.start(command, args, options).done;
  }

  /** SIGKILLs every group started, then waits (bounded) until none of their processes is left. */
  public async stopAll(): Promise<void> {
    const groups = this.children.splice(0);
    for (const child of groups) killGroup(child);
    await until(
      "the commands' process groups to end",
      () => groups.every((c) => processesInGroup(c.pid!).length === 0),
      () => false,
      10_000,
    );
  }
}
