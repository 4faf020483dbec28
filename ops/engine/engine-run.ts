import { explainStateError } from "./state-files";

/*
 * One engine run as the commands see it: its result, where its output goes,
 * which subcommands write or lock the state, and the error a failed run
 * becomes. ops/engine/deployment.ts runs the engine; this file holds what
 * does not need a deployment.
 */

/** Result of one engine run. */
export interface TofuResult {
  readonly code: number;
  /** The signal that ended the engine, when one did (then `code` is 1). */
  readonly signal?: NodeJS.Signals;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where the engine's output goes while it runs; a command's CommandIo is one. */
export interface EngineOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Engine subcommands that write the state: after one succeeds, the engine is recorded as the state's (`state pull`/`list`/`show` only read it). */
export function writesState(args: readonly string[]): boolean {
  const [command, sub] = args;
  if (command === "state") return ["mv", "rm", "push", "replace-provider"].includes(sub ?? "");
  return ["apply", "destroy", "import"].includes(command ?? "");
}

/** An engine run that failed; `signal` is set when a signal ended it (it did not end on its own). */
export class EngineError extends Error {
  public constructor(
    message: string,
    public readonly signal?: NodeJS.Signals,
    /** The engine refused the plan (an error while planning: a failed precondition or postcondition, …), so it applied nothing. */
    public readonly planningFailed = false,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

/** What OpenTofu and Terraform print when the plan of an apply failed (with or without a partial plan): nothing was applied. */
export const PLANNING_FAILED = /^(Planning failed\.|(OpenTofu|Terraform) planned the following actions, but then encountered a problem:)/m;

/** The state's rotation phase moved since a command read it; nothing was applied. */
export class StateMovedError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "StateMovedError";
  }
}

/**
 * The error for a failed engine run: our explanation of state errors, then
 * the engine's last lines; a run ended by a signal says so.
 */
export function engineFailure(args: readonly string[], result: TofuResult, command: string = "tofu"): string {
  const tail = result.stderr.trim().split("\n").slice(-25).join("\n");
  const explanation = explainStateError(result.stderr);
  const how = result.signal
    ? `was killed by ${result.signal} (out of memory, a timeout or someone stopping it); the state may hold a lock or a partial result: run the command again`
    : `failed (exit ${result.code})`;
  return `${explanation ? explanation + "\n" : ""}${command} ${args[0]} ${how}${tail ? `:\n${tail}` : ""}`;
}

/** Engine subcommands that take the state lock (`state` is followed by its own subcommand). */
const STATE_LOCKING = new Set(["apply", "plan", "destroy", "import", "refresh", "state rm", "state mv", "state push", "state replace-provider"]);

/**
 * Adds `-lock-timeout` to a subcommand that takes the state lock, so that on a
 * backend that locks (pg, s3 with a lock file, consul, http with a lock
 * address; local too) a second run waits up to `lockTimeout` instead of
 * failing at once.
 */
export function withStateLockTimeout(args: readonly string[], seconds: number): string[] {
  const sub = args[0] === "state" ? `state ${args[1]}` : args[0];
  if (!STATE_LOCKING.has(sub)) return [...args];
  const at = args[0] === "state" ? 2 : 1;
  return [...args.slice(0, at), `-lock-timeout=${seconds}s`, ...args.slice(at)];
}
