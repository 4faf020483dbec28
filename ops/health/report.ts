/** A check's verdict, as Nagios plugins name them. */
export type HealthState = "OK" | "WARN" | "CRIT" | "UNKNOWN";

/** Exit codes of a Nagios plugin: the probe exits with its worst check's. */
export const NAGIOS_EXIT: Readonly<Record<HealthState, number>> = { OK: 0, WARN: 1, CRIT: 2, UNKNOWN: 3 };

// A check that could not look (UNKNOWN) must not hide one that saw a problem.
const SEVERITY: Readonly<Record<HealthState, number>> = { OK: 0, UNKNOWN: 1, WARN: 2, CRIT: 3 };

/** What one check found: a state, one line for people, and numbers for the Prometheus gauges. */
export interface CheckOutcome {
  readonly state: HealthState;
  /** One line, never a secret. */
  readonly reason: string;
  /** Gauge values by metric name without the `c42_keystore_` prefix, e.g. `raft_voters`. */
  readonly values?: Readonly<Record<string, number>>;
}

/** One check's outcome with its name and how long it took. */
export interface CheckResult extends CheckOutcome {
  /** e.g. "tls", "login". */
  readonly name: string;
  readonly values: Readonly<Record<string, number>>;
  /** Wall-clock time of the check, seconds. */
  readonly seconds: number;
}

/** The probe's verdict; `--json` prints exactly this. */
export interface HealthReport {
  /** The worst state of any check (CRIT, then WARN, then UNKNOWN, then OK). */
  readonly state: HealthState;
  /** The Nagios exit code of `state`. */
  readonly exitCode: number;
  /** When the probe started, ISO 8601. */
  readonly time: string;
  readonly checks: readonly CheckResult[];
}

/** The worst of `states`; OK for none. */
export function worstState(states: readonly HealthState[]): HealthState {
  return states.reduce<HealthState>((worst, s) => (SEVERITY[s] > SEVERITY[worst] ? s : worst), "OK");
}

/** Builds the report from the checks' results. */
export function buildReport(time: Date, checks: readonly CheckResult[]): HealthReport {
  const state = worstState(checks.map((c) => c.state));
  return { state, exitCode: NAGIOS_EXIT[state], time: time.toISOString(), checks };
}
