import { existsSync, readFileSync, statSync } from "node:fs";
import { VaultAnswer } from "../vault/client";
import { readErrors } from "../vault/readers";
import { BackupCheckError } from "./errors";
import { parseChecksum, sha256File } from "./files";
import { BackupFiles, BackupManifest, backupFiles, readManifest } from "./manifest";

/** A backup whose files agree: the snapshot's SHA-256 matches both the checksum file and the manifest. */
export interface CheckedBackup {
  readonly files: BackupFiles;
  readonly manifest: BackupManifest;
}

/** Reads the manifest of the backup `file` belongs to and checks the snapshot against its checksums (exit 3 on a mismatch). */
export async function checkBackupFiles(file: string): Promise<CheckedBackup> {
  const files = backupFiles(file);
  if (!existsSync(files.snapshot)) throw new Error(`${files.snapshot} does not exist`);
  if (!statSync(files.snapshot).isFile()) throw new Error(`${files.snapshot} is not a regular file`);
  const manifest = readManifest(files.manifest);
  const actual = await sha256File(files.snapshot);
  const recorded = existsSync(files.checksum) ? parseChecksum(readFileSync(files.checksum, "utf8"), files.snapshot) : undefined;
  if (existsSync(files.checksum) && recorded === undefined)
    throw new BackupCheckError("corrupt", `${files.checksum} is not a sha256sum line for ${files.name}.snap`);
  for (const [what, expected] of [["the manifest", manifest.sha256], ...(recorded ? [[files.checksum, recorded]] : [])]) {
    if (actual !== expected) {
      throw new BackupCheckError(
        "corrupt",
        `${files.snapshot} is damaged: its SHA-256 is ${actual}, ${what} records ${expected} (${statSync(files.snapshot).size} bytes now, ${manifest.bytes} when taken). Use another backup`,
      );
    }
  }
  return { files, manifest };
}

/** A backup to restore: its manifest may be missing (a bare .snap, in a disaster). */
export interface RestorableBackup {
  readonly files: BackupFiles;
  readonly manifest: BackupManifest | undefined;
}

/**
 * As {@link checkBackupFiles}, for a restore: a snapshot whose manifest is missing is restored all the
 * same, with a warning (in a disaster there is nothing left to back up again). Its checksum file, when
 * there, must still match. A manifest that is there but unreadable still fails: it may be tampered with.
 */
export async function checkRestorableFiles(file: string, log: (line: string) => void): Promise<RestorableBackup> {
  const files = backupFiles(file);
  if (existsSync(files.manifest)) return checkBackupFiles(file);
  if (!existsSync(files.snapshot)) throw new Error(`${files.snapshot} does not exist`);
  if (!statSync(files.snapshot).isFile()) throw new Error(`${files.snapshot} is not a regular file`);
  let checksum = "no checksum file either, so only the scratch server can tell whether it is damaged";
  if (existsSync(files.checksum)) {
    const recorded = parseChecksum(readFileSync(files.checksum, "utf8"), files.snapshot);
    if (recorded === undefined) throw new BackupCheckError("corrupt", `${files.checksum} is not a sha256sum line for ${files.name}.snap`);
    const actual = await sha256File(files.snapshot);
    if (actual !== recorded)
      throw new BackupCheckError(
        "corrupt",
        `${files.snapshot} is damaged: its SHA-256 is ${actual}, ${files.checksum} records ${recorded}. Use another backup`,
      );
    checksum = `its checksum file matches`;
  }
  log(
    `warning: ${files.manifest} is missing; restoring without it (${checksum}). The snapshot is still proven in a scratch server first ` +
      "(it loads, and the unseal keys open it), but afterwards the archive keys cannot be compared with the list a manifest holds",
  );
  return { files, manifest: undefined };
}

/** Turns the server's refusal of an uploaded snapshot into a clear error (exit 3 when it says the snapshot is damaged). */
export function uploadRefused(file: string, answer: VaultAnswer): Error {
  const errors = readErrors(answer)
    .replace(/\s*\n\s*/g, " ")
    .trim();
  if (/integrity|hash check|checksum|gzip|tar|unexpected EOF|invalid header/i.test(errors)) {
    return new BackupCheckError("corrupt", `the server refused ${file} as damaged: ${errors}`);
  }
  if (answer.status === 403) return new Error(`restoring the snapshot was refused (HTTP 403 ${errors}): the token may not update sys/storage/raft/snapshot`);
  return new Error(`restoring ${file} failed: HTTP ${answer.status} ${errors}`);
}
