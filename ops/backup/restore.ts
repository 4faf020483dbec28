import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../common/private-files";
import { writeEnvFile } from "../server/init";
import { LAYOUT, readMeta } from "../server/layout";
import { VaultEndpoint, isUnreachable, vaultCall } from "../vault/client";
import { requireSuccess } from "../vault/readers";
import { readMountPaths } from "../vault/backup-readers";
import { uploadSnapshot } from "../vault/snapshot";
import { errorMessage } from "../common/errors";
import { DEFAULT_SERVER_DIR } from "../common/paths";
import { BackupCheckError } from "./errors";
import { RestorableBackup, checkRestorableFiles, uploadRefused } from "./integrity";
import {
  ContentReport,
  LoginBundle,
  StopWaiting,
  checkContents,
  generateRootToken,
  revokeSelf,
  sealStatus,
  unsealWith,
  waitActive,
  waitUntil,
} from "./keystore";
import { UnsealKeySources, resolveUnsealKeys } from "./unseal-keys";
import { LOAD_TIMEOUT_MS, proveInScratch } from "./verify";
import { scratchSealStanza } from "./seal-config";

/** How to restore a backup. */
export interface RestoreOptions {
  /** The backup's .snap file (or its manifest). */
  readonly file: string;
  /** The server to restore into (VAULT_ADDR), unsealed, with a token that may restore (VAULT_TOKEN). */
  readonly endpoint: VaultEndpoint;
  readonly token: string;
  readonly unsealKeys: UnsealKeySources;
  /** Restore a snapshot of another cluster (snapshot-force). */
  readonly force: boolean;
  /** Asks the operator; resolves to true to go on. Called once, after every check and before anything changes. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** crashplan.p12 to log in with afterwards; undefined skips the login. */
  readonly bundle: LoginBundle | undefined;
  /** The `bao` binary for the scratch server that proves the snapshot and the keys first. */
  readonly baoBinary: string;
  /** Parent of the scratch server's temporary directory. @default os.tmpdir() */
  readonly scratchParent?: string;
  /**
   * The project's local server directory: when the target is that server, its
   * unseal key, root token and env files are replaced by the snapshot's
   * cluster's key and a new root token, so `server start` and the other
   * commands keep working. @default - none
   */
  readonly localServerDir?: string;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
}

/** What a restore did. */
export interface RestoreReport extends RestorableBackup {
  readonly forced: boolean;
  /** What the manifest lists, checked on the target; absent without a manifest. */
  readonly content?: ContentReport;
  /** The local server's files that now hold the restored cluster's key and a new root token. */
  readonly localServerUpdated: boolean;
  readonly seconds: number;
}

/** The operator declined. Nothing was changed. */
export class RestoreDeclined extends Error {
  public constructor() {
    super("not confirmed; nothing was changed");
    this.name = "RestoreDeclined";
  }
}

/**
 * Restores a backup into a running server, proving before it destroys:
 * checks the files (a missing manifest is warned about, not refused),
 * resolves the unseal keys, checks the target and the token, then restores
 * the snapshot into a scratch server, where the keys must open it and (with
 * a manifest) its content must be there. Only then, and after confirmation,
 * is the target touched: upload, unseal with the snapshot's cluster's keys,
 * and the restored content checked as verification does. A failure after
 * the upload (the point of no return) says exactly how to finish by hand.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const checked = await checkRestorableFiles(options.file, log);
  const { files, manifest } = checked;
  const keys = resolveUnsealKeys(options.unsealKeys, manifest);
  const { endpoint, token } = options;

  const target = await sealStatus(endpoint);
  if (target.storageType !== undefined && target.storageType !== "raft") {
    throw new Error(`the server at ${endpoint.addr} keeps its data in "${target.storageType}" storage; a raft snapshot restores only into raft storage`);
  }
  if (!target.initialized || target.sealed) {
    throw new Error(
      `the server at ${endpoint.addr} is ${target.initialized ? "sealed" : "not initialised"}; initialise and unseal it with its own keys, set VAULT_TOKEN to its root token, then restore` +
        (target.initialized ? ` (a project server a restore left sealed: \`npm run server:start\` unseals it)` : ""),
    );
  }
  if (manifest && target.clusterId !== manifest.server.clusterId && !options.force)
    throw anotherCluster(files.snapshot, manifest.server.clusterId, endpoint.addr, target.clusterId);
  const mounts = await vaultCall(endpoint, { path: "sys/mounts", token });
  requireSuccess(mounts, "sys/mounts (checking VAULT_TOKEN on the target)");
  const engines = readMountPaths(mounts).filter((p) => !["sys/", "identity/", "cubbyhole/"].includes(p));

  // Proof before destruction: the snapshot loads, these keys open it, and it holds what the manifest lists.
  log(`proving ${files.snapshot} and the unseal keys from ${keys.source} in a scratch server before ${endpoint.addr} is touched`);
  // An auto-unsealed snapshot opens only through its seal: the scratch server takes it, and so must the target.
  const seal = scratchSealStanza(manifest, options.unsealKeys.env);
  const proof = await proveInScratch({
    files,
    manifest,
    keys,
    baoBinary: options.baoBinary,
    bundle: options.bundle,
    log,
    scratchParent: options.scratchParent,
    seal,
  });
  log(`proven: the snapshot loads and ${keys.source} opens it (cluster ${proof.clusterId}); ${endpoint.addr} is still untouched`);

  const sameCluster = target.clusterId === proof.clusterId;
  if (!sameCluster && !options.force) throw anotherCluster(files.snapshot, proof.clusterId, endpoint.addr, target.clusterId);
  const question =
    `Restore ${files.snapshot} (${manifest ? `taken ${manifest.createdAt}, ${manifest.kv.count} archive keys, ` : "no manifest, "}cluster ${proof.clusterId}) ` +
    `into ${endpoint.addr} (cluster ${target.clusterId}${engines.length > 0 ? `, which holds ${engines.length} secrets engine(s): ${engines.join(", ")}` : ", which holds no secrets engine yet"})? ` +
    "Everything on that server is replaced.";
  if (!(await options.confirm(question))) throw new RestoreDeclined();

  const local = options.localServerDir !== undefined && isLocalServer(options.localServerDir, endpoint.addr) ? options.localServerDir : undefined;
  // Staged before the point of no return: `server start` unseals with it should this restore stop half-way.
  const staged = local !== undefined && !sameCluster && seal === undefined && keys.keys.length === 1 ? stagePendingKey(local, keys.keys[0]) : undefined;
  const recovery = { addr: endpoint.addr, file: files.snapshot, keysSource: keys.source, keyCount: keys.keys.length, local: staged ? local : undefined };
  let answer;
  try {
    answer = await uploadSnapshot(endpoint, token, files.snapshot, !sameCluster);
  } catch (e) {
    // The connection broke during the upload: the server may or may not have taken the snapshot.
    throw afterPointOfNoReturn(e, recovery);
  }
  if (answer.status !== 204 && answer.status !== 200) {
    if (staged) rmSync(staged, { force: true });
    throw uploadRefused(files.snapshot, answer);
  }
  log(`snapshot accepted (${sameCluster ? "same cluster" : "snapshot-force: another cluster"}); waiting for the server to load it`);

  try {
    if (!sameCluster && seal !== undefined) {
      // Configured with the same seal (transit key or KMS key), the target opens the snapshot's root key by itself.
      await waitUntil("the server to load the snapshot and unseal itself with its seal", LOAD_TIMEOUT_MS, async () => {
        const s = await sealStatus(endpoint);
        return !s.sealed && s.clusterId === proof.clusterId ? true : undefined;
      });
      log("the server loaded the snapshot and unsealed itself with its seal");
    } else if (!sameCluster) {
      await waitUntil("the server to load the snapshot", LOAD_TIMEOUT_MS, untilSealed(endpoint));
      log(`the server loaded the snapshot and sealed itself (its keyring is now the snapshot's); unsealing with ${keys.source}`);
      await unsealWith(endpoint, keys.keys, keys.source, proof.clusterId);
      log(`unsealed with ${keys.source}`);
    }
    await waitActive(endpoint);
    const restored = await sealStatus(endpoint);
    if (restored.clusterId !== proof.clusterId) {
      throw new Error(
        `after the restore the server reports cluster ${restored.clusterId ?? "none"}, not the snapshot's ${proof.clusterId}; see the server's log`,
      );
    }

    const rootToken = await generateRootToken(endpoint, keys.keys, keys.source);
    let keep = false;
    try {
      const content = manifest ? await checkContents(endpoint, rootToken, manifest, options.bundle, log) : undefined;
      if (!manifest)
        log("no manifest: the restored archive keys were not compared with a list (the scratch server proved the snapshot loads and the keys open it)");
      const localServerUpdated = local !== undefined && seal === undefined && adoptIntoLocalServer(local, endpoint.addr, keys.keys, rootToken, log);
      keep = localServerUpdated;
      return { ...checked, forced: !sameCluster, content, localServerUpdated, seconds: (Date.now() - started) / 1000 };
    } finally {
      if (!keep) await revokeSelf(endpoint, rootToken);
    }
  } catch (e) {
    throw afterPointOfNoReturn(e, recovery);
  }
}

/** How long the target may stay unreachable after it took the snapshot before the restore gives up (it does not restart by itself). */
const GONE_AFTER_MS = 5_000;

/**
 * A probe for {@link waitUntil}: true once the server is sealed with the snapshot's keyring. A server that
 * stops answering has died (it does not restart on a restore): after {@link GONE_AFTER_MS} that is a failure
 * at once, with the recovery step, instead of minutes of waiting.
 */
function untilSealed(endpoint: VaultEndpoint): () => Promise<true | undefined> {
  let unreachableSince: number | undefined;
  return async () => {
    try {
      const sealed = (await sealStatus(endpoint)).sealed;
      unreachableSince = undefined;
      return sealed ? true : undefined;
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince > GONE_AFTER_MS) throw new StopWaiting(`the server at ${endpoint.addr} stopped answering (${errorMessage(e)})`);
      return undefined;
    }
  };
}

function anotherCluster(snapshot: string, snapshotCluster: string, addr: string, targetCluster: string | undefined): Error {
  return new Error(
    `${snapshot} is a snapshot of cluster ${snapshotCluster}; the server at ${addr} is cluster ${targetCluster}. ` +
      "Restoring it replaces that server's data and keyring with the snapshot's: afterwards the server seals and opens only with the snapshot's cluster's unseal keys, " +
      "and its own root token and keys are void. That is what disaster recovery into a fresh server needs: pass --force (see docs/backup.md)",
  );
}

/**
 * A failure after the target took the snapshot, with the exact step that finishes the restore by hand:
 * the keys were proven in the scratch server, so unsealing with them is what is left. The original error
 * keeps its exit code.
 */
function afterPointOfNoReturn(e: unknown, at: { addr: string; file: string; keysSource: string; keyCount: number; local: string | undefined }): Error {
  const step = at.local
    ? `\`npm run server:start${at.local === DEFAULT_SERVER_DIR ? "" : ` -- --dir ${at.local}`}\` unseals it with the restored cluster's key (staged in ${join(at.local, LAYOUT.pendingUnsealKey)}) and makes a new root token; then check it with \`npm run health\``
    : `unseal it with the keys proven in the scratch server: \`VAULT_ADDR=${at.addr} bao operator unseal\`, once for each key in ${at.keysSource} ` +
      `(${at.keyCount} given), then check it with \`npm run verify-backup -- ${at.file}\` against the same keys and \`npm run health\`; the snapshot's cluster's tokens are valid again`;
  const message =
    `${errorMessage(e)}. The restore stopped after ${at.addr} took the snapshot (the point of no return): its old data is gone and it holds the snapshot, ` +
    `possibly still sealed. To finish: ${step}`;
  if (e instanceof BackupCheckError) return new BackupCheckError(e.failure, message);
  return new Error(message);
}

/** Whether `addr` is the project's local server in `dir`. */
function isLocalServer(dir: string, addr: string): boolean {
  return existsSync(join(dir, LAYOUT.meta)) && `https://127.0.0.1:${readMeta(dir).apiPort}` === addr;
}

/** Writes the restored cluster's key beside the server's own (0600), for `server start` to recover with; returns its path. */
function stagePendingKey(dir: string, key: string): string {
  const file = join(dir, LAYOUT.pendingUnsealKey);
  rmSync(file, { force: true });
  writePrivateFile(file, `${key}\n`);
  return file;
}

/**
 * When `addr` is the local server in `dir`, stores the restored cluster's
 * unseal key and a root token there (0600) and rewrites its vault.env, so
 * a restart unseals and the commands authenticate. Only for one key share,
 * which is what the local server uses; returns whether it did.
 */
function adoptIntoLocalServer(dir: string, addr: string, keys: readonly string[], rootToken: string, log: (line: string) => void): boolean {
  if (!isLocalServer(dir, addr)) return false;
  if (keys.length !== 1) {
    log(
      `the local server in ${dir} stores one unseal key and the snapshot's cluster uses ${keys.length}: its unseal.key was left as it is; unseal it by hand after a restart`,
    );
    return false;
  }
  for (const [name, value] of [
    [LAYOUT.unsealKey, keys[0]],
    [LAYOUT.rootToken, rootToken],
  ] as const) {
    rmSync(join(dir, name), { force: true });
    writePrivateFile(join(dir, name), `${value}\n`);
  }
  rmSync(join(dir, LAYOUT.env), { force: true });
  writeEnvFile(dir, addr);
  rmSync(join(dir, LAYOUT.pendingUnsealKey), { force: true });
  log(`the local server in ${dir} now holds the restored cluster's unseal key and a new root token (${LAYOUT.env} rewritten)`);
  return true;
}
