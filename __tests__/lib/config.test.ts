import { join } from "node:path";
import { loadConfig } from "../../lib/config";
import { SETTINGS } from "../../lib/settings";
import { VAULT_ADDR, freshConfigDirEachTest, writeFileIn } from "../helpers/config-dir";

let cwd: string;
freshConfigDirEachTest((dir) => (cwd = dir));
const writeJson = (name: string, value: unknown) => writeFileIn(cwd, name, JSON.stringify(value));

describe("defaults", () => {
  test("reproduce the recipe's seed values", () => {
    expect(loadConfig({ env: { VAULT_ADDR }, cwd })).toEqual({
      publicUrl: VAULT_ADDR,
      allowInsecureHttp: false,
      kv: { path: "secret" },
      certAuth: { path: "cert", defaultLeaseTtl: "60s" },
      pki: { path: "pki", maxLeaseTtl: "87600h" },
      pki_int: { path: "pki_int", maxLeaseTtl: "43800h" },
      rootCa: { commonName: "example.com", ttl: "87600h", preventDestroy: true, external: false },
      intermediateCa: { commonName: "example.com Intermediate Authority", ttl: "43800h", signedCertificateFile: "" },
      role: { name: "cpRole" },
      adminCert: { commonName: "crashplan-admin", ttl: "8760h", renewBefore: "30d", rotation: "two-phase" },
      policy: { name: "crashplanPolicy", extraPaths: [], allowBroadPaths: false },
      certRole: { name: "crashplanUser", tokenTtl: "60s" },
      health: { certWarnBefore: "30d", certCritBefore: "7d", checkTimeout: "10s", backupMaxAge: "26h", driftTimeout: "10m" },
      engine: "auto",
      stateDir: join(cwd, ".local/state"),
      lockTimeout: "5m",
      audit: { mode: "require", filePath: "" },
      backend: {
        type: "local",
        pg: { schemaName: "c42_keystore" },
        s3: { bucket: "", key: "c42-keystore/keystore.tfstate", region: "", endpoint: "" },
        gcs: { bucket: "", prefix: "c42-keystore" },
        azurerm: { storageAccountName: "", containerName: "", key: "c42-keystore.tfstate", resourceGroupName: "" },
        consul: { address: "", path: "c42-keystore/state" },
        http: { address: "", lockAddress: "", unlockAddress: "" },
      },
      ci: {
        provider: "none",
        path: "jwt-ci",
        issuer: "",
        validationKeysFile: "",
        audience: "",
        repository: "",
        branch: "main",
        planEnvironment: "keystore-plan",
        applyEnvironment: "keystore-production",
        tokenTtl: "15m",
      },
      stateEncryption: { enabled: false, rotating: false, migrateFromPlain: false },
    });
  });

  test("publicUrl defaults to VAULT_ADDR", () => {
    expect(loadConfig({ env: { VAULT_ADDR: "https://other.example.org" }, cwd }).publicUrl).toBe("https://other.example.org");
  });

  test("publicUrl falls back to the Vault CLI's own default when VAULT_ADDR is unset or empty", () => {
    expect(loadConfig({ env: {}, cwd }).publicUrl).toBe("https://127.0.0.1:8200");
    expect(loadConfig({ env: { VAULT_ADDR: "" }, cwd }).publicUrl).toBe("https://127.0.0.1:8200");
  });

  test("read from the given env only, not from process.env", () => {
    const saved = process.env.C42_KV_PATH;
    process.env.C42_KV_PATH = "from-process-env";
    try {
      expect(loadConfig({ env: { VAULT_ADDR }, cwd }).kv.path).toBe("secret");
    } finally {
      if (saved === undefined) delete process.env.C42_KV_PATH;
      else process.env.C42_KV_PATH = saved;
    }
  });
});

describe("environment variables", () => {
  test("are named C42_ plus the setting in upper snake case", () => {
    const names = Object.fromEntries(SETTINGS.map((s) => [s.key, s.env]));
    expect(names).toMatchObject({
      publicUrl: "C42_PUBLIC_URL",
      allowInsecureHttp: "C42_ALLOW_INSECURE_HTTP",
      "kv.path": "C42_KV_PATH",
      "certAuth.defaultLeaseTtl": "C42_CERT_AUTH_DEFAULT_LEASE_TTL",
      "pki_int.path": "C42_PKI_INT_PATH",
      "pki_int.maxLeaseTtl": "C42_PKI_INT_MAX_LEASE_TTL",
      "rootCa.preventDestroy": "C42_ROOT_CA_PREVENT_DESTROY",
      "adminCert.renewBefore": "C42_ADMIN_CERT_RENEW_BEFORE",
      "policy.extraPaths": "C42_POLICY_EXTRA_PATHS",
      stateDir: "C42_STATE_DIR",
    });
    expect(new Set(SETTINGS.map((s) => s.env)).size).toBe(SETTINGS.length);
  });

  test("set every setting", () => {
    const config = loadConfig({
      cwd,
      env: {
        VAULT_ADDR,
        C42_PUBLIC_URL: "http://localhost:8200",
        C42_ALLOW_INSECURE_HTTP: "true",
        C42_KV_PATH: "kv1",
        C42_CERT_AUTH_PATH: "tls",
        C42_CERT_AUTH_DEFAULT_LEASE_TTL: "2m",
        C42_PKI_PATH: "root",
        C42_PKI_MAX_LEASE_TTL: "50000h",
        C42_PKI_INT_PATH: "issuing",
        C42_PKI_INT_MAX_LEASE_TTL: "20000h",
        C42_ROOT_CA_COMMON_NAME: "Acme Root",
        C42_ROOT_CA_TTL: "40000h",
        C42_ROOT_CA_PREVENT_DESTROY: "false",
        C42_INTERMEDIATE_CA_COMMON_NAME: "Acme Issuing",
        C42_INTERMEDIATE_CA_TTL: "10000h",
        C42_ROLE_NAME: "code42",
        C42_ADMIN_CERT_COMMON_NAME: "backup-admin",
        C42_ADMIN_CERT_TTL: "720h",
        C42_ADMIN_CERT_RENEW_BEFORE: "7d",
        C42_ADMIN_CERT_ROTATION: "one-step",
        C42_POLICY_NAME: "code42Policy",
        C42_POLICY_EXTRA_PATHS: "secret/code42/*",
        C42_CERT_ROLE_NAME: "code42User",
        C42_CERT_ROLE_TOKEN_TTL: "5m",
        C42_HEALTH_CERT_WARN_BEFORE: "45d",
        C42_HEALTH_CERT_CRIT_BEFORE: "14d",
        C42_HEALTH_CHECK_TIMEOUT: "3s",
        C42_HEALTH_BACKUP_MAX_AGE: "50h",
        C42_HEALTH_DRIFT_TIMEOUT: "2m",
        C42_ENGINE: "/opt/opentofu/tofu",
        C42_STATE_DIR: "/var/lib/keystore",
        C42_LOCK_TIMEOUT: "90s",
        C42_AUDIT_MODE: "off",
        C42_STATE_PASSPHRASE: "a passphrase of 27 characters",
        C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true",
        C42_BACKEND_TYPE: "s3",
        C42_BACKEND_PG_SCHEMA_NAME: "keystore_state",
        C42_BACKEND_S3_BUCKET: "acme-state",
        C42_BACKEND_S3_KEY: "vault/keystore.tfstate",
        C42_BACKEND_S3_REGION: "eu-west-1",
        C42_BACKEND_S3_ENDPOINT: "https://s3.example.com",
        C42_BACKEND_GCS_BUCKET: "acme-gcs",
        C42_BACKEND_GCS_PREFIX: "vault",
        C42_BACKEND_AZURERM_STORAGE_ACCOUNT_NAME: "acmestate",
        C42_BACKEND_AZURERM_CONTAINER_NAME: "tfstate",
        C42_BACKEND_AZURERM_KEY: "vault.tfstate",
        C42_BACKEND_AZURERM_RESOURCE_GROUP_NAME: "rg",
        C42_BACKEND_CONSUL_ADDRESS: "consul.example.com:8500",
        C42_BACKEND_CONSUL_PATH: "vault/state",
        C42_BACKEND_HTTP_ADDRESS: "https://state.example.com/s",
        C42_BACKEND_HTTP_LOCK_ADDRESS: "https://state.example.com/l",
        C42_BACKEND_HTTP_UNLOCK_ADDRESS: "https://state.example.com/u",
        C42_CI_PROVIDER: "gitlab",
        C42_CI_PATH: "gitlab",
        C42_CI_ISSUER: "https://gitlab.example.com",
        C42_CI_VALIDATION_KEYS_FILE: "ci/keys.pem",
        C42_CI_AUDIENCE: "https://vault.example.com",
        C42_CI_REPOSITORY: "infra/keystore",
        C42_CI_BRANCH: "production",
        C42_CI_PLAN_ENVIRONMENT: "plan",
        C42_CI_APPLY_ENVIRONMENT: "production",
        C42_CI_TOKEN_TTL: "20m",
      },
    });
    expect(config).toEqual({
      publicUrl: "http://localhost:8200",
      allowInsecureHttp: true,
      kv: { path: "kv1" },
      certAuth: { path: "tls", defaultLeaseTtl: "2m" },
      pki: { path: "root", maxLeaseTtl: "50000h" },
      pki_int: { path: "issuing", maxLeaseTtl: "20000h" },
      rootCa: { commonName: "Acme Root", ttl: "40000h", preventDestroy: false, external: false },
      intermediateCa: { commonName: "Acme Issuing", ttl: "10000h", signedCertificateFile: "" },
      role: { name: "code42" },
      adminCert: { commonName: "backup-admin", ttl: "720h", renewBefore: "7d", rotation: "one-step" },
      policy: { name: "code42Policy", extraPaths: ["secret/code42/*"], allowBroadPaths: false },
      certRole: { name: "code42User", tokenTtl: "5m" },
      health: { certWarnBefore: "45d", certCritBefore: "14d", checkTimeout: "3s", backupMaxAge: "50h", driftTimeout: "2m" },
      engine: "/opt/opentofu/tofu",
      stateDir: "/var/lib/keystore",
      lockTimeout: "90s",
      audit: { mode: "off", filePath: "" },
      backend: {
        type: "s3",
        pg: { schemaName: "keystore_state" },
        s3: { bucket: "acme-state", key: "vault/keystore.tfstate", region: "eu-west-1", endpoint: "https://s3.example.com" },
        gcs: { bucket: "acme-gcs", prefix: "vault" },
        azurerm: { storageAccountName: "acmestate", containerName: "tfstate", key: "vault.tfstate", resourceGroupName: "rg" },
        consul: { address: "consul.example.com:8500", path: "vault/state" },
        http: { address: "https://state.example.com/s", lockAddress: "https://state.example.com/l", unlockAddress: "https://state.example.com/u" },
      },
      ci: {
        provider: "gitlab",
        path: "gitlab",
        issuer: "https://gitlab.example.com",
        validationKeysFile: join(cwd, "ci/keys.pem"),
        audience: "https://vault.example.com",
        repository: "infra/keystore",
        branch: "production",
        planEnvironment: "plan",
        applyEnvironment: "production",
        tokenTtl: "20m",
      },
      stateEncryption: { enabled: true, rotating: false, migrateFromPlain: true },
    });
    expect(JSON.stringify(config)).not.toContain("a passphrase of 27 characters");
  });

  test("C42_PUBLIC_URL wins over VAULT_ADDR", () => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_PUBLIC_URL: "https://public.example.com" }, cwd }).publicUrl).toBe("https://public.example.com");
  });

  test("lists are comma-separated, trimmed, without empty entries", () => {
    const config = loadConfig({ env: { VAULT_ADDR, C42_POLICY_EXTRA_PATHS: " secret/code42/*, transit/keys/*,, " }, cwd });
    expect(config.policy.extraPaths).toEqual(["secret/code42/*", "transit/keys/*"]);
  });

  test.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["yes", true],
    ["false", false],
    ["False", false],
    ["0", false],
    ["no", false],
  ])("boolean %j is %s", (raw, value) => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_ROOT_CA_PREVENT_DESTROY: raw }, cwd }).rootCa.preventDestroy).toBe(value);
  });

  test("an empty variable counts as unset", () => {
    const file = writeJson("keystore.config.json", { kv: { path: "from-file" } });
    expect(loadConfig({ env: { VAULT_ADDR, C42_KV_PATH: "", C42_PKI_PATH: "" }, file, cwd })).toMatchObject({
      kv: { path: "from-file" },
      pki: { path: "pki" },
    });
  });
});

describe("config file", () => {
  test("overrides defaults, grouped as in the settings table", () => {
    const file = writeJson("custom.json", {
      publicUrl: "https://file.example.com",
      pki_int: { maxLeaseTtl: "20000h" },
      rootCa: { preventDestroy: false },
      policy: { extraPaths: ["secret/code42/*", "transit/*"] },
    });
    const config = loadConfig({ env: { VAULT_ADDR }, file, cwd });
    expect(config.publicUrl).toBe("https://file.example.com");
    expect(config.pki_int).toEqual({ path: "pki_int", maxLeaseTtl: "20000h" });
    expect(config.rootCa).toEqual({ commonName: "example.com", ttl: "87600h", preventDestroy: false, external: false });
    expect(config.policy.extraPaths).toEqual(["secret/code42/*", "transit/*"]);
  });

  test("C42_* variables win over the file, per setting", () => {
    const file = writeJson("custom.json", { publicUrl: "https://file.example.com", pki_int: { path: "int_from_file", maxLeaseTtl: "20000h" } });
    const config = loadConfig({ env: { VAULT_ADDR, C42_PUBLIC_URL: "https://env.example.com", C42_PKI_INT_MAX_LEASE_TTL: "10000h" }, file, cwd });
    expect(config.publicUrl).toBe("https://env.example.com");
    expect(config.pki_int).toEqual({ path: "int_from_file", maxLeaseTtl: "10000h" });
  });

  test("keystore.config.json in the working directory is read without being named", () => {
    writeJson("keystore.config.json", { kv: { path: "found" } });
    expect(loadConfig({ env: { VAULT_ADDR }, cwd }).kv.path).toBe("found");
  });

  test("C42_CONFIG names the file, relative to the working directory", () => {
    writeJson("keystore.config.json", { kv: { path: "default-file" } });
    writeJson("prod.json", { kv: { path: "named-file" } });
    expect(loadConfig({ env: { VAULT_ADDR, C42_CONFIG: "prod.json" }, cwd }).kv.path).toBe("named-file");
  });

  test("a relative stateDir is resolved against the working directory", () => {
    const file = writeJson("custom.json", { stateDir: "state/here" });
    expect(loadConfig({ env: { VAULT_ADDR }, file, cwd }).stateDir).toBe(join(cwd, "state/here"));
  });
});

describe("path settings", () => {
  test("a relative intermediateCa.signedCertificateFile is resolved against the project directory, like stateDir", () => {
    const config = loadConfig({ env: { VAULT_ADDR, C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: "ca/intermediate.pem" }, cwd });
    expect(config.intermediateCa.signedCertificateFile).toBe(join(cwd, "ca/intermediate.pem"));
  });

  test("an absolute one is kept, an empty one stays empty", () => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: "/etc/ca.pem" }, cwd }).intermediateCa.signedCertificateFile).toBe(
      "/etc/ca.pem",
    );
    expect(loadConfig({ env: { VAULT_ADDR }, cwd }).intermediateCa.signedCertificateFile).toBe("");
  });
});
