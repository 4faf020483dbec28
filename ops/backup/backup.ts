import { statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { ensureDir } from "../common/private-files";
import { readCapabilities } from "../vault/backup-readers";
import { VaultAnswer, VaultEndpoint, vaultCall } from "../vault/client";
import { readErrors, requireSuccess } from "../vault/readers";
import { SNAPSHOT_PATH, downloadSnapshot } from "../vault/snapshot";
import { BackupWriteError, checksumLine, finishPrivateFile, openPrivateTemp, writePrivateText } from "./files";
import { KeystorePaths, caSerial, listKvKeys, roleCertificate, sealStatus } from "./keystore";
import { BackupCheckError } from "./errors";
import { BackupFiles, BackupManifest, ListedBackup, MANIFEST_FORMAT, backupName, filesOf, isFromTheFuture, listBackups, sortByCreation } from "./manifest";

/** How to take a backup. */
export interface BackupOptions {
  /** The server (any node of the cluster: a standby redirects to the active node). */
  readonly endpoint: VaultEndpoint;
  /** VAULT_TOKEN: read on sys/storage/raft/snapshot, list on the kv mount, read on the login role. Never logged. */
  readonly token: string;
  readonly paths: KeystorePaths;
  /** Where the files go; created 0700 when missing, used as it is otherwise. */
  readonly outDir: string;
  /** The clock. @default - the current time */
  readonly now?: () => Date;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
}

/** A backup on disk. */
export interface BackupResult {
  readonly files: BackupFiles;
  readonly manifest: BackupManifest;
  readonly seconds: number;
}

/**
 * Takes a raft snapshot and writes it 0600 with its checksum and manifest.
 * Everything that can be checked is checked before the snapshot is read:
 * the directory is writable, the server uses raft storage and is unsealed,
 * and the token may do what a backup needs. On any failure no file of this
 * backup is left behind.
 */
export async function takeBackup(options: BackupOptions): Promise<BackupResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const { endpoint, token, paths } = options;
  const dir = resolve(options.outDir);
  ensureDir(dir, "backup --out");
  const shared = sharedDirectoryWarning(dir);
  if (shared) log(`warning: ${shared}`);
  const createdAt = (options.now ?? (() => new Date()))();
  const files = filesOf(dir, backupName(createdAt));
  const snapshotName = `${files.name}.snap`;
  // Opened first: an unwritable directory fails here, before Vault is asked anything.
  let opened: Awaited<ReturnType<typeof openPrivateTemp>>;
  try {
    opened = await openPrivateTemp(dir, snapshotName);
  } catch (e) {
    throw e instanceof BackupWriteError ? new Error(`backup --out: ${e.message}. No backup was written.`) : e;
  }
  let finished = false;
  const written: string[] = [];
  try {
    const seal = await sealStatus(endpoint);
    if (seal.storageType !== undefined && seal.storageType !== "raft") throw notRaft(endpoint.addr, seal.storageType);
    if (seal.sealed || !seal.clusterId)
      throw new Error(`the server at ${endpoint.addr} is sealed; unseal it (or give another node in VAULT_ADDR) and back up again`);
    await checkCapabilities(endpoint, token, paths);

    const keys = await listKvKeys(endpoint, token, paths.kvMount);
    log(`${keys.length} archive keys under ${paths.kvMount}/`);
    const intermediate = await caSerial(endpoint, paths.pkiIntMount);
    if (!intermediate)
      throw new Error(
        `${paths.pkiIntMount}/ holds no intermediate CA: this is not a deployed keystore (run \`npm run deploy\`), or pki_int.path is set wrongly`,
      );
    const root = paths.pkiMount ? await caSerial(endpoint, paths.pkiMount) : undefined;
    if (paths.pkiMount && !root) throw new Error(`${paths.pkiMount}/ holds no root CA; with an external root set rootCa.external, or check pki.path`);
    const admin = await roleCertificate(endpoint, token, paths);
    if (!admin)
      throw new Error(
        `auth/${paths.certAuthMount}/certs/${paths.certRole} holds no certificate: deploy the stack first, or check certAuth.path and certRole.name`,
      );

    const download = await downloadSnapshot(endpoint, token);
    if (!download.ok) throw snapshotRefused(endpoint.addr, download.answer);
    if (download.redirects > 0) log(`the snapshot comes from the active node ${download.from} (redirected by ${endpoint.addr})`);
    const snap = await finishPrivateFile(opened, dir, snapshotName, download.body);
    finished = true;
    written.push(snap.file);
    log(`wrote ${snap.file} (${snap.bytes} bytes, 0600)`);
    written.push((await writePrivateText(dir, `${files.name}.snap.sha256`, checksumLine(snap.sha256, snap.file))).file);

    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      snapshot: snapshotName,
      bytes: snap.bytes,
      sha256: snap.sha256,
      createdAt: createdAt.toISOString(),
      server: {
        addr: endpoint.addr,
        ...(download.redirects > 0 ? { activeNode: download.from } : {}),
        version: seal.version,
        clusterId: seal.clusterId,
        clusterName: seal.clusterName,
        storage: "raft",
        seal: { type: seal.type, threshold: seal.threshold, shares: seal.shares },
      },
      kv: { mount: paths.kvMount, count: keys.length, keys },
      ca: { intermediateMount: paths.pkiIntMount, intermediate, ...(paths.pkiMount && root ? { rootMount: paths.pkiMount, root } : {}) },
      adminCertificate: { certAuthMount: paths.certAuthMount, role: paths.certRole, serial: admin.serial, notAfter: admin.notAfter },
    };
    // The manifest comes last: its presence marks a complete backup.
    await writePrivateText(dir, `${files.name}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
    return { files, manifest, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    if (!finished) {
      await opened.handle.close().catch(() => undefined);
      await rm(opened.temp, { force: true });
    }
    await Promise.all(written.map((f) => rm(f, { force: true })));
    if (e instanceof BackupWriteError) throw new Error(`backup --out: ${e.message}. No backup was written.`);
    throw e;
  }
}

/** Records a successful verification in the manifest (replaced atomically); an earlier failure is cleared. */
export async function recordVerification(
  files: BackupFiles,
  manifest: BackupManifest,
  verified: NonNullable<BackupManifest["verified"]>,
): Promise<BackupManifest> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { verifyFailed, ...rest } = manifest;
  return writeManifest(files, { ...rest, verified });
}

/**
 * Records that a verification found the backup bad (damaged, or without what it lists), replacing any
 * earlier success: `health` then reports it, never "verified". A failure of the unseal keys says nothing
 * about the backup and is not recorded.
 */
export async function recordVerificationFailure(
  files: BackupFiles,
  manifest: BackupManifest,
  failure: BackupCheckError,
  at: Date,
): Promise<BackupManifest | undefined> {
  if (failure.failure === "unseal-keys") return undefined;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { verified, ...rest } = manifest;
  return writeManifest(files, { ...rest, verifyFailed: { at: at.toISOString(), failure: failure.failure, message: failure.message } });
}

async function writeManifest(files: BackupFiles, manifest: BackupManifest): Promise<BackupManifest> {
  await writePrivateText(files.dir, `${files.name}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, { replace: true });
  return manifest;
}

/** What retention decided. */
export interface RetentionPlan {
  /** The backups to remove, oldest first. */
  readonly remove: readonly ListedBackup[];
  /** Backups dated after the clock: neither counted nor removed, and reported. */
  readonly future: readonly ListedBackup[];
}

/**
 * Which backups `--keep N` removes: ordered by the manifest's creation time (not the file name), the
 * backup just taken always kept and counted first, the newest N-1 others kept with it. A backup dated
 * after `now` (a clock that jumped, a planted file) is left alone and not counted: it could otherwise
 * push every new backup out.
 */
export function planRetention(backups: readonly ListedBackup[], keep: number, now: Date, justTaken?: string): RetentionPlan {
  const future = backups.filter((b) => b.files.name !== justTaken && isFromTheFuture(b.manifest, now));
  const counted = sortByCreation(backups.filter((b) => b.files.name !== justTaken && !future.includes(b)));
  const othersKept = Math.max(0, keep - (justTaken !== undefined && backups.some((b) => b.files.name === justTaken) ? 1 : 0));
  return { remove: counted.slice(0, Math.max(0, counted.length - othersKept)), future };
}

/**
 * Keeps the newest `keep` complete backups in `dir` (see {@link planRetention}) and removes the files of
 * older ones (snapshot, checksum, manifest). Files that are not complete backups of this tool are never
 * touched, nor is `justTaken`.
 */
export async function applyRetention(dir: string, keep: number, options: { now?: Date; justTaken?: string } = {}): Promise<RetentionPlan> {
  const plan = planRetention(listBackups(dir), keep, options.now ?? new Date(), options.justTaken);
  for (const b of plan.remove) {
    // The manifest goes first: a backup whose removal stops half-way is then ignored, never listed incomplete.
    await rm(b.files.manifest, { force: true });
    await rm(b.files.checksum, { force: true });
    await rm(b.files.snapshot, { force: true });
  }
  return plan;
}

/**
 * A warning when anyone may replace files in `dir`: world-writable without the sticky bit lets every user
 * of the host rename or delete the snapshot, its checksum and the manifest, and put others in their place
 * (the checksum then proves nothing). With the sticky bit (/tmp) only owners may; that is not warned about.
 */
export function sharedDirectoryWarning(dir: string): string | undefined {
  const mode = statSync(dir).mode;
  if ((mode & 0o002) === 0 || (mode & 0o1000) !== 0) return undefined;
  return (
    `backup --out ${dir} is world-writable without the sticky bit (mode ${(mode & 0o7777).toString(8)}): any user of this host can replace ` +
    "the snapshot, its checksum and the manifest there. Use a directory only you may write to (chmod 700), or at least set the sticky bit (chmod +t)"
  );
}

const CAPABILITY_NEEDS = (paths: KeystorePaths): [string, string, string][] => [
  [SNAPSHOT_PATH, "read", "to take the snapshot"],
  [`${paths.kvMount}/`, "list", "to list the archive keys for the manifest"],
  [`auth/${paths.certAuthMount}/certs/${paths.certRole}`, "read", "to record the admin certificate's serial"],
];

/** Fails unless VAULT_TOKEN has every capability a backup uses, naming the ones it lacks. */
async function checkCapabilities(endpoint: VaultEndpoint, token: string, paths: KeystorePaths): Promise<void> {
  const needs = CAPABILITY_NEEDS(paths);
  const answer = await vaultCall(endpoint, { method: "POST", path: "sys/capabilities-self", token, body: { paths: needs.map(([p]) => p) } });
  requireSuccess(answer, "sys/capabilities-self (checking VAULT_TOKEN)");
  const caps = readCapabilities(
    answer,
    needs.map(([p]) => p),
  );
  const lacking = needs.filter(([path, cap]) => !caps[path].includes(cap) && !caps[path].includes("root"));
  if (lacking.length > 0) {
    throw new Error(
      `VAULT_TOKEN may not do what a backup needs: ${lacking.map(([path, cap, why]) => `${cap} on ${path} ${why} (it has: ${caps[path].join(", ") || "none"})`).join("; ")}. ` +
        "Give a token whose policy grants these (docs/backup.md has one); nothing was written",
    );
  }
}

function notRaft(addr: string, storage: string): Error {
  return new Error(
    `the server at ${addr} keeps its data in "${storage}" storage; raft snapshots need integrated storage ("raft"). ` +
      `Back up ${storage} storage with that storage's own tools, or migrate to raft (\`bao operator migrate\`); nothing was written`,
  );
}

function snapshotRefused(addr: string, answer: VaultAnswer): Error {
  const errors = readErrors(answer);
  if (/raft storage is not in use/i.test(errors)) return notRaft(addr, "non-raft");
  if (answer.status === 403) return new Error(`GET ${SNAPSHOT_PATH} was refused (HTTP 403 ${errors}): VAULT_TOKEN may not read it; nothing was written`);
  return new Error(`GET ${SNAPSHOT_PATH} failed: HTTP ${answer.status} ${errors}; nothing was written`);
}
