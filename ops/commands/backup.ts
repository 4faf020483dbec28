import { resolve } from "node:path";
import { loadConfig } from "../../lib/config";
import { applyRetention, recordVerification, recordVerificationFailure, takeBackup } from "../backup/backup";
import { BACKUP_EXIT, BackupCheckError } from "../backup/errors";
import { keystorePaths } from "../backup/keystore";
import { readLoginBundle } from "../backup/login-bundle";
import { UNSEAL_KEYS_ENV } from "../backup/unseal-keys";
import { VerifyReport, verifyBackup } from "../backup/verify";
import { errorMessage } from "../common/errors";
import { DEFAULT_BUNDLE_DIR, DEFAULT_SERVER_DIR, LOCAL_DIR, PROJECT_DIR } from "../common/paths";
import { resolveVaultEnv } from "../engine/deployment";
import { locateBao } from "../engine/toolchain";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { CommandIo, CommandSpec, UsageError, nonEmptyPath, runCommand, wholeNumber } from "./command";

/** Where the backup commands find their surroundings; tests pass their own. */
export interface BackupSurroundings {
  /** VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN, C42_* settings, C42_UNSEAL_KEYS. */
  readonly env: NodeJS.ProcessEnv;
  /** The project directory (configuration file). */
  readonly projectDir: string;
  /** The project's local server, whose stored key opens its own snapshots. */
  readonly localServerDir: string;
  /** The `bao` binary for scratch servers. */
  readonly baoBinary: () => string;
  /** Asks the operator (restore); resolves to the answer. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

/** The real surroundings: the process environment (with .local/vault.env when VAULT_ADDR is unset), the repository. */
export function processSurroundings(): BackupSurroundings {
  return { env: resolveVaultEnv(process.env, PROJECT_DIR), projectDir: PROJECT_DIR, localServerDir: DEFAULT_SERVER_DIR, baoBinary: locateBao };
}

export const DEFAULT_BACKUP_DIR = resolve(LOCAL_DIR, "backups");

/** Options the three backup commands share: the unseal keys and the login check. */
export const CHECK_OPTIONS = {
  "unseal-keys": { type: "string" },
  bundle: { type: "string" },
  "skip-login": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

export const CHECK_HELP = `  --unseal-keys FILE  the snapshot's cluster's unseal keys, one per line (or the JSON of \`bao operator init\`),
                      in a file only you can read; or set ${UNSEAL_KEYS_ENV}. Never on the command line.
                      A snapshot of the project's own local server (.local/server) opens with its stored key.
  --bundle DIR        crashplan.p12 and its password file for the login check (default ${DEFAULT_BUNDLE_DIR})
  --skip-login        do not check the login with crashplan.p12
  --json              print the result as JSON
`;

export const EXIT_HELP = `  Exit codes: 0 done; 1 failed or refused; 2 wrong command line; 3 the snapshot is damaged
  (checksum or the server refused it); 4 unseal keys missing or wrong; 5 restored but something
  the manifest lists is missing, or the login failed.
`;

const OPTIONS = { out: { type: "string" }, keep: { type: "string" }, verify: { type: "boolean", default: false }, ...CHECK_OPTIONS } as const;

export const BACKUP: CommandSpec<typeof OPTIONS> = {
  name: "backup",
  synopsis: "[--out DIR] [--keep N] [--verify] [--unseal-keys FILE] [--bundle DIR] [--skip-login] [--json]",
  summary: "raft snapshot (0600) + SHA-256 + manifest; --verify restores it into a scratch server",
  details: `  Takes a raft snapshot from the active node (a standby's redirect is followed) with
  VAULT_ADDR/VAULT_TOKEN, and writes <name>.snap (0600), <name>.snap.sha256 and
  <name>.manifest.json (no secrets) under a temporary name first: a failure leaves nothing.
  The token needs read on sys/storage/raft/snapshot, list on the kv mount and read on the
  login role (docs/backup.md).
  --out DIR           where the files go (default ${DEFAULT_BACKUP_DIR}); created 0700 when missing
  --keep N            after a successful (and, with --verify, verified) backup, keep the newest N
                      backups in DIR and remove older ones
  --verify            restore the new snapshot into a scratch server and check it (see verify-backup)
${CHECK_HELP}${EXIT_HELP}`,
  options: OPTIONS,
};

/** The bounds of --keep. */
export const KEEP_BOUNDS = { min: 1, max: 999_999 } as const;

/** Parses --keep: a whole number from 1 up. */
export function parseKeep(value: string | undefined): number | undefined {
  return value === undefined ? undefined : wholeNumber("--keep", value, KEEP_BOUNDS);
}

/** The login bundle the options ask for, or undefined with --skip-login. */
export function bundleFrom(values: { bundle?: string; "skip-login"?: boolean }): ReturnType<typeof readLoginBundle> | undefined {
  const dir = nonEmptyPath("--bundle", values.bundle);
  if (values["skip-login"]) {
    if (dir !== undefined) throw new UsageError("--bundle and --skip-login contradict each other; give one");
    return undefined;
  }
  return readLoginBundle(dir ?? DEFAULT_BUNDLE_DIR, dir === undefined ? `the default bundle directory ${DEFAULT_BUNDLE_DIR}` : "--bundle");
}

/** Prints a verification and returns its lines. */
export function verifiedLines(report: VerifyReport): string {
  const c = report.content;
  return (
    `verified in a scratch server (${report.serverProduct} ${report.serverVersion}, ${report.seconds.toFixed(1)} s): ${c.keysChecked} archive keys read back, ` +
    `CA ${c.caRoot ? `root ${c.caRoot} + ` : ""}intermediate ${c.caIntermediate}, admin certificate ${c.adminSerial}, login ${c.login}\n`
  );
}

/** `backup`: 0 written (and verified with --verify), else the code of {@link BACKUP_EXIT}. */
export function backupMain(argv: readonly string[], io: CommandIo, surroundings: () => BackupSurroundings = processSurroundings): Promise<number> {
  return runCommand(BACKUP, argv, io, async ({ values }) => {
    const out = resolve(nonEmptyPath("--out", values.out) ?? DEFAULT_BACKUP_DIR);
    const keep = parseKeep(values.keep);
    const unsealKeysFile = nonEmptyPath("--unseal-keys", values["unseal-keys"]);
    if (!values.verify && (unsealKeysFile !== undefined || values.bundle !== undefined || values["skip-login"])) {
      throw new UsageError("--unseal-keys, --bundle and --skip-login belong to --verify; add --verify or leave them out");
    }
    const bundle = values.verify ? bundleFrom(values) : undefined;
    const s = surroundings();
    const config = loadConfig({ env: s.env, cwd: s.projectDir });
    const endpoint = endpointFromEnv(s.env);
    const token = vaultToken(s.env);
    const log = (line: string) => io.stderr(`${line}\n`);

    const backup = await takeBackup({ endpoint, token, paths: keystorePaths(config), outDir: out, log });
    const m = backup.manifest;
    const result: Record<string, unknown> = {
      snapshot: backup.files.snapshot,
      manifest: backup.files.manifest,
      bytes: m.bytes,
      sha256: m.sha256,
      keys: m.kv.count,
      seconds: backup.seconds,
    };
    const lines = [
      `backup:   ${backup.files.snapshot} (${m.bytes} bytes, 0600, ${backup.seconds.toFixed(1)} s)`,
      `checksum: ${backup.files.checksum} (sha256 ${m.sha256})`,
      `manifest: ${backup.files.manifest} (${m.kv.count} archive keys, admin certificate ${m.adminCertificate.serial})`,
      m.server.seal.type === "shamir"
        ? `It opens only with the unseal keys of cluster ${m.server.clusterId} (${m.server.seal.threshold} of ${m.server.seal.shares}): keep them, apart from this file.`
        : `It opens only through cluster ${m.server.clusterId}'s seal (${m.server.seal.type}), and its checks need the recovery keys (${m.server.seal.threshold} of ${m.server.seal.shares}): keep the seal's key and the recovery keys, apart from this file.`,
    ];
    let code: number = BACKUP_EXIT.ok;
    if (values.verify) {
      try {
        const report = await verifyBackup({
          file: backup.files.snapshot,
          unsealKeys: { file: unsealKeysFile, env: s.env, localServerDir: s.localServerDir },
          baoBinary: s.baoBinary(),
          bundle,
          log,
        });
        lines.push(verifiedLines(report).trimEnd());
        const verified = {
          at: new Date().toISOString(),
          keysChecked: report.content.keysChecked,
          login: report.content.login,
          seconds: report.seconds,
          serverVersion: report.serverVersion,
        };
        await recordVerification(backup.files, m, verified);
        result.verified = verified;
      } catch (e) {
        if (!(e instanceof BackupCheckError)) throw new Error(`the backup was written (${backup.files.snapshot}) but verifying it failed: ${errorMessage(e)}`);
        io.stderr(`backup: the backup was written (${backup.files.snapshot}) but does NOT verify: ${e.message}\n`);
        await recordVerificationFailure(backup.files, m, e, new Date()).catch((r: unknown) =>
          io.stderr(`backup: the failure could not be recorded in ${backup.files.manifest}: ${errorMessage(r)}\n`),
        );
        result.verifyFailure = { failure: e.failure, message: e.message };
        code = e.exitCode;
      }
    }
    if (keep !== undefined) {
      if (code === BACKUP_EXIT.ok) {
        const plan = await applyRetention(out, keep, { justTaken: backup.files.name });
        const removed = plan.remove.map((b) => b.files.name);
        result.removed = removed;
        lines.push(
          removed.length > 0
            ? `retention: kept the newest ${keep} by creation time (this backup among them), removed ${removed.join(", ")}`
            : `retention: ${keep} or fewer backups in ${out}; nothing removed`,
        );
        if (plan.future.length > 0) {
          result.ignoredFuture = plan.future.map((b) => b.files.name);
          io.stderr(
            `backup: warning: ${plan.future.map((b) => `${b.files.name} (created ${b.manifest.createdAt})`).join(", ")} ` +
              `claim${plan.future.length === 1 ? "s" : ""} to be taken after now (${new Date().toISOString()}): a clock that jumped, or files someone placed in ${out}. ` +
              "Retention neither counts nor removes them; check them and remove them by hand\n",
          );
        }
      } else {
        lines.push("retention: skipped, since this backup did not verify (older backups are kept)");
      }
    }
    io.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${lines.join("\n")}\n`);
    return code;
  });
}
