/**
 * Exit codes of backup, verify-backup and restore, for monitoring: each means
 * one thing. 0, 1 and 2 mean what they mean for every command (done; failed
 * or refused; wrong command line).
 */
export const BACKUP_EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** The snapshot does not match its checksum, or the server refused it as damaged. */
  corrupt: 3,
  /** No unseal keys were given, or they do not open the snapshot. */
  unsealKeys: 4,
  /** The snapshot restored and unsealed, but something the manifest lists is missing or the login failed. */
  content: 5,
} as const;

/** Why a verification or restore stopped, each with its exit code. */
export type BackupFailure = "corrupt" | "unseal-keys" | "content";

const EXIT_OF: Record<BackupFailure, number> = { corrupt: BACKUP_EXIT.corrupt, "unseal-keys": BACKUP_EXIT.unsealKeys, content: BACKUP_EXIT.content };

/** A verdict about the backup itself (not a failure to run): the command exits with its own code. */
export class BackupCheckError extends Error {
  public readonly exitCode: number;

  public constructor(
    public readonly failure: BackupFailure,
    message: string,
  ) {
    super(message);
    this.name = "BackupCheckError";
    this.exitCode = EXIT_OF[failure];
  }
}
