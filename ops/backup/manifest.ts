import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/*
 * A backup is three files side by side, named after the time it was taken:
 *   c42-keystore-20261127T031500123Z.snap           the raft snapshot (0600)
 *   c42-keystore-20261127T031500123Z.snap.sha256    its SHA-256, as `sha256sum -c` reads it
 *   c42-keystore-20261127T031500123Z.manifest.json  what it holds, without a secret (written last)
 * A backup without a manifest is incomplete and ignored. docs/backup.md
 * documents the manifest for other readers (monitoring, the health probe).
 */

export const MANIFEST_FORMAT = "c42-keystore-backup/1";
export const BACKUP_PREFIX = "c42-keystore-";
const NAME = /^c42-keystore-\d{8}T\d{9}Z$/;

/** The manifest: what a snapshot holds and where it came from. Paths and serials, never a value, key or token. */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** The snapshot's file name (in the manifest's directory). */
  readonly snapshot: string;
  readonly bytes: number;
  /** SHA-256 of the snapshot, lower-case hex. */
  readonly sha256: string;
  /** When the snapshot was taken, ISO 8601 UTC. */
  readonly createdAt: string;
  readonly server: {
    /** VAULT_ADDR the backup was taken through (the snapshot itself comes from the active node). */
    readonly addr: string;
    /** The active node that answered, when a standby redirected the request. */
    readonly activeNode?: string;
    readonly version: string;
    /** The cluster whose unseal keys open the snapshot. */
    readonly clusterId: string;
    readonly clusterName?: string;
    readonly storage: "raft";
    /** Seal type and how many of how many keys unseal it. */
    readonly seal: { readonly type: string; readonly threshold: number; readonly shares: number };
  };
  /** The archive keys under the kv mount, by path relative to the mount. */
  readonly kv: { readonly mount: string; readonly count: number; readonly keys: readonly string[] };
  /** Serial numbers (`1a:2b:…`) of the CA certificates, as the PKI mounts publish them; `root` is absent with an external root CA. */
  readonly ca: { readonly intermediateMount: string; readonly intermediate: string; readonly rootMount?: string; readonly root?: string };
  /** The certificate the cert login role holds: Code42's admin certificate. */
  readonly adminCertificate: { readonly certAuthMount: string; readonly role: string; readonly serial: string; readonly notAfter: string };
  /** Set by a successful verification in a scratch server; absent until then. */
  readonly verified?: {
    readonly at: string;
    readonly keysChecked: number;
    readonly login: "ok" | "skipped";
    readonly seconds: number;
    readonly serverVersion: string;
  };
  /**
   * Set when a verification found the backup itself bad (damaged, or restored without what it lists), so
   * monitoring never reports it "OK, verified"; a later successful verification removes it.
   */
  readonly verifyFailed?: {
    readonly at: string;
    readonly failure: "corrupt" | "content";
    readonly message: string;
  };
}

/** The three file names of the backup taken at `at`. */
export function backupName(at: Date): string {
  return `${BACKUP_PREFIX}${at.toISOString().replace(/[-:.]/g, "")}`;
}

/** The files of a backup, from any one of them (the .snap, its .sha256 or the manifest). */
export interface BackupFiles {
  readonly dir: string;
  readonly name: string;
  readonly snapshot: string;
  readonly checksum: string;
  readonly manifest: string;
}

export function backupFiles(anyFile: string): BackupFiles {
  const path = resolve(anyFile);
  const file = basename(path);
  const name = file.replace(/(\.snap\.sha256|\.snap|\.manifest\.json)$/, "");
  if (name === file) throw new Error(`${anyFile}: expected a backup's .snap file (or its .manifest.json), e.g. ${BACKUP_PREFIX}20261127T031500123Z.snap`);
  return filesOf(dirname(path), name);
}

export function filesOf(dir: string, name: string): BackupFiles {
  return { dir, name, snapshot: join(dir, `${name}.snap`), checksum: join(dir, `${name}.snap.sha256`), manifest: join(dir, `${name}.manifest.json`) };
}

/** Reads and checks a manifest; the message names the file and the field. */
export function readManifest(file: string): BackupManifest {
  if (!existsSync(file))
    throw new Error(`${file} is missing: a backup without its manifest cannot be verified (it lists the keys to check); take a new backup`);
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is not JSON: ${(e as Error).message}`);
  }
  const bad = (field: string, expected: string) => new Error(`${file}: ${field} is not ${expected}`);
  const rec = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!rec(m)) throw bad("the content", "a JSON object");
  if (m.format !== MANIFEST_FORMAT) throw bad("format", `"${MANIFEST_FORMAT}"`);
  if (typeof m.snapshot !== "string") throw bad("snapshot", "a file name");
  if (typeof m.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(m.sha256)) throw bad("sha256", "64 hex digits");
  if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) throw bad("createdAt", "an ISO time");
  if (!rec(m.server) || typeof m.server.clusterId !== "string") throw bad("server.clusterId", "a string");
  const seal = m.server.seal;
  if (!rec(seal) || !Number.isInteger(seal.threshold) || !Number.isInteger(seal.shares)) throw bad("server.seal", "{ type, threshold, shares }");
  if (!rec(m.kv) || typeof m.kv.mount !== "string" || !Array.isArray(m.kv.keys) || !m.kv.keys.every((k) => typeof k === "string"))
    throw bad("kv.keys", "a list of paths");
  if (m.kv.count !== m.kv.keys.length) throw bad("kv.count", `the number of kv.keys (${m.kv.keys.length})`);
  if (!rec(m.ca) || typeof m.ca.intermediate !== "string") throw bad("ca.intermediate", "a serial number");
  if (!rec(m.adminCertificate) || typeof m.adminCertificate.serial !== "string") throw bad("adminCertificate.serial", "a serial number");
  return m as unknown as BackupManifest;
}

/** One complete backup in a directory. */
export interface ListedBackup {
  readonly files: BackupFiles;
  readonly manifest: BackupManifest;
}

/** How far ahead of the clock a backup's creation time may lie and still count (clocks of one host). */
export const FUTURE_TOLERANCE_MS = 60_000;

/** Whether a backup claims to be taken after `now`: a clock that jumped back, or a file planted to look newest. */
export function isFromTheFuture(manifest: BackupManifest, now: Date): boolean {
  return Date.parse(manifest.createdAt) > now.getTime() + FUTURE_TOLERANCE_MS;
}

/**
 * The complete backups (with a readable manifest) in `dir`, oldest first by the manifest's creation
 * time (not the file name, which anyone may choose); others are ignored.
 */
export function listBackups(dir: string): ListedBackup[] {
  if (!existsSync(dir)) return [];
  return sortByCreation(
    readdirSync(dir)
      .filter((f) => f.endsWith(".manifest.json") && NAME.test(f.slice(0, -".manifest.json".length)))
      .flatMap((f) => {
        const files = filesOf(resolve(dir), f.slice(0, -".manifest.json".length));
        try {
          return existsSync(files.snapshot) ? [{ files, manifest: readManifest(files.manifest) }] : [];
        } catch {
          return [];
        }
      }),
  );
}

/** Oldest first by `createdAt`; the name breaks ties. */
export function sortByCreation<T extends ListedBackup>(backups: readonly T[]): T[] {
  return [...backups].sort(
    (a, b) => Date.parse(a.manifest.createdAt) - Date.parse(b.manifest.createdAt) || (a.files.name < b.files.name ? -1 : a.files.name > b.files.name ? 1 : 0),
  );
}

/**
 * The newest complete backup in `dir` (with `verifiedOnly`, the newest verified one), for monitoring.
 * A backup dated after `now` is not the newest: it would hide that no backup was taken since.
 */
export function newestBackup(dir: string, options: { verifiedOnly?: boolean; now?: Date } = {}): ListedBackup | undefined {
  const now = options.now ?? new Date();
  return listBackups(dir)
    .filter((b) => !isFromTheFuture(b.manifest, now))
    .filter((b) => !options.verifiedOnly || b.manifest.verified !== undefined)
    .at(-1);
}
