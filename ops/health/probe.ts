import { performance } from "node:perf_hooks";
import { errorMessage } from "../common/errors";
import { Deployment } from "../engine/deployment";
import { formatWindow } from "../lifecycle/status";
import { VaultConnectionError } from "../vault/client";
import { Check, ProbeContext, adminCertCheck, auditCheck, loginCheck, nodeCheck, raftCheck, tlsCheck, transportFailure } from "./checks";
import { BackupCheckOptions, backupOutcome } from "./backup-check";
import { driftOutcome } from "./drift-check";
import { CheckOutcome, CheckResult, HealthReport, HealthState, buildReport } from "./report";

/** How long a check that timed out may take to wind down (close a connection, stop the engine) once aborted. */
export const ABORT_GRACE_MS = 5000;

/** The checks every probe runs, in the order they are reported. */
export const CHECKS: ReadonlyArray<readonly [string, Check]> = [
  ["tls", tlsCheck],
  ["node", nodeCheck],
  ["raft", raftCheck],
  ["audit", auditCheck],
  ["login", loginCheck],
  ["admin_cert", adminCertCheck],
];

/** What {@link runProbe} needs. */
export interface ProbeOptions {
  readonly context: ProbeContext;
  /** Grade the newest backup in this directory. @default - no backup check */
  readonly backups?: BackupCheckOptions;
  /** Run the drift check too (it needs the state and a token that may plan). @default - no drift check */
  readonly drift?: {
    /** A deployment whose engine runs stop when the signal fires. */
    readonly makeDeployment: (signal: AbortSignal) => Deployment;
    readonly timeoutMs: number;
  };
}

/** Runs every check at once, each bounded in time, and reports them all. Changes nothing but the login's token, which it revokes. */
export async function runProbe(options: ProbeOptions): Promise<HealthReport> {
  const ctx = options.context;
  const started = ctx.now();
  const runs = CHECKS.map(([name, check]) => bounded(name, (signal) => check(ctx, signal), ctx.checkTimeoutMs, "CRIT", "the server did not answer in time"));
  const backups = options.backups;
  if (backups) runs.push(bounded("backup", () => backupOutcome(backups), ctx.checkTimeoutMs, "UNKNOWN", "reading the backups took too long"));
  const drift = options.drift;
  if (drift) runs.push(bounded("drift", (signal) => driftOutcome(drift.makeDeployment, signal), drift.timeoutMs, "UNKNOWN", "the drift check was stopped"));
  return buildReport(started, await Promise.all(runs));
}

/**
 * Runs one check with a deadline: past it the check's signal fires (ending
 * its calls and engine runs) and the result is `onTimeout`. Resolves once the
 * check itself has settled, so nothing it started outlives the probe; a check
 * that ignored its signal is waited for {@link ABORT_GRACE_MS} more at most,
 * so the probe never hangs.
 */
export async function bounded(
  name: string,
  run: (signal: AbortSignal) => Promise<CheckOutcome>,
  timeoutMs: number,
  onTimeout: HealthState,
  timeoutReason: string,
): Promise<CheckResult> {
  const controller = new AbortController();
  const t0 = performance.now();
  const work = run(controller.signal).catch(failure);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<CheckOutcome>((resolvePromise) => {
    timer = setTimeout(() => {
      controller.abort();
      resolvePromise({ state: onTimeout, reason: `${timeoutReason}: no result within ${formatWindow(Math.ceil(timeoutMs / 1000))}` });
    }, timeoutMs);
  });
  const outcome = await Promise.race([work, deadline]);
  clearTimeout(timer);
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolvePromise) => (grace = setTimeout(resolvePromise, ABORT_GRACE_MS).unref()))]);
  clearTimeout(grace);
  const seconds = Math.round(performance.now() - t0) / 1000;
  return { name, state: outcome.state, reason: outcome.reason, values: outcome.values ?? {}, seconds };
}

/** A check that threw: CRIT when Vault could not be reached or trusted, UNKNOWN when the check itself could not finish. */
function failure(e: unknown): CheckOutcome {
  if (e instanceof VaultConnectionError) return transportFailure(e);
  return { state: "UNKNOWN", reason: `the check failed: ${errorMessage(e).split("\n")[0]}` };
}
