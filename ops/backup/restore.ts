import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../common/private-files";
import { writeEnvFile } from "../server/init";
import { LAYOUT, readMeta } from "../server/layout";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { requireSuccess } from "../vault/readers";
import { readMountPaths } from "../vault/backup-readers";
import { uploadSnapshot } from "../vault/snapshot";
import { CheckedBackup, checkBackupFiles, uploadRefused } from "./integrity";
import { ContentReport, LoginBundle, checkContents, generateRootToken, revokeSelf, sealStatus, unsealWith, waitActive, waitUntil } from "./keystore";
import { UnsealKeySources, resolveUnsealKeys } from "./unseal-keys";
import { LOAD_TIMEOUT_MS } from "./verify";

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
export interface RestoreReport extends CheckedBackup {
  readonly forced: boolean;
  readonly content: ContentReport;
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
 * Restores a backup into a running server: checks the files, resolves the
 * unseal keys, refuses a snapshot of another cluster without `force`, asks
 * for confirmation, uploads, unseals with the snapshot's cluster's keys, and
 * checks the restored content as verification does.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const checked = await checkBackupFiles(options.file);
  const { files, manifest } = checked;
  const keys = resolveUnsealKeys(options.unsealKeys, manifest);
  const { endpoint, token } = options;

  const target = await sealStatus(endpoint);
  if (target.storageType !== undefined && target.storageType !== "raft") {
    throw new Error(`the server at ${endpoint.addr} keeps its data in "${target.storageType}" storage; a raft snapshot restores only into raft storage`);
  }
  if (!target.initialized || target.sealed) {
    throw new Error(
      `the server at ${endpoint.addr} is ${target.initialized ? "sealed" : "not initialised"}; initialise and unseal it with its own keys, set VAULT_TOKEN to its root token, then restore`,
    );
  }
  const sameCluster = target.clusterId === manifest.server.clusterId;
  if (!sameCluster && !options.force) {
    throw new Error(
      `${files.snapshot} is a snapshot of cluster ${manifest.server.clusterId}; the server at ${endpoint.addr} is cluster ${target.clusterId}. ` +
        "Restoring it replaces that server's data and keyring with the snapshot's: afterwards the server seals and opens only with the snapshot's cluster's unseal keys, " +
        "and its own root token and keys are void. That is what disaster recovery into a fresh server needs: pass --force (see docs/backup.md)",
    );
  }
  const mounts = await vaultCall(endpoint, { path: "sys/mounts", token });
  requireSuccess(mounts, "sys/mounts (checking VAULT_TOKEN on the target)");
  const engines = readMountPaths(mounts).filter((p) => !["sys/", "identity/", "cubbyhole/"].includes(p));
  const question =
    `Restore ${files.snapshot} (taken ${manifest.createdAt}, ${manifest.kv.count} archive keys, cluster ${manifest.server.clusterId}) ` +
    `into ${endpoint.addr} (cluster ${target.clusterId}${engines.length > 0 ? `, which holds ${engines.length} secrets engine(s): ${engines.join(", ")}` : ", which holds no secrets engine yet"})? ` +
    "Everything on that server is replaced.";
  if (!(await options.confirm(question))) throw new RestoreDeclined();

  const answer = await uploadSnapshot(endpoint, token, files.snapshot, !sameCluster);
  if (answer.status !== 204 && answer.status !== 200) throw uploadRefused(files.snapshot, answer);
  log(`snapshot accepted (${sameCluster ? "same cluster" : "snapshot-force: another cluster"}); waiting for the server to load it`);
  if (!sameCluster) {
    await waitUntil("the server to load the snapshot", LOAD_TIMEOUT_MS, async () => ((await sealStatus(endpoint)).sealed ? true : undefined));
    await unsealWith(endpoint, keys.keys, keys.source, manifest.server.clusterId);
    log(`unsealed with ${keys.source}`);
  }
  await waitActive(endpoint);
  const restored = await sealStatus(endpoint);
  if (restored.clusterId !== manifest.server.clusterId) {
    throw new Error(
      `after the restore the server reports cluster ${restored.clusterId ?? "none"}, not the snapshot's ${manifest.server.clusterId}; see the server's log`,
    );
  }

  const rootToken = await generateRootToken(endpoint, keys.keys, keys.source);
  let keep = false;
  try {
    const content = await checkContents(endpoint, rootToken, manifest, options.bundle, log);
    const localServerUpdated = options.localServerDir !== undefined && adoptIntoLocalServer(options.localServerDir, endpoint.addr, keys.keys, rootToken, log);
    keep = localServerUpdated;
    return { ...checked, forced: !sameCluster, content, localServerUpdated, seconds: (Date.now() - started) / 1000 };
  } finally {
    if (!keep) await revokeSelf(endpoint, rootToken);
  }
}

/**
 * When `addr` is the local server in `dir`, stores the restored cluster's
 * unseal key and a root token there (0600) and rewrites its vault.env, so
 * a restart unseals and the commands authenticate. Only for one key share,
 * which is what the local server uses; returns whether it did.
 */
function adoptIntoLocalServer(dir: string, addr: string, keys: readonly string[], rootToken: string, log: (line: string) => void): boolean {
  if (!existsSync(join(dir, LAYOUT.meta)) || `https://127.0.0.1:${readMeta(dir).apiPort}` !== addr) return false;
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
  log(`the local server in ${dir} now holds the restored cluster's unseal key and a new root token (${LAYOUT.env} rewritten)`);
  return true;
}
