import { ROTATION_MODES } from "./admin-rotation-phase";
import { CI_PROVIDERS, checkCiText } from "./ci-claims";
import { parseDuration } from "./duration";
import { KeystoreValidationError } from "./errors";
import {
  RESERVED_AUTH_MOUNTS,
  RESERVED_SECRET_MOUNTS,
  checkCommonName,
  checkName,
  checkPolicyName,
  checkPolicyPath,
  checkUnreservedMount,
  checkUrlText,
} from "./validation";

/** What the Vault CLI assumes when VAULT_ADDR is unset. */
export const DEFAULT_VAULT_ADDR = "https://127.0.0.1:8200";

/** `audit.mode`: check for a config-declared device (OpenBao), enable one through the API (HashiCorp Vault), or neither. */
export const AUDIT_MODES = ["require", "enable", "off"] as const;

/** The backends a user can choose with `backend.type`. */
export const BACKEND_TYPES = ["local", "pg", "s3", "gcs", "azurerm", "consul", "http"] as const;

/** The named choices of `engine`; an absolute path to a binary is the other form. */
export const ENGINE_CHOICES = ["auto", "tofu", "terraform"] as const;

/** How a setting is written in the config file and in its `C42_*` variable. */
export type SettingKind = "string" | "boolean" | "list";

type ValueOfKind<K extends SettingKind> = K extends "boolean" ? boolean : K extends "list" ? readonly string[] : string;

/**
 * One setting: its kind, default, meaning, and the check its raw value must
 * pass before anything is built. Every other fact about it (its config file
 * key, its `C42_*` variable, its row in README's table, its type in
 * {@link KeystoreSettings}) is derived from its place in {@link SCHEMA}.
 */
export class Setting<K extends SettingKind = SettingKind> {
  public constructor(
    public readonly kind: K,
    /** The default, or a function of the environment for defaults that come from it. */
    public readonly defaultValue: ValueOfKind<K> | ((env: NodeJS.ProcessEnv) => ValueOfKind<K>),
    /** One line for README's table. */
    public readonly doc: string,
    /** Validates the raw value (the setting's key is passed for the message); returns it, possibly normalized. */
    public readonly check: (key: string, value: ValueOfKind<K>) => ValueOfKind<K> = (_k, v) => v,
    /** The longest raw value accepted (a string, or each list entry). */
    public readonly maxLength: number = 1024,
    /** A file-system path: a relative value is resolved against the project directory. */
    public readonly isPath: boolean = false,
  ) {}
}

const text = (def: string | ((env: NodeJS.ProcessEnv) => string), doc: string, check?: (key: string, v: string) => string, maxLength?: number) =>
  new Setting("string", def, doc, check, maxLength);
const flag = (def: boolean, doc: string) => new Setting("boolean", def, doc);
const path = (def: string, doc: string, maxLength = 4096) => new Setting("string", def, doc, undefined, maxLength, true);
const duration = (def: string, doc: string) =>
  text(
    def,
    doc,
    (key, v) => {
      parseDuration(key, v);
      return v;
    },
    32,
  );
const boundedDuration = (def: string, maxSeconds: number, doc: string) =>
  text(
    def,
    doc,
    (key, v) => {
      if (parseDuration(key, v) > maxSeconds) throw new KeystoreValidationError(key, v, `is too long; expected at most ${maxSeconds}s`);
      return v;
    },
    32,
  );
const secretsMount = (def: string, doc: string) => text(def, doc, (key, v) => checkUnreservedMount(key, v, RESERVED_SECRET_MOUNTS));
const name = (def: string, doc: string) => text(def, doc, (key, v) => checkName(key, v));
const commonName = (def: string, doc: string) => text(def, doc, (key, v) => checkCommonName(key, v));
const url = (def: string | ((env: NodeJS.ProcessEnv) => string), doc: string) =>
  text(
    def,
    doc,
    (key, v) => {
      if (v !== "") checkUrlText(key, v, 'expected e.g. "https://vault.example.com:8200"');
      return v;
    },
    2048,
  );
const choice = (def: string, choices: readonly string[], noun: string, doc: string) =>
  text(def, doc, (key, v) => {
    if (!choices.includes(v)) throw new KeystoreValidationError(key, v, `is not a ${noun}; expected one of ${choices.join(", ")}`);
    return v;
  });

/**
 * Every setting of the keystore, once. Sections nest as in the config file;
 * adding a setting is one entry here plus its use.
 */
export const SCHEMA = {
  publicUrl: url(
    (env) => env.VAULT_ADDR || DEFAULT_VAULT_ADDR,
    "Base of the issuing-certificate and CRL URLs of both PKI mounts (default: `VAULT_ADDR`, else Vault's own default `https://127.0.0.1:8200`)",
  ),
  allowInsecureHttp: flag(false, "Accept an `http://` publicUrl; local development only"),
  kv: { path: secretsMount("secret", "Mount path of the kv version 1 engine") },
  certAuth: {
    path: text("cert", "Mount path of the cert auth method (under `auth/`)", (key, v) => checkUnreservedMount(key, v, RESERVED_AUTH_MOUNTS)),
    defaultLeaseTtl: duration("60s", "Default lease of the cert auth method"),
  },
  pki: {
    path: secretsMount("pki", "Mount path of the root PKI engine"),
    maxLeaseTtl: duration("87600h", "Maximum lease of the root PKI engine"),
  },
  pki_int: {
    path: secretsMount("pki_int", "Mount path of the intermediate PKI engine"),
    maxLeaseTtl: duration("43800h", "Maximum lease of the intermediate PKI engine"),
  },
  rootCa: {
    commonName: commonName("example.com", "Common name of the root CA"),
    ttl: duration("87600h", "Validity of the root CA (at most `pki.maxLeaseTtl`)"),
    preventDestroy: flag(true, "Refuse any plan that destroys or replaces the root CA or its mount (with `rootCa.external`: the intermediate's mount and key)"),
    external: flag(
      false,
      "Your own root CA outside Vault signs the intermediate: no `pki` mount or root is made, and a deploy stops at the `intermediate_csr` output until `intermediateCa.signedCertificateFile` is set (see [External root CA](#external-root-ca))",
    ),
  },
  intermediateCa: {
    commonName: commonName("example.com Intermediate Authority", "Common name of the intermediate CA"),
    ttl: duration("43800h", "Validity of the intermediate CA (at most `rootCa.ttl` and `pki_int.maxLeaseTtl`)"),
    signedCertificateFile: path(
      "",
      "With `rootCa.external`: PEM file (relative to the project directory) holding the intermediate signed by your root CA, then your root's certificate",
    ),
  },
  role: { name: name("cpRole", "Name of the PKI role on `pki_int`") },
  adminCert: {
    commonName: commonName("crashplan-admin", "Common name of the admin client certificate"),
    ttl: duration("8760h", "Validity of the admin certificate (at most `intermediateCa.ttl`)"),
    renewBefore: duration(
      "30d",
      "A deploy this close to expiry starts a rotation of the admin certificate (with `adminCert.rotation` `one-step`: re-issues it)",
    ),
    rotation: choice(
      "two-phase",
      ROTATION_MODES,
      "rotation mode",
      "`two-phase`: a deploy inside the window issues the next certificate beside the current one, and `rotate finish` retires the old one once Code42 has the new bundle; `one-step`: the deploy replaces it at once (Code42 cannot log in until the new bundle is uploaded)",
    ),
  },
  policy: {
    name: text("crashplanPolicy", "Name of the policy the admin certificate's tokens carry (not one of Vault's built-in `root`, `default`, …)", (key, v) =>
      checkPolicyName(key, v),
    ),
    extraPaths: new Setting(
      "list",
      [],
      "More policy paths with the same capabilities (env: comma-separated); paths reaching all of `sys/`, `auth/` or every path need `policy.allowBroadPaths`",
      (key, paths) => {
        paths.forEach((p, i) => checkPolicyPath(`${key}[${i}]`, p));
        return paths;
      },
      256,
    ),
    allowBroadPaths: flag(
      false,
      "Accept `policy.extraPaths` entries such as `*`, `+/…`, `sys/*` or `auth/*` that grant Code42 every capability on every path, or on Vault's own configuration",
    ),
  },
  certRole: {
    name: name("crashplanUser", "Name (and display name) of the cert auth role"),
    tokenTtl: duration("60s", "TTL of tokens from a certificate login"),
  },
  health: {
    certWarnBefore: duration("30d", "`health` warns when the Vault server's or the admin certificate expires within this"),
    certCritBefore: duration("7d", "`health` is critical when a certificate expires within this (shorter than `health.certWarnBefore`)"),
    checkTimeout: boundedDuration("10s", 300, "Longest one `health` check may take (at most 5m); a server that has not answered by then is critical"),
    backupMaxAge: duration("26h", "`health` warns when the newest complete backup is older than this (daily backups plus slack)"),
    driftTimeout: boundedDuration("10m", 3600, "Longest `health --drift` lets the drift check run (at most 1h); it is stopped then and reported UNKNOWN"),
  },
  audit: {
    mode: choice(
      "require",
      AUDIT_MODES,
      "valid audit mode",
      "`require`: deploy and drift check that the server has an audit device (OpenBao ≥ 2.3.2 takes them from its server config only); `enable`: the stack enables a file audit device through the API (HashiCorp Vault); `off`: no check",
    ),
    filePath: text("", "With `audit.mode` `enable`: absolute path of the audit log on the Vault server's host", undefined, 4096),
  },
  engine: text(
    "auto",
    "The engine that plans and applies: `auto` (OpenTofu ≥ 1.10 from PATH or the toolchain, else Terraform ≥ 1.5 from PATH), `tofu`, `terraform`, or the absolute path of either binary",
    (key, v) => {
      if (!(ENGINE_CHOICES as readonly string[]).includes(v) && !v.startsWith("/")) {
        throw new KeystoreValidationError(
          key,
          v,
          `is not an engine (C42_ENGINE); expected ${ENGINE_CHOICES.join(", ")} or the absolute path of a tofu or terraform binary`,
        );
      }
      return v;
    },
    4096,
  ),
  stateDir: path(".local/state", "Directory of the local Terraform state (relative to the project directory)"),
  lockTimeout: duration(
    "5m",
    "How long a command waits for another one in the same checkout (the project lock) and for the state lock of a backend that locks, before it gives up with one line naming the holder",
  ),
  stateEncryption: {
    migrateFromPlain: flag(
      false,
      "With `C42_STATE_PASSPHRASE` set, read a state that is not encrypted yet and write it back encrypted (one deploy; see docs/security.md)",
    ),
  },
  backend: {
    type: choice(
      "local",
      BACKEND_TYPES,
      "backend",
      "Where the state lives: `local` (in stateDir), `pg`, `s3`, `gcs`, `azurerm`, `consul` or `http`; credentials come from the environment only (docs/security.md)",
    ),
    pg: { schemaName: text("c42_keystore", "Schema of the `pg` backend; the connection comes from `PG_CONN_STR` or libpq's `PG*` variables") },
    s3: {
      bucket: text("", "Bucket of the `s3` backend (required with it); credentials from `AWS_*`"),
      key: text("c42-keystore/keystore.tfstate", "Object key of the state in the `s3` bucket"),
      region: text("", "Region of the `s3` bucket (default: `AWS_REGION`)"),
      endpoint: url("", "S3 endpoint URL for S3-compatible storage (default: AWS)"),
    },
    gcs: {
      bucket: text("", "Bucket of the `gcs` backend (required with it); credentials from `GOOGLE_APPLICATION_CREDENTIALS`"),
      prefix: text("c42-keystore", "Object prefix of the state in the `gcs` bucket"),
    },
    azurerm: {
      storageAccountName: text("", "Storage account of the `azurerm` backend (required with it); credentials from `ARM_*`"),
      containerName: text("", "Blob container of the `azurerm` backend (required with it)"),
      key: text("c42-keystore.tfstate", "Blob name of the state in the `azurerm` container"),
      resourceGroupName: text("", "Resource group of the storage account (only some `ARM_*` logins need it)"),
    },
    consul: {
      address: text("", "`host:port` of the `consul` agent (default: `CONSUL_HTTP_ADDR`); the token from `CONSUL_HTTP_TOKEN`"),
      path: text("c42-keystore/state", "KV path of the state in `consul`"),
    },
    http: {
      address: url("", "State URL of the `http` backend (required with it); credentials from `TF_HTTP_USERNAME`/`TF_HTTP_PASSWORD`"),
      lockAddress: url("", "Lock URL of the `http` backend (no locking when empty)"),
      unlockAddress: url("", "Unlock URL of the `http` backend (default: lockAddress)"),
    },
  },
  ci: {
    provider: choice(
      "none",
      CI_PROVIDERS,
      "CI provider",
      "`github` or `gitlab`: a JWT auth method and the roles `c42-keystore-plan` and `c42-keystore-apply` let that CI's OIDC tokens log in (docs/ci.md); `none`: no CI login",
    ),
    path: text("jwt-ci", "Mount path of the JWT auth method CI logs in with (under `auth/`)", (key, v) => checkUnreservedMount(key, v, RESERVED_AUTH_MOUNTS)),
    issuer: url(
      "",
      "The `iss` of CI's tokens, also the OIDC discovery URL (default with `github`: `https://token.actions.githubusercontent.com`; required with `gitlab`, e.g. `https://gitlab.com`)",
    ),
    validationKeysFile: path("", "PEM file of the public keys that sign CI's tokens, trusted instead of OIDC discovery (air-gapped GitLab; the tests)"),
    audience: text("", "The `aud` CI's tokens must carry (required with a provider), e.g. `https://vault.example.com`", (key, v) => checkCiText(key, v)),
    repository: text(
      "",
      "The one repository (`owner/repo`) or project (`group/project`) whose pipelines may log in (required with a provider; no wildcards)",
      (key, v) => checkCiText(key, v),
    ),
    branch: text("main", "The protected branch whose pipelines may log in (no wildcards)", (key, v) => checkCiText(key, v)),
    planEnvironment: text("keystore-plan", "The CI environment of the plan and drift jobs (role `c42-keystore-plan`)", (key, v) => checkCiText(key, v)),
    applyEnvironment: text("keystore-production", "The CI environment of the apply job (role `c42-keystore-apply`)", (key, v) => checkCiText(key, v)),
    tokenTtl: boundedDuration("15m", 3600, "Lifetime of a CI login's Vault token, not renewable past it (at most 1h)"),
  },
} as const;

/** The values of a schema section, typed from its entries. */
export type SettingValues<S> = { readonly [K in keyof S]: S[K] extends Setting<infer Kind> ? ValueOfKind<Kind> : SettingValues<S[K]> };

/** Every setting's value, shaped like the config file. */
export type KeystoreSettings = SettingValues<typeof SCHEMA>;

/** One setting with the names derived from its place in the schema. */
export interface SettingSpec {
  /** Config file path, dotted, e.g. `pki_int.maxLeaseTtl`: also the name error messages use. */
  readonly key: string;
  /** Its environment variable, e.g. `C42_PKI_INT_MAX_LEASE_TTL`. */
  readonly env: string;
  readonly setting: Setting;
}

/** `pki_int.maxLeaseTtl` → `C42_PKI_INT_MAX_LEASE_TTL`. */
export const envName = (key: string) =>
  "C42_" +
  key
    .replace(/\./g, "_")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase();

function flattenSchema(section: object, prefix: string): SettingSpec[] {
  return Object.entries(section).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v instanceof Setting ? [{ key, env: envName(key), setting: v }] : flattenSchema(v as object, key);
  });
}

/** Every setting in schema order: the source of README's table and of the loader. */
export const SETTINGS: readonly SettingSpec[] = flattenSchema(SCHEMA, "");

/** Builds the nested values object from values by key, following the schema's shape. */
export function nestValues(values: ReadonlyMap<string, unknown>): KeystoreSettings {
  const build = (section: object, prefix: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(section).map(([k, v]) => {
        const key = prefix ? `${prefix}.${k}` : k;
        return [k, v instanceof Setting ? values.get(key) : build(v as object, key)];
      }),
    );
  return build(SCHEMA, "") as unknown as KeystoreSettings;
}
