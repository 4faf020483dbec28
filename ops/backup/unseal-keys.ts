import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LAYOUT, readMeta } from "../server/layout";
import { couldBeSecret } from "../common/secret-values";
import { BackupCheckError } from "./errors";
import { BackupManifest } from "./manifest";

/** The environment variable that may hold the unseal keys (never argv: a process list shows argv to everyone). */
export const UNSEAL_KEYS_ENV = "C42_UNSEAL_KEYS";
const MAX_KEYS_FILE_BYTES = 64 * 1024;

/** Unseal keys and where they came from (named in messages; the keys never are). */
export interface UnsealKeys {
  readonly keys: readonly string[];
  readonly source: string;
}

/**
 * Keys from text: one per line (or separated by commas or spaces), `#`
 * comments ignored; or the JSON `bao operator init -format=json` prints
 * (`unseal_keys_b64`, or `keys_base64`).
 */
export function parseUnsealKeys(text: string, source: string): string[] {
  const trimmed = text.trim();
  let keys: string[];
  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new BackupCheckError(
        "unseal-keys",
        `${source}: starts with "{" but is not JSON; expected one unseal key per line, or the JSON of \`bao operator init -format=json\``,
      );
    }
    const j = json as Record<string, unknown>;
    const list = j.unseal_keys_b64 ?? j.keys_base64;
    if (!Array.isArray(list) || !list.every((k) => typeof k === "string")) {
      throw new BackupCheckError("unseal-keys", `${source}: the JSON has no unseal_keys_b64 (or keys_base64) list of strings`);
    }
    keys = list as string[];
  } else {
    keys = trimmed
      .split("\n")
      .map((line) => line.replace(/#.*$/, ""))
      .flatMap((line) => line.split(/[\s,]+/))
      .filter((k) => k !== "");
  }
  if (keys.length === 0)
    throw new BackupCheckError(
      "unseal-keys",
      `${source}: holds no unseal key; expected one key per line (base64 or hex, as \`bao operator init\` printed them)`,
    );
  const bad = keys.findIndex((k) => !/^[A-Za-z0-9+/=_-]+$/.test(k));
  if (bad >= 0) throw new BackupCheckError("unseal-keys", `${source}: key ${bad + 1} is not base64 or hex (a key is not echoed); expected one key per line`);
  return keys;
}

/**
 * Reads a keys file, which must be a regular file that only its owner may read. A name that is not a
 * file is not repeated when it could be a key typed in its place (exit 4, as for any unusable keys).
 */
export function readUnsealKeysFile(file: string, option: string): string[] {
  const source = `${option} ${file}`;
  if (!existsSync(file)) {
    if (couldBeSecret(file))
      throw new BackupCheckError(
        "unseal-keys",
        `${option}: no file has the name given (${file.length} characters, not shown: it could be a key typed in place of the file's name); ` +
          `give the name of a file only you can read that holds the keys, or set ${UNSEAL_KEYS_ENV}`,
      );
    throw new BackupCheckError("unseal-keys", `${source}: the file does not exist`);
  }
  const st = statSync(file);
  if (!st.isFile()) throw new Error(`${source}: not a regular file`);
  if (st.size > MAX_KEYS_FILE_BYTES) throw new Error(`${source}: ${st.size} bytes; an unseal keys file is at most ${MAX_KEYS_FILE_BYTES} bytes`);
  if ((st.mode & 0o077) !== 0) {
    throw new Error(
      `${source}: other users may read it (mode ${(st.mode & 0o777).toString(8)}); unseal keys belong in a file only you can read: chmod 600 ${file}`,
    );
  }
  return parseUnsealKeys(readFileSync(file, "utf8"), source);
}

/** Where to look for the keys, in order. */
export interface UnsealKeySources {
  /** A file named on the command line. */
  readonly file?: string;
  /** The option that named it, for messages. @default "--unseal-keys" */
  readonly option?: string;
  readonly env: NodeJS.ProcessEnv;
  /** The project's local server directory: its stored key opens snapshots of that server. */
  readonly localServerDir?: string;
}

/**
 * The keys that open a snapshot of `manifest`'s cluster: the file, else
 * C42_UNSEAL_KEYS, else (for a snapshot taken from the project's own local
 * server) that server's stored key. Fails with exit 4 when there are none.
 * Without a manifest (a restore of a bare .snap) the local server's key is
 * not guessed: the snapshot does not say where it came from.
 */
export function resolveUnsealKeys(sources: UnsealKeySources, manifest: BackupManifest | undefined): UnsealKeys {
  const option = sources.option ?? "--unseal-keys";
  if (sources.file !== undefined) return { keys: readUnsealKeysFile(sources.file, option), source: `${option} ${sources.file}` };
  const fromEnv = sources.env[UNSEAL_KEYS_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return { keys: parseUnsealKeys(fromEnv, UNSEAL_KEYS_ENV), source: UNSEAL_KEYS_ENV };
  const local = manifest && sources.localServerDir && localServerKey(sources.localServerDir, manifest);
  if (local) return local;
  const which = manifest
    ? `the snapshot of cluster ${manifest.server.clusterId} opens only with that cluster's unseal keys (${manifest.server.seal.threshold} of ${manifest.server.seal.shares})`
    : "the snapshot opens only with the unseal keys of the cluster it was taken from";
  throw new BackupCheckError(
    "unseal-keys",
    `${which}; give them in a file only you can read (${option} FILE) or in ${UNSEAL_KEYS_ENV}, never on the command line`,
  );
}

/** The local server's stored key, when the snapshot was taken from that server (same address). */
function localServerKey(dir: string, manifest: BackupManifest): UnsealKeys | undefined {
  const keyFile = join(dir, LAYOUT.unsealKey);
  if (!existsSync(join(dir, LAYOUT.meta)) || !existsSync(keyFile)) return undefined;
  const addr = `https://127.0.0.1:${readMeta(dir).apiPort}`;
  if (manifest.server.addr !== addr && manifest.server.activeNode !== addr) return undefined;
  return { keys: parseUnsealKeys(readFileSync(keyFile, "utf8"), keyFile), source: `the local server's ${keyFile}` };
}
