import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { VaultEndpoint } from "../vault/client";
import { uploadSnapshot } from "../vault/snapshot";
import { BackupCheckError } from "./errors";
import { CheckedBackup, checkBackupFiles, uploadRefused } from "./integrity";
import { ContentReport, LoginBundle, checkContents, generateRootToken, revokeSelf, sealStatus, unsealWith, waitActive, waitUntil } from "./keystore";
import { BackupFiles, BackupManifest } from "./manifest";
import { UnsealKeySources, UnsealKeys, resolveUnsealKeys } from "./unseal-keys";
import { reapLeftoverScratchServers, withScratchServer } from "./scratch-server";
import { scratchSealStanza } from "./seal-config";
import { productName, serverBinary } from "../server/kind";

/** How long a scratch server may take to load a snapshot (it seals once loaded: the keyring is the snapshot's). */
export const LOAD_TIMEOUT_MS = 180_000;

/** How to verify a backup. */
export interface VerifyOptions {
  /** The backup's .snap file (or its manifest). */
  readonly file: string;
  /** Where the original cluster's unseal keys come from (never argv). */
  readonly unsealKeys: UnsealKeySources;
  /** The `bao` binary for the scratch server. */
  readonly baoBinary: string;
  /** crashplan.p12 to log in with; undefined skips the login. */
  readonly bundle: LoginBundle | undefined;
  /** Progress lines (never secrets). @default - silent */
  readonly log?: (line: string) => void;
  /** Parent of the scratch server's temporary directory. @default os.tmpdir() */
  readonly scratchParent?: string;
}

/** A verified backup. */
export interface VerifyReport extends CheckedBackup {
  readonly content: ContentReport;
  /** The scratch server's version. */
  readonly serverVersion: string;
  /** The scratch server: "OpenBao" or "HashiCorp Vault". */
  readonly serverProduct: string;
  readonly seconds: number;
}

/**
 * Proves a backup restores: checks its checksums, starts a scratch server,
 * restores the snapshot there (snapshot-force: the scratch server is another
 * cluster), unseals it with the original cluster's keys, makes a temporary
 * root token with them, and checks every archive key, the CA chain, the
 * admin certificate and a login with crashplan.p12. The scratch server is
 * stopped and deleted on every path. Verdicts about the backup are
 * {@link BackupCheckError}s (exit 3 damaged, 4 unseal keys, 5 content).
 */
export async function verifyBackup(options: VerifyOptions): Promise<VerifyReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  // First, whatever else happens: a scratch server a killed verification left running is stopped.
  await reapLeftoverScratchServers(options.scratchParent ?? tmpdir(), log);
  const checked = await checkBackupFiles(options.file);
  const { files, manifest } = checked;
  log(`${files.snapshot}: checksum matches (${manifest.bytes} bytes, taken ${manifest.createdAt} from cluster ${manifest.server.clusterId})`);
  const keys = resolveUnsealKeys(options.unsealKeys, manifest);
  const proof = await proveInScratch({
    files,
    manifest,
    keys,
    baoBinary: options.baoBinary,
    bundle: options.bundle,
    log,
    scratchParent: options.scratchParent,
    seal: scratchSealStanza(manifest, options.unsealKeys.env),
  });
  return {
    ...checked,
    content: proof.content as ContentReport,
    serverVersion: proof.serverVersion,
    serverProduct: productName(serverBinary(options.baoBinary).kind),
    seconds: (Date.now() - started) / 1000,
  };
}

/** What a snapshot proved in a scratch server. */
export interface ScratchProof {
  /** The cluster the snapshot belongs to, as the restored scratch server reports it. */
  readonly clusterId: string;
  readonly serverVersion: string;
  /** What the manifest lists, checked; absent without a manifest. */
  readonly content?: ContentReport;
}

/**
 * Restores the snapshot into a scratch server, unseals it with `keys`, and (with a manifest) checks the
 * content: the snapshot loads, the keys open it, and it holds what it should. Nothing outside the scratch
 * server changes. Verdicts are {@link BackupCheckError}s, as {@link verifyBackup} documents.
 */
export async function proveInScratch(options: {
  readonly files: BackupFiles;
  readonly manifest: BackupManifest | undefined;
  readonly keys: UnsealKeys;
  readonly baoBinary: string;
  readonly bundle: LoginBundle | undefined;
  readonly log: (line: string) => void;
  readonly scratchParent?: string;
  /** The seal stanza of an auto-unsealed source cluster (seal-config.ts): the scratch server uses it, and `keys` are recovery keys. */
  readonly seal?: string;
}): Promise<ScratchProof> {
  const { files, manifest, keys, log } = options;
  const cluster = manifest?.server.clusterId ?? "(no manifest)";
  return withScratchServer(
    options.baoBinary,
    log,
    async (server, scratchToken) => {
      const endpoint: VaultEndpoint = { addr: server.addr, caPem: readFileSync(server.caCertFile, "utf8") };
      const scratchCluster = (await sealStatus(endpoint)).clusterId;
      const answer = await uploadSnapshot(endpoint, scratchToken, files.snapshot, true);
      if (answer.status !== 204 && answer.status !== 200) throw uploadRefused(files.snapshot, answer);
      log("snapshot accepted by the scratch server; waiting for it to load");
      if (options.seal === undefined) {
        await waitUntil("the scratch server to load the snapshot", LOAD_TIMEOUT_MS, async () => ((await sealStatus(endpoint)).sealed ? true : undefined));
        await unsealWith(endpoint, keys.keys, keys.source, cluster);
      } else {
        // The same seal opens the snapshot's root key: the server takes the new keyring without asking for a key.
        await waitUntil("the scratch server to load the snapshot and unseal itself with its seal", LOAD_TIMEOUT_MS, async () => {
          const s = await sealStatus(endpoint);
          return !s.sealed && s.clusterId !== undefined && s.clusterId !== scratchCluster ? true : undefined;
        });
      }
      await waitActive(endpoint);
      const restored = await sealStatus(endpoint);
      if (!restored.clusterId) throw new BackupCheckError("content", "the restored scratch server reports no cluster ID");
      if (manifest && restored.clusterId !== manifest.server.clusterId) {
        throw new BackupCheckError(
          "content",
          `the restored server reports cluster ${restored.clusterId ?? "none"}; the manifest records ${manifest.server.clusterId}`,
        );
      }
      log(
        `${options.seal === undefined ? `unsealed with ${keys.source}` : "unsealed by its seal"}: cluster ${restored.clusterId}, ${productName(serverBinary(options.baoBinary).kind)} ${restored.version}`,
      );
      if (!manifest) return { clusterId: restored.clusterId, serverVersion: restored.version };
      const token = await generateRootToken(endpoint, keys.keys, keys.source);
      try {
        const content = await checkContents(endpoint, token, manifest, options.bundle, log);
        return { clusterId: restored.clusterId, serverVersion: restored.version, content };
      } finally {
        await revokeSelf(endpoint, token);
      }
    },
    options.scratchParent,
    options.seal,
  );
}
