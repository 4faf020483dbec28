import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { KeystoreValidationError } from "./errors";
import { checkBaseUrl, checkMountPath } from "./validation";

/** What the Vault CLI assumes when VAULT_ADDR is unset. */
export const DEFAULT_VAULT_ADDR = "https://127.0.0.1:8200";

const RESERVED_MOUNTS = ["sys", "auth", "identity", "cubbyhole"];

/** Every setting of the keystore, as one typed object. */
export interface KeystoreConfig {
  /** Base URL written into issuing-certificate and CRL URLs. */
  readonly publicUrl: string;
  /** Accept http:// URLs (local development only). */
  readonly allowInsecureHttp: boolean;
  readonly kv: { readonly path: string };
  readonly certAuth: { readonly path: string; readonly defaultLeaseTtl: string };
  readonly pki: { readonly path: string; readonly maxLeaseTtl: string };
  readonly pki_int: { readonly path: string; readonly maxLeaseTtl: string };
  readonly rootCa: { readonly commonName: string; readonly ttl: string; readonly preventDestroy: boolean };
  readonly intermediateCa: { readonly commonName: string; readonly ttl: string };
  readonly role: { readonly name: string };
  readonly adminCert: { readonly commonName: string; readonly ttl: string; readonly renewBefore: string };
  readonly policy: { readonly name: string; readonly extraPaths: readonly string[] };
  readonly certRole: { readonly name: string; readonly tokenTtl: string };
  /** Directory of the local state file (ignored with a remote backend). */
  readonly stateDir: string;
  /** Where the state lives; credentials never come from here, only from the environment. */
  readonly backend: {
    readonly type: string;
    readonly pg: { readonly schemaName: string };
    readonly s3: { readonly bucket: string; readonly key: string; readonly region: string; readonly endpoint: string };
    readonly gcs: { readonly bucket: string; readonly prefix: string };
    readonly azurerm: { readonly storageAccountName: string; readonly containerName: string; readonly key: string; readonly resourceGroupName: string };
    readonly consul: { readonly address: string; readonly path: string };
    readonly http: { readonly address: string; readonly lockAddress: string; readonly unlockAddress: string };
  };
  /** OpenTofu state and plan encryption; the passphrases themselves stay in the environment. */
  readonly stateEncryption: {
    /** `C42_STATE_PASSPHRASE` is set: state and saved plans are encrypted. */
    readonly enabled: boolean;
    /** `C42_STATE_PASSPHRASE_PREVIOUS` is set: read the state with it, write it with the new passphrase. */
    readonly rotating: boolean;
    /** Read a plain state once and write it back encrypted. */
    readonly migrateFromPlain: boolean;
  };
}

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

type Kind = "string" | "boolean" | "list";

/** One row of the settings table: its key, environment variable, default and meaning. */
export interface SettingSpec {
  readonly key: string;
  readonly env: string;
  readonly kind: Kind;
  /** The default, or a function of the environment for defaults that come from it. */
  readonly default: string | boolean | readonly string[] | ((env: NodeJS.ProcessEnv) => string);
  readonly doc: string;
}

const spec = (key: string, kind: Kind, def: SettingSpec["default"], doc: string): SettingSpec => ({
  key,
  env: "C42_" + key.replace(/\./g, "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase(),
  kind,
  default: def,
  doc,
});

/** The settings table: the single source of the config file keys, env variables and defaults. */
export const SETTINGS: readonly SettingSpec[] = [
  spec("publicUrl", "string", (env) => env.VAULT_ADDR || DEFAULT_VAULT_ADDR, "Base of the issuing-certificate and CRL URLs of both PKI mounts (default: `VAULT_ADDR`, else Vault's own default `https://127.0.0.1:8200`)"),
  spec("allowInsecureHttp", "boolean", false, "Accept an `http://` publicUrl; local development only"),
  spec("kv.path", "string", "secret", "Mount path of the kv version 1 engine"),
  spec("certAuth.path", "string", "cert", "Mount path of the cert auth method (under `auth/`)"),
  spec("certAuth.defaultLeaseTtl", "string", "60s", "Default lease of the cert auth method"),
  spec("pki.path", "string", "pki", "Mount path of the root PKI engine"),
  spec("pki.maxLeaseTtl", "string", "87600h", "Maximum lease of the root PKI engine"),
  spec("pki_int.path", "string", "pki_int", "Mount path of the intermediate PKI engine"),
  spec("pki_int.maxLeaseTtl", "string", "43800h", "Maximum lease of the intermediate PKI engine"),
  spec("rootCa.commonName", "string", "example.com", "Common name of the root CA"),
  spec("rootCa.ttl", "string", "87600h", "Validity of the root CA (at most `pki.maxLeaseTtl`)"),
  spec("rootCa.preventDestroy", "boolean", true, "Refuse any plan that destroys or replaces the root CA or its mount"),
  spec("intermediateCa.commonName", "string", "example.com Intermediate Authority", "Common name of the intermediate CA"),
  spec("intermediateCa.ttl", "string", "43800h", "Validity of the intermediate CA (at most `rootCa.ttl` and `pki_int.maxLeaseTtl`)"),
  spec("role.name", "string", "cpRole", "Name of the PKI role on `pki_int`"),
  spec("adminCert.commonName", "string", "crashplan-admin", "Common name of the admin client certificate"),
  spec("adminCert.ttl", "string", "8760h", "Validity of the admin certificate (at most `intermediateCa.ttl`)"),
  spec("adminCert.renewBefore", "string", "30d", "A deploy this close to expiry re-issues the admin certificate"),
  spec("policy.name", "string", "crashplanPolicy", "Name of the policy the admin certificate's tokens carry"),
  spec("policy.extraPaths", "list", [], "More policy paths with the same capabilities (env: comma-separated)"),
  spec("certRole.name", "string", "crashplanUser", "Name (and display name) of the cert auth role"),
  spec("certRole.tokenTtl", "string", "60s", "TTL of tokens from a certificate login"),
  spec("stateDir", "string", ".local/state", "Directory of the local Terraform state (relative to the project)"),
  spec("stateEncryption.migrateFromPlain", "boolean", false, "With `C42_STATE_PASSPHRASE` set, read a state that is not encrypted yet and write it back encrypted (one deploy; see docs/security.md)"),
  spec("backend.type", "string", "local", "Where the state lives: `local` (in stateDir), `pg`, `s3`, `gcs`, `azurerm`, `consul` or `http`; credentials come from the environment only (docs/security.md)"),
  spec("backend.pg.schemaName", "string", "c42_keystore", "Schema of the `pg` backend; the connection comes from `PG_CONN_STR` or libpq's `PG*` variables"),
  spec("backend.s3.bucket", "string", "", "Bucket of the `s3` backend (required with it); credentials from `AWS_*`"),
  spec("backend.s3.key", "string", "c42-keystore/keystore.tfstate", "Object key of the state in the `s3` bucket"),
  spec("backend.s3.region", "string", "", "Region of the `s3` bucket (default: `AWS_REGION`)"),
  spec("backend.s3.endpoint", "string", "", "S3 endpoint URL for S3-compatible storage (default: AWS)"),
  spec("backend.gcs.bucket", "string", "", "Bucket of the `gcs` backend (required with it); credentials from `GOOGLE_APPLICATION_CREDENTIALS`"),
  spec("backend.gcs.prefix", "string", "c42-keystore", "Object prefix of the state in the `gcs` bucket"),
  spec("backend.azurerm.storageAccountName", "string", "", "Storage account of the `azurerm` backend (required with it); credentials from `ARM_*`"),
  spec("backend.azurerm.containerName", "string", "", "Blob container of the `azurerm` backend (required with it)"),
  spec("backend.azurerm.key", "string", "c42-keystore.tfstate", "Blob name of the state in the `azurerm` container"),
  spec("backend.azurerm.resourceGroupName", "string", "", "Resource group of the storage account (only some `ARM_*` logins need it)"),
  spec("backend.consul.address", "string", "", "`host:port` of the `consul` agent (default: `CONSUL_HTTP_ADDR`); the token from `CONSUL_HTTP_TOKEN`"),
  spec("backend.consul.path", "string", "c42-keystore/state", "KV path of the state in `consul`"),
  spec("backend.http.address", "string", "", "State URL of the `http` backend (required with it); credentials from `TF_HTTP_USERNAME`/`TF_HTTP_PASSWORD`"),
  spec("backend.http.lockAddress", "string", "", "Lock URL of the `http` backend (no locking when empty)"),
  spec("backend.http.unlockAddress", "string", "", "Unlock URL of the `http` backend (default: lockAddress)"),
];

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
 * environment variables (the environment wins). Shape and cross-setting rules
 * are checked here; durations and TTL nesting are checked by the constructs
 * that own them, with the same setting names, before anything is synthesized.
 */
export function loadConfig(options: LoadConfigOptions = {}): KeystoreConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitFile = options.file ?? env.C42_CONFIG;
  const file = explicitFile ?? (existsSync(resolve(cwd, "keystore.config.json")) ? "keystore.config.json" : undefined);
  const fromFile = file ? readConfigFile(resolve(cwd, file)) : {};

  const values: Record<string, string | boolean | readonly string[]> = {};
  for (const s of SETTINGS) {
    const envValue = env[s.env];
    if (envValue !== undefined && envValue !== "") {
      values[s.key] = fromEnv(s, envValue);
    } else if (s.key in fromFile) {
      values[s.key] = fromJson(s, fromFile[s.key], file!);
    } else {
      values[s.key] = typeof s.default === "function" ? s.default(env) : s.default;
    }
  }
  const config = assemble(values, cwd, env);
  checkConfig(config);
  checkStateEncryption(config, env);
  if (env.VAULT_ADDR) {
    // The address the provider talks to carries the deploy token: https only, like publicUrl.
    checkBaseUrl("VAULT_ADDR", env.VAULT_ADDR, config.allowInsecureHttp);
  }
  return config;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new KeystoreValidationError("C42_CONFIG", path, `cannot be read (${(e as NodeJS.ErrnoException).code}); expected a readable JSON file`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new KeystoreValidationError("C42_CONFIG", path, `is not valid JSON (${(e as Error).message}); expected an object like {"pki_int": {"maxLeaseTtl": "43800h"}}`);
  }
  const flat: Record<string, unknown> = {};
  flatten(parsed, "", flat, path);
  const known = new Set(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(flat)) {
    if (!known.has(key)) {
      throw new KeystoreValidationError(key, flat[key], `is not a setting (in ${path}); expected one of: ${[...known].join(", ")}`);
    }
  }
  return flat;
}

function flatten(value: unknown, prefix: string, out: Record<string, unknown>, path: string): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new KeystoreValidationError(prefix || "(config file)", value, `is not an object (in ${path}); expected settings grouped as in the README`);
  }
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const isSection = SETTINGS.some((s) => s.key.startsWith(key + "."));
    if (isSection) flatten(v, key, out, path);
    else out[key] = v;
  }
}

function fromEnv(s: SettingSpec, raw: string): string | boolean | readonly string[] {
  switch (s.kind) {
    case "boolean":
      if (/^(1|true|yes)$/i.test(raw)) return true;
      if (/^(0|false|no)$/i.test(raw)) return false;
      throw new KeystoreValidationError(`${s.key} (${s.env})`, raw, 'is not a boolean; expected "true" or "false"');
    case "list":
      return raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
    default:
      return raw;
  }
}

function fromJson(s: SettingSpec, raw: unknown, file: string): string | boolean | readonly string[] {
  const ok =
    (s.kind === "string" && typeof raw === "string") ||
    (s.kind === "boolean" && typeof raw === "boolean") ||
    (s.kind === "list" && Array.isArray(raw) && raw.every((x) => typeof x === "string"));
  if (!ok) {
    const expected = s.kind === "list" ? "a list of strings" : `a ${s.kind}`;
    throw new KeystoreValidationError(s.key, raw, `has the wrong type (in ${file}); expected ${expected}`);
  }
  return raw as string | boolean | readonly string[];
}

function assemble(v: Record<string, string | boolean | readonly string[]>, cwd: string, env: NodeJS.ProcessEnv): KeystoreConfig {
  const str = (k: string) => v[k] as string;
  const bool = (k: string) => v[k] as boolean;
  const stateDir = str("stateDir");
  return {
    publicUrl: str("publicUrl"),
    allowInsecureHttp: bool("allowInsecureHttp"),
    kv: { path: str("kv.path") },
    certAuth: { path: str("certAuth.path"), defaultLeaseTtl: str("certAuth.defaultLeaseTtl") },
    pki: { path: str("pki.path"), maxLeaseTtl: str("pki.maxLeaseTtl") },
    pki_int: { path: str("pki_int.path"), maxLeaseTtl: str("pki_int.maxLeaseTtl") },
    rootCa: { commonName: str("rootCa.commonName"), ttl: str("rootCa.ttl"), preventDestroy: bool("rootCa.preventDestroy") },
    intermediateCa: { commonName: str("intermediateCa.commonName"), ttl: str("intermediateCa.ttl") },
    role: { name: str("role.name") },
    adminCert: { commonName: str("adminCert.commonName"), ttl: str("adminCert.ttl"), renewBefore: str("adminCert.renewBefore") },
    policy: { name: str("policy.name"), extraPaths: v["policy.extraPaths"] as readonly string[] },
    certRole: { name: str("certRole.name"), tokenTtl: str("certRole.tokenTtl") },
    stateDir: isAbsolute(stateDir) ? stateDir : resolve(cwd, stateDir),
    backend: {
      type: str("backend.type"),
      pg: { schemaName: str("backend.pg.schemaName") },
      s3: { bucket: str("backend.s3.bucket"), key: str("backend.s3.key"), region: str("backend.s3.region"), endpoint: str("backend.s3.endpoint") },
      gcs: { bucket: str("backend.gcs.bucket"), prefix: str("backend.gcs.prefix") },
      azurerm: {
        storageAccountName: str("backend.azurerm.storageAccountName"),
        containerName: str("backend.azurerm.containerName"),
        key: str("backend.azurerm.key"),
        resourceGroupName: str("backend.azurerm.resourceGroupName"),
      },
      consul: { address: str("backend.consul.address"), path: str("backend.consul.path") },
      http: { address: str("backend.http.address"), lockAddress: str("backend.http.lockAddress"), unlockAddress: str("backend.http.unlockAddress") },
    },
    stateEncryption: {
      enabled: !!env[SECRET_ENV.statePassphrase],
      rotating: !!env[SECRET_ENV.statePassphrasePrevious],
      migrateFromPlain: bool("stateEncryption.migrateFromPlain"),
    },
  };
}

/**
 * The passphrases are checked here, where the environment is read, and only
 * their length is ever shown: the value itself never reaches a message.
 */
function checkStateEncryption(config: KeystoreConfig, env: NodeJS.ProcessEnv): void {
  for (const name of [SECRET_ENV.statePassphrase, SECRET_ENV.statePassphrasePrevious]) {
    const value = env[name];
    if (value && value.length < MIN_PASSPHRASE_LENGTH) {
      throw new KeystoreValidationError(name, `${value.length} characters (value hidden)`, `is too short; expected at least ${MIN_PASSPHRASE_LENGTH} characters (OpenTofu's pbkdf2 minimum)`);
    }
  }
  const e = config.stateEncryption;
  if (e.rotating && !e.enabled) {
    throw new KeystoreValidationError(SECRET_ENV.statePassphrasePrevious, "set (value hidden)", `needs ${SECRET_ENV.statePassphrase}: expected the new passphrase in ${SECRET_ENV.statePassphrase} and the current one in ${SECRET_ENV.statePassphrasePrevious}`);
  }
  if (e.migrateFromPlain && !e.enabled) {
    throw new KeystoreValidationError("stateEncryption.migrateFromPlain", true, `needs ${SECRET_ENV.statePassphrase}: expected the passphrase to encrypt the state with`);
  }
  if (e.migrateFromPlain && e.rotating) {
    throw new KeystoreValidationError("stateEncryption.migrateFromPlain", true, `cannot be combined with ${SECRET_ENV.statePassphrasePrevious} (a plain state has no previous passphrase); expected one of the two`);
  }
}

/** Rules that span settings: mount paths are well-formed, not reserved, and do not overlap. */
function checkConfig(config: KeystoreConfig): void {
  const mounts: [string, string][] = [
    ["kv.path", config.kv.path],
    ["pki.path", config.pki.path],
    ["pki_int.path", config.pki_int.path],
  ];
  checkMountPath("certAuth.path", config.certAuth.path);
  for (const [key, path] of mounts) {
    checkMountPath(key, path);
    if (RESERVED_MOUNTS.includes(path.split("/")[0])) {
      throw new KeystoreValidationError(key, path, `starts with "${path.split("/")[0]}/", which Vault reserves; expected e.g. "secret" or "pki"`);
    }
  }
  for (let i = 0; i < mounts.length; i++) {
    for (let j = i + 1; j < mounts.length; j++) {
      const [ka, a] = mounts[i];
      const [kb, b] = mounts[j];
      if (a === b || a.startsWith(b + "/") || b.startsWith(a + "/")) {
        throw new KeystoreValidationError(kb, b, `collides with ${ka} ("${a}"); expected secret mounts that neither equal nor nest inside each other`);
      }
    }
  }
}
