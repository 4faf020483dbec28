/** Latency and outcome figures of one kind of operation. */
export interface OperationStats {
  /** Attempts, failed ones included. */
  readonly count: number;
  readonly ok: number;
  readonly failed: number;
  /** Successful operations per second of the run. */
  readonly perSecond: number;
  /** Milliseconds, over successful attempts; 0 when there were none. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** The nearest-rank percentile of sorted values (`p` in 0..100); 0 for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Figures of one operation from its successful latencies and its failure count over `seconds`. */
export function operationStats(okLatencies: readonly number[], failed: number, seconds: number): OperationStats {
  const sorted = [...okLatencies].sort((a, b) => a - b);
  return {
    count: sorted.length + failed,
    ok: sorted.length,
    failed,
    perSecond: seconds > 0 ? round(sorted.length / seconds) : 0,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : 0),
  };
}

/** The longest stretch (ms) between two successive successes; 0 with fewer than two. */
export function longestGap(successes: readonly number[]): number {
  const times = [...successes].sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return round(gap);
}

const round = (n: number) => Math.round(n * 10) / 10;
