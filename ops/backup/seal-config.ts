import { existsSync, readFileSync, statSync } from "node:fs";
import { BackupCheckError } from "./errors";
import { BackupManifest } from "./manifest";

/**
 * The environment variable naming a file with the seal stanza of an
 * auto-unsealed cluster (`seal "transit" { … }`, `seal "awskms" { … }`): a
 * scratch server that verifies its backup must use the same seal, since the
 * snapshot's root key is encrypted by it. Never argv: a stanza may hold a token.
 */
export const SEAL_CONFIG_ENV = "C42_SEAL_CONFIG";
const MAX_SEAL_FILE_BYTES = 64 * 1024;

/** Whether a snapshot's cluster unseals itself (any seal but Shamir's key shares). */
export const isAutoUnsealed = (manifest: BackupManifest) => manifest.server.seal.type !== "shamir";

/**
 * The seal stanza a scratch server needs for a snapshot of `manifest`'s
 * cluster: none for a Shamir-sealed one; for an auto-unsealed one, the file
 * {@link SEAL_CONFIG_ENV} names, which must be a file only its owner may read
 * and declare a seal of the manifest's type. Fails with exit 4 (keys) when it
 * is missing. Without a manifest nothing says how the snapshot is sealed: a
 * stanza given is used as it is.
 */
export function scratchSealStanza(manifest: BackupManifest | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const file = env[SEAL_CONFIG_ENV];
  const given = file !== undefined && file.trim() !== "";
  if (manifest === undefined) return given ? readStanza(file, /^\s*seal\s+"[^"]+"\s*\{/m, "seal stanza") : undefined;
  if (!isAutoUnsealed(manifest)) return undefined;
  const type = manifest.server.seal.type;
  if (!given) {
    throw new BackupCheckError(
      "unseal-keys",
      `the snapshot of cluster ${manifest.server.clusterId} is auto-unsealed (seal "${type}"): its root key opens only through that seal, so the scratch server must use it too. ` +
        `Name a file only you can read holding the cluster's seal "${type}" stanza in ${SEAL_CONFIG_ENV} (a local cluster's DIR/seal.hcl), ` +
        `and give the cluster's recovery keys where unseal keys go (--unseal-keys FILE or C42_UNSEAL_KEYS; a local cluster's DIR/recovery.key)`,
    );
  }
  return readStanza(
    file,
    new RegExp(`^\\s*seal\\s+"${type}"\\s*\\{`, "m"),
    `seal "${type}" stanza, which the snapshot of cluster ${manifest.server.clusterId} needs`,
  );
}

/** The file's text: a regular file only its owner may read, holding `expected`. */
function readStanza(file: string, expected: RegExp, what: string): string {
  if (!existsSync(file)) throw new Error(`${SEAL_CONFIG_ENV} ${file}: the file does not exist`);
  const st = statSync(file);
  if (!st.isFile() || st.size > MAX_SEAL_FILE_BYTES) throw new Error(`${SEAL_CONFIG_ENV} ${file}: not a regular file of at most ${MAX_SEAL_FILE_BYTES} bytes`);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(
      `${SEAL_CONFIG_ENV} ${file}: other users may read it (mode ${(st.mode & 0o777).toString(8)}); a seal stanza may hold credentials: chmod 600 ${file}`,
    );
  }
  const stanza = readFileSync(file, "utf8");
  if (!expected.test(stanza)) throw new BackupCheckError("unseal-keys", `${SEAL_CONFIG_ENV} ${file} holds no ${what}`);
  return stanza;
}
