import { existsSync } from "node:fs";
import { formatWindow } from "../lifecycle/status";
import { newestBackup } from "../backup/manifest";
import { CheckOutcome } from "./report";

/** Where the backups are and how old the newest may be. */
export interface BackupCheckOptions {
  /** The directory `c42-keystore backup` writes to. */
  readonly dir: string;
  /** Seconds; an older newest backup is WARN. */
  readonly maxAgeSeconds: number;
  readonly now: () => Date;
}

/**
 * The age of the newest complete backup (its manifest's `createdAt`; a
 * backup without a manifest is incomplete and not counted). WARN when it is
 * older than the limit or there is none: Code42 still works, but a lost
 * server could not be restored to now. Whether it was verified is reported,
 * not graded; a backup that verify-backup found damaged is WARN, whatever its age. A backup dated
 * after now is never the newest (see newestBackup).
 */
export async function backupOutcome(options: BackupCheckOptions): Promise<CheckOutcome> {
  if (!existsSync(options.dir)) return { state: "UNKNOWN", reason: `${options.dir} does not exist: give the backup directory with --backups DIR` };
  const now = options.now();
  const newest = newestBackup(options.dir, { now });
  if (newest === undefined) return { state: "WARN", reason: `no complete backup in ${options.dir}: run \`npm run backup\`` };
  const created = new Date(newest.manifest.createdAt);
  const age = Math.max(0, Math.floor((now.getTime() - created.getTime()) / 1000));
  const failed = newest.manifest.verifyFailed;
  const values = { backup_age_seconds: age, backup_verified: newest.manifest.verified === undefined ? 0 : 1, backup_verify_failed: failed ? 1 : 0 };
  const verified = newest.manifest.verified
    ? `verified ${newest.manifest.verified.at}`
    : "not verified (`npm run backup -- --verify` restores it into a scratch server)";
  const what = `newest backup ${newest.files.name} taken ${newest.manifest.createdAt} (${formatAge(age)} ago)`;
  if (failed) {
    return {
      state: "WARN",
      reason:
        `${what} FAILED verification ${failed.at} (${failed.failure === "corrupt" ? "damaged" : "incomplete"}: ${failed.message}): ` +
        "it would not restore; take a new backup with `npm run backup -- --verify`",
      values,
    };
  }
  if (age > options.maxAgeSeconds)
    return { state: "WARN", reason: `${what}, ${verified}: older than health.backupMaxAge (${formatWindow(options.maxAgeSeconds)})`, values };
  return { state: "OK", reason: `${what}, ${verified}`, values };
}

/** "3h 5m", "2d 4h", "40s". */
function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m` : `${seconds}s`;
}
