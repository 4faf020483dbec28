import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_ENV } from "../../lib/config";
import { ROTATED_STATE_KEY_META, STATE_PASSPHRASE_PREVIOUS_VARIABLE, STATE_PASSPHRASE_VARIABLE } from "../../lib/state-encryption-keys";

/**
 * The warning for a state file that users other than its owner can read (or
 * write), or `undefined` when the file is owner-only or absent. The state
 * holds the admin private key, so a loose mode is never passed over silently.
 */
export function looseStateFileWarning(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `warning: ${file} is readable by other users (mode ${mode.toString(8).padStart(4, "0")}); it holds private keys. Tightening to 0600.`;
}

/**
 * The warning for a state directory that users other than its owner can list,
 * or `undefined` when it is private. It is never chmodded: it may be a shared
 * directory the project did not create (the state files in it are 0600
 * whatever the directory's mode), so the owner is told what to do instead.
 */
export function looseStateDirWarning(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o077) === 0) return undefined;
  return `warning: the state directory ${dir} is open to other users (mode ${mode.toString(8).padStart(4, "0")}): they cannot read the state files (0600) but can see them. Left as it is; make it private with: chmod 700 ${dir}`;
}

/**
 * The engine's environment entries that carry the state passphrases: the
 * `C42_*` variables the user sets become the `TF_VAR_*` inputs the
 * synthesized encryption block refers to. Nothing else ever sees them.
 */
export function statePassphraseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const current = env[SECRET_ENV.statePassphrase];
  const previous = env[SECRET_ENV.statePassphrasePrevious];
  if (current) out[`TF_VAR_${STATE_PASSPHRASE_VARIABLE}`] = current;
  if (previous) out[`TF_VAR_${STATE_PASSPHRASE_PREVIOUS_VARIABLE}`] = previous;
  return out;
}

/**
 * What every command says, before the engine's own error, when the state is in
 * OpenTofu's encrypted envelope and the engine cannot open it: Terraform (which
 * has no state encryption), or OpenTofu without the passphrase.
 */
export const ENCRYPTED_STATE_MESSAGE = `This state is encrypted: use OpenTofu and set ${SECRET_ENV.statePassphrase}.`;

/** What drift, status and plan say instead of planning every resource anew when there is no state. */
export function noStateMessage(where: string, setting = "stateDir"): string {
  return `There is no state at ${where}: check ${setting}.`;
}

/**
 * Our explanation of an engine failure about the state itself (encryption or
 * locking), to print above the engine's own message; `undefined` for others.
 * The engine reports a state it cannot decrypt as a failure to take the lock,
 * so the encryption cases are recognised first.
 */
export function explainStateError(engineOutput: string): string | undefined {
  const text = engineOutput.replace(/\s+/g, " ");
  const P = SECRET_ENV.statePassphrase;
  if (/state file is encrypted and can not be read without an encryption configuration|does not have a "version" attribute/.test(text)) {
    return ENCRYPTED_STATE_MESSAGE;
  }
  if (/decryption failed for all provided methods|Unable to decode encrypted metadata/.test(text)) {
    return `the state cannot be decrypted with ${P} (or ${SECRET_ENV.statePassphrasePrevious} while rotating): wrong passphrase? The state was not changed.`;
  }
  if (/encountered unencrypted payload without unencrypted method configured/.test(text)) {
    return `${P} is set but the state is not encrypted yet: to encrypt it, deploy once with C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN=true, or run \`npm run migrate-state\` (docs/security.md); or unset ${P}. The state was not changed.`;
  }
  if (/Backend configuration changed|Backend initialization required/.test(text)) {
    return "the engine's working directory was initialized for another state location than the configuration names: run `npm run migrate-state` to move the state (or `npm run migrate-state -- --fresh` to start with none), or set the location back. The state was not changed.";
  }
  if (/Error acquiring the state lock/.test(text)) {
    const info = (field: string) => new RegExp(`${field}:\\s+(\\S+)`).exec(text)?.[1];
    const id = info("ID");
    const who = [info("Who") && `by ${info("Who")}`, info("Operation") && `for ${info("Operation")}`, info("Created") && `since ${info("Created")}`]
      .filter(Boolean)
      .join(", ");
    return (
      `another run holds the state lock${who ? ` (${who})` : ""}: a deploy or plan elsewhere is using this state. ` +
      "If it is still running, let it finish (lockTimeout, C42_LOCK_TIMEOUT, sets how long a command waits). " +
      (id
        ? `If it crashed and no run is in progress, release the lock with: npx c42-keystore unlock ${id}. `
        : "If it crashed and no run is in progress, release the lock with `npx c42-keystore unlock LOCK_ID`, the ID the engine printed. ") +
      "Nothing was changed."
    );
  }
  return undefined;
}

/**
 * Removes a state backup that is still in plain text once the state is
 * encrypted. Turning encryption on (`migrateFromPlain`) makes the engine
 * keep the last plain state as `<state>.backup`, private keys included, which
 * would defeat the encryption; the last good state kept before that apply
 * (see {@link keepLastGoodState}) is plain too. Returns the notice to print, or `undefined`
 * when there was nothing to remove.
 */
export function removePlainBackup(stateFile: string): string | undefined {
  if (!isEncryptedState(stateFile)) return undefined;
  const notices: string[] = [];
  for (const [file, what] of [
    [`${stateFile}.backup`, "the state before encryption"],
    [lastGoodStateFile(stateFile), "the last good state, kept before encryption"],
  ]) {
    if (!isPlainState(file)) continue;
    rmSync(file);
    notices.push(`removed ${file}: it was ${what}, in plain text. The encrypted state is ${stateFile}.`);
  }
  return notices.length > 0 ? notices.join("\n") : undefined;
}

/**
 * Once the state is encrypted, removes what an earlier run (a killed one
 * included) left that defeats the encryption, and returns one notice per file:
 *
 * - a copy in plain text beside the state (`.backup`, `.last-good`, its
 *   `.tmp`, `.unusable`): private keys in clear;
 * - while the state is in the rotated key slot (the last run that wrote it
 *   rotated C42_STATE_PASSPHRASE; the next steady run moves it back), every
 *   encrypted copy beside it or in `backupDir` that is not in that slot: it was
 *   written before the rotation, so the old passphrase opens it. The last good
 *   state is then kept again from the state itself;
 * - in `backupDir` (migrate-state's backups), a plain backup with the same
 *   bytes as an older one: what a retried migration wrote again. The oldest
 *   stays, the one documented backup.
 *
 * No passphrase is tried (a PBKDF2 derivation costs seconds): the key slot
 * names in the envelope's `meta` tell the copies apart.
 */
export function removeLeftoverCopies(stateFile: string, backupDir?: string): string[] {
  if (!isEncryptedState(stateFile)) return [];
  const notices: string[] = [];
  const rotated = keySlots(stateFile).join() === ROTATED_STATE_KEY_META;
  const backups =
    backupDir && existsSync(backupDir)
      ? readdirSync(backupDir)
          .sort()
          .map((name) => join(backupDir, name))
      : [];
  const lastGood = lastGoodStateFile(stateFile);
  let lastGoodRemoved = false;
  for (const file of [`${stateFile}.backup`, lastGood, `${lastGood}.tmp`, `${stateFile}.unusable`, ...backups]) {
    if (!existsSync(file) || !statSync(file).isFile()) continue;
    const beside = !backups.includes(file);
    if (beside && holdsStateInClear(file)) {
      rmSync(file);
      notices.push(`removed ${file}: a copy of the state in plain text (private keys in clear) that an earlier run left; the state ${stateFile} is encrypted.`);
    } else if (rotated && isEncryptedState(file) && !keySlots(file).includes(ROTATED_STATE_KEY_META)) {
      rmSync(file);
      notices.push(`removed ${file}: a copy of the state encrypted before C42_STATE_PASSPHRASE was rotated, which the old passphrase opens.`);
    } else continue;
    if (file === lastGood) lastGoodRemoved = true;
  }
  if (lastGoodRemoved) keepLastGoodState(stateFile);
  const seen = new Map<string, string>();
  for (const file of backups.filter((f) => existsSync(f) && isPlainState(f))) {
    const bytes = readFileSync(file, "utf8");
    const first = seen.get(bytes);
    if (first === undefined) {
      seen.set(bytes, file);
      continue;
    }
    rmSync(file);
    notices.push(`removed ${file}: the same plain-text backup as ${first}, written again by a retried migration; ${first} is the backup.`);
  }
  return notices;
}

/** The key slots an encrypted state's envelope names (`key_provider.pbkdf2.<slot>`), sorted. */
function keySlots(file: string): string[] {
  const meta = readJson(file)?.meta;
  return typeof meta === "object" && meta !== null ? Object.keys(meta).sort() : [];
}

/** A whole plain state, or a part of one (a file cut short while written) that shows a private key. */
function holdsStateInClear(file: string): boolean {
  if (isPlainState(file)) return true;
  if (isEncryptedState(file)) return false;
  return readFileSync(file, "utf8").includes("PRIVATE KEY");
}

/** Where the last good state is kept: beside the state, `<state>.last-good`, 0600. */
export function lastGoodStateFile(stateFile: string): string {
  return `${stateFile}.last-good`;
}

/**
 * Whether a state file can be used: a plain state (format 4) or OpenTofu's
 * encrypted envelope. An empty, truncated or unparseable file cannot; the
 * engine would read an empty one as "no state" and create everything again.
 */
export function isUsableState(file: string): boolean {
  return isPlainState(file) || isEncryptedState(file);
}

/**
 * Before an engine run that writes the state: keeps a copy of the state as
 * the last good state (0600, written to a temporary file and renamed, so the
 * copy itself is never half-written). The engine rewrites its local state
 * file in place, so a run killed mid-write (SIGKILL, out of memory, a
 * reboot) can leave it empty or truncated. Only a usable state is kept: a
 * damaged one never replaces the last good copy. Returns whether it kept one.
 */
export function keepLastGoodState(stateFile: string): boolean {
  if (!isUsableState(stateFile)) return false;
  const target = lastGoodStateFile(stateFile);
  const temporary = `${target}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, readFileSync(stateFile), { mode: 0o600, flag: "wx" });
  chmodSync(temporary, 0o600);
  renameSync(temporary, target);
  return true;
}

/**
 * When the state file exists but is unusable (empty, truncated, not JSON) and
 * a last good state is kept: moves the damaged file aside to
 * `<state>.unusable` (0600: it may hold parts of private keys) and puts the
 * last good state back. Returns the notice to print (naming the files), or
 * `undefined` when nothing was restored. An unusable state without a last
 * good copy is left to the engine: an empty one is a fresh state, anything
 * else makes the engine fail with its own message.
 */
export function restoreLastGoodState(stateFile: string): string | undefined {
  if (!existsSync(stateFile) || isUsableState(stateFile)) return undefined;
  const lastGood = lastGoodStateFile(stateFile);
  if (!isUsableState(lastGood)) return undefined;
  const size = statSync(stateFile).size;
  const aside = `${stateFile}.unusable`;
  renameSync(stateFile, aside);
  chmodSync(aside, 0o600);
  writeFileSync(stateFile, readFileSync(lastGood), { mode: 0o600, flag: "wx" });
  chmodSync(stateFile, 0o600);
  const what = size === 0 ? "empty" : `unusable (${size} bytes that are not a whole state: an engine run was stopped while writing it)`;
  return (
    `warning: the state ${stateFile} was ${what}; restored the last good state ${lastGood}, kept before the last engine run that wrote the state. ` +
    `The damaged file is kept as ${aside} (0600). Objects that run created in Vault after that copy are not in it: the next deploy takes over what its interrupted run recorded, or says what to do.`
  );
}

/** Root outputs as a state file and `tofu output -json` hold them. */
export type StateOutputs = Record<string, { readonly value: unknown; readonly sensitive?: boolean }>;

/** The parts of a state this project reads: root outputs, and the raw `resources` array. */
export interface StateRead {
  readonly outputs: StateOutputs;
  readonly resources: unknown;
}

/**
 * A local state file read without starting the engine: empty when there is no
 * state yet, `undefined` when the file is not a plain state (encrypted, or not
 * complete JSON, e.g. caught while the engine rewrites it): then only the
 * engine can read it.
 */
export function readPlainState(file: string): StateRead | undefined {
  if (!existsSync(file)) return { outputs: {}, resources: [] };
  const parsed = readJson(file);
  if (typeof parsed !== "object" || parsed === null || "encrypted_data" in parsed) return undefined;
  const outputs = parsed.outputs;
  return {
    outputs: typeof outputs === "object" && outputs !== null && !Array.isArray(outputs) ? (outputs as StateOutputs) : {},
    resources: parsed.resources ?? [],
  };
}

/** Whether a state file is in OpenTofu's encrypted envelope (`encrypted_data` + key `meta`). */
export function isEncryptedState(file: string): boolean {
  const parsed = readJson(file);
  return typeof parsed?.encrypted_data === "string" && typeof parsed.meta === "object";
}

/** Whether a state file is a plain Terraform state (format version 4, resources in clear). */
export function isPlainState(file: string): boolean {
  const parsed = readJson(file);
  return parsed?.version === 4 && Array.isArray(parsed.resources) && parsed.encrypted_data === undefined;
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
