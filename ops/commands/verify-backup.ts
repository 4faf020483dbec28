import { recordVerification, recordVerificationFailure } from "../backup/backup";
import { BackupFiles, BackupManifest, backupFiles, readManifest } from "../backup/manifest";
import { BackupCheckError } from "../backup/errors";
import { verifyBackup } from "../backup/verify";
import { errorMessage } from "../common/errors";
import { BackupSurroundings, CHECK_HELP, CHECK_OPTIONS, EXIT_HELP, bundleFrom, processSurroundings, verifiedLines } from "./backup";
import { CommandIo, CommandSpec, UsageError, nonEmptyPath, runCommand } from "./command";

export const VERIFY_BACKUP: CommandSpec<typeof CHECK_OPTIONS> = {
  name: "verify-backup",
  synopsis: "FILE [--unseal-keys FILE] [--bundle DIR] [--skip-login] [--json]",
  summary: "prove a backup restores: scratch server, every archive key, CA, admin login",
  details: `  FILE is a backup's .snap (its .snap.sha256 and .manifest.json lie beside it).
  Checks the SHA-256, starts a scratch OpenBao (production mode, TLS, loopback, a temporary
  directory), restores the snapshot there, unseals it with the original cluster's unseal keys,
  and checks that every archive key the manifest lists reads back, that the CA chain and the
  admin certificate are there, and that crashplan.p12 logs in. The scratch server is stopped
  and deleted on every path. A success is recorded in the manifest ("verified").
${CHECK_HELP}${EXIT_HELP}`,
  options: CHECK_OPTIONS,
  positionals: ["FILE"],
};

/** `verify-backup FILE`: 0 verified, else the code of BACKUP_EXIT. */
export function verifyBackupMain(argv: readonly string[], io: CommandIo, surroundings: () => BackupSurroundings = processSurroundings): Promise<number> {
  return runCommand(VERIFY_BACKUP, argv, io, async ({ values, positionals }) => {
    const file = nonEmptyPath("FILE", positionals[0]);
    if (file === undefined) throw new UsageError("expected the backup's .snap file");
    const unsealKeysFile = nonEmptyPath("--unseal-keys", values["unseal-keys"]);
    const bundle = bundleFrom(values);
    const s = surroundings();
    const log = (line: string) => io.stderr(`${line}\n`);
    try {
      const report = await verifyBackup({
        file,
        unsealKeys: { file: unsealKeysFile, env: s.env, localServerDir: s.localServerDir },
        baoBinary: s.baoBinary(),
        bundle,
        log,
      });
      const verified = {
        at: new Date().toISOString(),
        keysChecked: report.content.keysChecked,
        login: report.content.login,
        seconds: report.seconds,
        serverVersion: report.serverVersion,
      };
      try {
        await recordVerification(report.files, report.manifest, verified);
      } catch (e) {
        io.stderr(`verify-backup: verified, but the result could not be recorded in ${report.files.manifest}: ${errorMessage(e)}\n`);
      }
      io.stdout(values.json ? `${JSON.stringify({ ok: true, snapshot: report.files.snapshot, ...verified }, null, 2)}\n` : verifiedLines(report));
      return 0;
    } catch (e) {
      if (!(e instanceof BackupCheckError)) throw e;
      io.stderr(`verify-backup: ${file} does NOT verify: ${e.message}\n`);
      await recordFailure(file, e, io);
      if (values.json) io.stdout(`${JSON.stringify({ ok: false, snapshot: file, failure: e.failure, message: e.message }, null, 2)}\n`);
      return e.exitCode;
    }
  });
}

/** Records a damaged backup in its manifest, so `health` reports it; a manifest that cannot be read is left alone. */
async function recordFailure(file: string, failure: BackupCheckError, io: CommandIo): Promise<void> {
  let files: BackupFiles;
  let manifest: BackupManifest;
  try {
    files = backupFiles(file);
    manifest = readManifest(files.manifest);
  } catch {
    return;
  }
  try {
    if (await recordVerificationFailure(files, manifest, failure, new Date()))
      io.stderr(`verify-backup: recorded in ${files.manifest} (health reports this backup as failed, not verified)\n`);
  } catch (e) {
    io.stderr(`verify-backup: the failure could not be recorded in ${files.manifest}: ${errorMessage(e)}\n`);
  }
}
