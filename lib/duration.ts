import { KeystoreValidationError } from "./errors";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/**
 * The longest duration any setting accepts: 100 years (876000h). Go's
 * `time.Duration`, which Vault parses TTLs into, ends at about 292 years;
 * past it Vault rejects the value only during the apply, and past 2^53
 * seconds JavaScript would write it in exponent form ("3.6e+25s").
 */
export const MAX_DURATION_SECONDS = 876000 * 3600;

/**
 * Parses a Vault duration ("60s", "43800h", "1h30m", "30d" or a bare number of
 * seconds) into seconds. Throws a {@link KeystoreValidationError} naming `setting`.
 */
export function parseDuration(setting: string, value: string | number, constructPath?: string): number {
  const seconds = tryParseDuration(value);
  if (seconds === undefined) {
    throw new KeystoreValidationError(setting, value, 'is not a duration; expected a positive Vault duration such as "60s", "8760h" or "30d"', constructPath);
  }
  if (seconds > MAX_DURATION_SECONDS) {
    throw new KeystoreValidationError(
      setting,
      value,
      `is longer than this project accepts; expected at most ${MAX_DURATION_SECONDS / 3600}h (100 years, well inside Go's 292-year duration limit that Vault parses TTLs with)`,
      constructPath,
    );
  }
  return seconds;
}

function tryParseDuration(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value > 0 ? value : undefined;
  }
  const text = value.trim();
  // Longer strings are either not durations or far past MAX_DURATION_SECONDS.
  if (text.length > 32) return undefined;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n > 0 ? n : undefined;
  }
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_SECONDS[unit];
  }
  return total > 0 ? total : undefined;
}

/**
 * Renders seconds the way the Vault provider reads tune durations back
 * (Go's `time.Duration.String()` with a trailing "0s"/"0m" dropped: 60 → "1m",
 * 3600 → "1h", 90 → "1m30s"), so what we write equals what it reads and the
 * plan shows no perpetual diff.
 */
export function formatProviderDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) {
    if (seconds !== 0) return `${hours}h${minutes}m${seconds}s`;
    return minutes === 0 ? `${hours}h` : `${hours}h${minutes}m`;
  }
  if (minutes > 0) return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Renders seconds as whole hours when exact ("87600h"), else as seconds ("90s"). */
export function formatHours(totalSeconds: number): string {
  return totalSeconds % 3600 === 0 ? `${totalSeconds / 3600}h` : `${totalSeconds}s`;
}
