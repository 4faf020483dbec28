import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseDuration } from "./duration";
import { KeystoreValidationError } from "./errors";
import { KeystoreSettings, SETTINGS, SettingSpec, nestValues } from "./settings";
import { isUnresolvedText } from "./token-text";
import { broadPolicyPathReach, checkBaseUrl, checkLength } from "./validation";

/** Every setting of the keystore as one typed object, plus what the secret environment turns on. */
export type KeystoreConfig = Omit<KeystoreSettings, "stateEncryption"> & {
  /** OpenTofu state and plan encryption; the passphrases themselves stay in the environment. */
  readonly stateEncryption: KeystoreSettings["stateEncryption"] & {
    /** `C42_STATE_PASSPHRASE` is set: state and saved plans are encrypted. */
    readonly enabled: boolean;
    /** `C42_STATE_PASSPHRASE_PREVIOUS` is set: read the state with it, write it with the new passphrase. */
    readonly rotating: boolean;
  };
};

/**
 * Secrets read from the environment only: never a setting, never in the config
 * file, never in the synthesized JSON or on a command line.
 */
export const SECRET_ENV = {
  /** Turns state and plan encryption on; at least 16 characters (OpenTofu's pbkdf2 minimum). */
  statePassphrase: "C42_STATE_PASSPHRASE",
  /** The passphrase the state is encrypted with now, while rotating to `C42_STATE_PASSPHRASE`. */
  statePassphrasePrevious: "C42_STATE_PASSPHRASE_PREVIOUS",
} as const;

/** OpenTofu's pbkdf2 key provider refuses shorter passphrases. */
export const MIN_PASSPHRASE_LENGTH = 16;

/** The largest config file read: far above any real one, far below what would slow a synth. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** The file read when C42_CONFIG is unset. */
export const DEFAULT_CONFIG_FILE = "keystore.config.json";

// Keys that would reach an object's prototype rather than its own properties.
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

type Value = string | boolean | readonly string[];

/** Where settings come from. */
export interface LoadConfigOptions {
  /** The environment to read `C42_*` and `VAULT_ADDR` from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** A JSON config file; `C42_CONFIG` names it, else `keystore.config.json` when present. */
  readonly file?: string;
  /** Directory relative paths are resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Loads the configuration: defaults, then the JSON file, then `C42_*`
 * environment variables (the environment wins). Every value is checked as the
 * raw text it arrived as (never as a cdktf token), against its setting's
 * rule and length limit, then the rules that span settings; durations and TTL
 * nesting are checked again by the constructs that own them. No value that
 * passes can carry an engine expression (`${…}`, `%{…}`) or a token.
 */
export function loadConfig(options: LoadConfigOptions = {}): KeystoreConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.file === undefined && env.C42_CONFIG !== undefined && env.C42_CONFIG.trim() === "") {
    throw new KeystoreValidationError(
      "C42_CONFIG",
      env.C42_CONFIG,
      "is empty; expected the path of a JSON config file, or C42_CONFIG unset to read keystore.config.json when present",
    );
  }
  const explicitFile = options.file ?? env.C42_CONFIG;
  const file = explicitFile ?? (existsRegular(resolve(cwd, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  const fromFile = file ? readConfigFile(resolve(cwd, file)) : new Map<string, unknown>();

  const values = new Map<string, Value>();
  for (const s of SETTINGS) {
    const envValue = env[s.env];
    let value: Value;
    if (envValue !== undefined && envValue !== "") value = fromEnv(s, envValue);
    else if (fromFile.has(s.key)) value = fromJson(s, fromFile.get(s.key), file!);
    else value = typeof s.setting.defaultValue === "function" ? s.setting.defaultValue(env) : s.setting.defaultValue;
    values.set(s.key, checkRaw(s, value));
  }
  for (const s of SETTINGS) {
    const value = values.get(s.key);
    if (s.setting.isPath && typeof value === "string" && value !== "" && !isAbsolute(value)) values.set(s.key, resolve(cwd, value));
  }
  const settings = nestValues(values);
  const config: KeystoreConfig = {
    ...settings,
    stateEncryption: {
      ...settings.stateEncryption,
      enabled: !!env[SECRET_ENV.statePassphrase],
      rotating: !!env[SECRET_ENV.statePassphrasePrevious],
    },
  };
  checkConfig(config);
  checkStateEncryption(config, env);
  if (env.VAULT_ADDR) {
    // The address the provider talks to carries the deploy token: https only, like publicUrl.
    checkBaseUrl("VAULT_ADDR", env.VAULT_ADDR, config.allowInsecureHttp);
  }
  return config;
}

/**
 * The checks every value passes as raw text: no cdktf token marker (a value
 * that looks like a token would be substituted, and would skip every check
 * that leaves tokens for apply time), no control characters, the length
 * limit, then the setting's own rule.
 */
function checkRaw(s: SettingSpec, value: Value): Value {
  const texts = typeof value === "string" ? [value] : typeof value === "boolean" ? [] : value;
  texts.forEach((t, i) => {
    const key = typeof value === "string" ? s.key : `${s.key}[${i}]`;
    checkLength(key, t, s.setting.maxLength);
    if (isUnresolvedText(t) || /[$#]\{(Tf)?Token\[/.test(t)) {
      throw new KeystoreValidationError(key, t, "contains cdktf's token marker; expected plain text (configuration values are data, never references)");
    }
    // OpenTofu evaluates these in every JSON string, backend settings included
    // (early evaluation); Terraform leaves backend strings alone, so no escaped
    // form ($${, %%{) reads back the same under both engines: refuse them.
    if (/[$%]\{/.test(t)) {
      throw new KeystoreValidationError(
        key,
        t,
        'contains "${" or "%{", which OpenTofu and Terraform read as an expression or a template directive; expected plain text (configuration values are data, never code)',
      );
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(t)) {
      throw new KeystoreValidationError(key, t, "contains a control character (newline, tab, NUL…); expected plain text on one line");
    }
  });
  return (s.setting.check as (k: string, v: Value) => Value)(s.key, value);
}

function existsRegular(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads the config file: a regular file (a FIFO or a device would block or
 * never end) of at most {@link MAX_CONFIG_FILE_BYTES}, checked on the opened
 * descriptor so the file cannot be swapped between the check and the read.
 */
function readConfigFile(path: string): Map<string, unknown> {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new KeystoreValidationError("C42_CONFIG", path, "is not a regular file; expected a JSON config file");
    }
    if (st.size > MAX_CONFIG_FILE_BYTES) {
      throw new KeystoreValidationError("C42_CONFIG", path, `is ${st.size} bytes; expected a JSON config file of at most ${MAX_CONFIG_FILE_BYTES} bytes`);
    }
    const buffer = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buffer, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    text = buffer.subarray(0, read).toString("utf8");
  } catch (e) {
    if (e instanceof KeystoreValidationError) throw e;
    throw new KeystoreValidationError("C42_CONFIG", path, `cannot be read (${(e as NodeJS.ErrnoException).code}); expected a readable JSON file`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new KeystoreValidationError(
      "C42_CONFIG",
      path,
      `is not valid JSON (${(e as Error).message}); expected an object like {"pki_int": {"maxLeaseTtl": "43800h"}}`,
    );
  }
  const flat = new Map<string, unknown>();
  flatten(parsed, "", flat, path);
  return flat;
}

/**
 * Flattens the nested file into setting keys. Only the nested form is
 * accepted (`{"kv": {"path": …}}`), keys are own properties checked one by
 * one against the schema, and prototype keys are refused outright.
 */
function flatten(value: unknown, prefix: string, out: Map<string, unknown>, path: string): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new KeystoreValidationError(prefix || "(config file)", value, `is not an object (in ${path}); expected settings grouped as in the README`);
  }
  const known = SETTINGS.map((s) => s.key);
  for (const k of Object.keys(value)) {
    const v: unknown = (value as Record<string, unknown>)[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (FORBIDDEN_KEYS.has(k)) {
      throw new KeystoreValidationError(key, "(any value)", `is not a setting (in ${path}); "${k}" is never a key of the config file`);
    }
    if (k.includes(".")) {
      throw new KeystoreValidationError(
        key,
        v,
        `is not a setting (in ${path}); expected the nested form, e.g. {"kv": {"path": "secret"}} rather than {"kv.path": "secret"}`,
      );
    }
    if (known.includes(key)) out.set(key, v);
    else if (known.some((s) => s.startsWith(key + "."))) flatten(v, key, out, path);
    else throw new KeystoreValidationError(key, v, `is not a setting (in ${path}); expected one of: ${known.join(", ")}`);
  }
}

function fromEnv(s: SettingSpec, raw: string): Value {
  switch (s.setting.kind) {
    case "boolean": {
      const text = raw.trim();
      if (/^(1|true|yes)$/i.test(text)) return true;
      if (/^(0|false|no)$/i.test(text)) return false;
      throw new KeystoreValidationError(`${s.key} (${s.env})`, raw, 'is not a boolean; expected "true" or "false"');
    }
    case "list":
      return raw
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== "");
    default:
      return raw;
  }
}

function fromJson(s: SettingSpec, raw: unknown, file: string): Value {
  const kind = s.setting.kind;
  const ok =
    (kind === "string" && typeof raw === "string") ||
    (kind === "boolean" && typeof raw === "boolean") ||
    (kind === "list" && Array.isArray(raw) && raw.every((x) => typeof x === "string"));
  if (!ok) {
    const expected = kind === "list" ? "a list of strings" : `a ${kind}`;
    throw new KeystoreValidationError(s.key, raw, `has the wrong type (in ${file}); expected ${expected}`);
  }
  if (kind === "list" && (raw as unknown[]).length > 64) {
    throw new KeystoreValidationError(s.key, `${(raw as unknown[]).length} entries`, `is too long (in ${file}); expected at most 64 entries`);
  }
  return raw as Value;
}

/**
 * The passphrases are checked here, where the environment is read, and only
 * their length is ever shown: the value itself never reaches a message.
 */
function checkStateEncryption(config: KeystoreConfig, env: NodeJS.ProcessEnv): void {
  for (const name of [SECRET_ENV.statePassphrase, SECRET_ENV.statePassphrasePrevious]) {
    const value = env[name];
    if (value && value.length < MIN_PASSPHRASE_LENGTH) {
      throw new KeystoreValidationError(
        name,
        `${value.length} characters (value hidden)`,
        `is too short; expected at least ${MIN_PASSPHRASE_LENGTH} characters (OpenTofu's pbkdf2 minimum)`,
      );
    }
  }
  const e = config.stateEncryption;
  if (e.rotating && !e.enabled) {
    throw new KeystoreValidationError(
      SECRET_ENV.statePassphrasePrevious,
      "set (value hidden)",
      `needs ${SECRET_ENV.statePassphrase}: expected the new passphrase in ${SECRET_ENV.statePassphrase} and the current one in ${SECRET_ENV.statePassphrasePrevious}`,
    );
  }
  if (e.migrateFromPlain && !e.enabled) {
    throw new KeystoreValidationError(
      "stateEncryption.migrateFromPlain",
      true,
      `needs ${SECRET_ENV.statePassphrase}: expected the passphrase to encrypt the state with`,
    );
  }
  if (e.migrateFromPlain && e.rotating) {
    throw new KeystoreValidationError(
      "stateEncryption.migrateFromPlain",
      true,
      `cannot be combined with ${SECRET_ENV.statePassphrasePrevious} (a plain state has no previous passphrase); expected one of the two`,
    );
  }
}

/**
 * Rules that span settings: secret mounts do not overlap, the health probe's
 * critical window lies inside its warning window, and broad policy paths are
 * acknowledged. Each setting's own rule ran in {@link checkRaw}.
 */
function checkConfig(config: KeystoreConfig): void {
  const mounts: [string, string][] = [
    ["kv.path", config.kv.path],
    ["pki.path", config.pki.path],
    ["pki_int.path", config.pki_int.path],
  ];
  for (let i = 0; i < mounts.length; i++) {
    for (let j = i + 1; j < mounts.length; j++) {
      const [ka, a] = mounts[i];
      const [kb, b] = mounts[j];
      if (a === b || a.startsWith(b + "/") || b.startsWith(a + "/")) {
        throw new KeystoreValidationError(kb, b, `collides with ${ka} ("${a}"); expected secret mounts that neither equal nor nest inside each other`);
      }
    }
  }
  if (config.ci.provider !== "none" && config.ci.path === config.certAuth.path) {
    throw new KeystoreValidationError("ci.path", config.ci.path, `equals certAuth.path; expected an auth path of its own for CI's JWT login, e.g. "jwt-ci"`);
  }
  if (parseDuration("health.certCritBefore", config.health.certCritBefore) >= parseDuration("health.certWarnBefore", config.health.certWarnBefore)) {
    throw new KeystoreValidationError(
      "health.certCritBefore",
      config.health.certCritBefore,
      `is not shorter than health.certWarnBefore ("${config.health.certWarnBefore}"); expected the critical window inside the warning window`,
    );
  }
  if (!config.policy.allowBroadPaths) {
    config.policy.extraPaths.forEach((p, i) => {
      const reach = broadPolicyPathReach(p);
      if (reach) {
        throw new KeystoreValidationError(
          `policy.extraPaths[${i}]`,
          p,
          `grants Code42's token create, read, update, delete and list on ${reach}; expected a path under one application's data (e.g. "secret/code42/*"), or set policy.allowBroadPaths to true to accept this grant`,
        );
      }
    });
  }
}
