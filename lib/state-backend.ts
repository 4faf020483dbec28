import {
  AzurermBackend,
  ConsulBackend,
  ConsulBackendConfig,
  GcsBackend,
  HttpBackend,
  LocalBackend,
  PgBackend,
  PgBackendConfig,
  S3Backend,
  TerraformBackend,
  TerraformStack,
} from "cdktf";
import { KeystoreConfig } from "./config";
import { DEFAULT_ENGINE_TARGET, EngineTarget, engineLabel, versionAtLeast } from "./engine-target";
import { KeystoreValidationError } from "./errors";
import { BACKEND_TYPES } from "./settings";

/** One of {@link BACKEND_TYPES}. */
export type BackendType = (typeof BACKEND_TYPES)[number];

/**
 * Where each backend finds its credentials. None of them is a setting: the
 * synthesized JSON, which lands in `cdktf.out` and in CI artifacts, names the
 * place of the state but never the key to it.
 */
export const BACKEND_CREDENTIAL_ENV: Readonly<Record<BackendType, string>> = {
  local: "none (file permissions: the state directory is 0700, the state file 0600)",
  pg: "PG_CONN_STR, or libpq's PGHOST/PGPORT/PGUSER/PGPASSFILE/PGSSLMODE",
  s3: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE or an instance role",
  gcs: "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_CREDENTIALS or GOOGLE_OAUTH_ACCESS_TOKEN",
  azurerm: "ARM_ACCESS_KEY, ARM_SAS_TOKEN, or ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID/ARM_SUBSCRIPTION_ID",
  consul: "CONSUL_HTTP_TOKEN (and CONSUL_HTTP_AUTH for basic auth)",
  http: "TF_HTTP_USERNAME/TF_HTTP_PASSWORD",
};

type BackendSettings = KeystoreConfig["backend"];

// Query parameters that carry a credential in the URLs of common state servers
// (Azure SAS `sig`, GitLab `private_token`, plain `token`/`password`).
const CREDENTIAL_QUERY = /(^|[?&])(sig|token|private_token|access_token|password|passwd|pass|secret|api_key|apikey|key)=/i;

/**
 * Adds the state backend `backend.type` selects to `stack`. Only non-secret
 * options are written; each backend reads its credentials from the
 * environment ({@link BACKEND_CREDENTIAL_ENV}). `localStateFile` is the
 * state file of the `local` backend.
 */
export function addStateBackend(
  stack: TerraformStack,
  settings: BackendSettings,
  localStateFile: string,
  engine: EngineTarget = DEFAULT_ENGINE_TARGET,
): TerraformBackend {
  const where = stack.node.path;
  const type = settings.type as BackendType;
  if (!BACKEND_TYPES.includes(type)) {
    throw new KeystoreValidationError("backend.type", settings.type, `is not a backend; expected one of ${BACKEND_TYPES.join(", ")}`, where);
  }
  const required = (key: string, value: string) => {
    if (value.trim() === "") {
      throw new KeystoreValidationError(key, value, `is required with backend.type "${type}"; expected a non-empty value`, where);
    }
    return value;
  };
  const optional = (value: string) => (value.trim() === "" ? undefined : value);

  switch (type) {
    case "local":
      // The path is the resolved stateDir, so it carries the project directory's name, which no setting check saw.
      // OpenTofu evaluates "${" and "%{" in backend strings and Terraform does not (measured; nor does Terraform
      // un-escape "$${"): no spelling reads the same under both, so refuse it.
      if (/[$%]\{/.test(localStateFile)) {
        throw new KeystoreValidationError(
          "stateDir",
          localStateFile,
          'contains "${" or "%{" (from the setting or the project directory), which the engines read differently in a backend; expected a directory path without them',
          where,
        );
      }
      return new LocalBackend(stack, { path: localStateFile });
    case "pg": {
      const schemaName = settings.pg.schemaName;
      // The backend splices the schema name into its SQL unquoted.
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName)) {
        throw new KeystoreValidationError(
          "backend.pg.schemaName",
          schemaName,
          'is not a plain PostgreSQL identifier; expected lower-case letters, digits and "_", e.g. "c42_keystore"',
          where,
        );
      }
      // conn_str is left out on purpose: the backend reads PG_CONN_STR.
      return new PgBackend(stack, { schemaName } as PgBackendConfig);
    }
    case "s3": {
      // Without use_lockfile (Terraform before 1.10 has none) two deploys could write the state at once.
      if (engine.kind === "terraform" && !versionAtLeast(engine.version, "1.10.0")) {
        throw new KeystoreValidationError(
          "backend.type",
          type,
          `needs state locking, which the s3 backend of ${engineLabel(engine)} has only with a DynamoDB table; expected Terraform 1.10 or later, or OpenTofu (engine, C42_ENGINE)`,
          where,
        );
      }
      const endpoint = optional(settings.s3.endpoint);
      if (endpoint) checkUrl("backend.s3.endpoint", endpoint, where);
      const backend = new S3Backend(stack, {
        bucket: required("backend.s3.bucket", settings.s3.bucket),
        key: required("backend.s3.key", settings.s3.key),
        region: optional(settings.s3.region),
        endpoints: endpoint ? { s3: endpoint } : undefined,
        encrypt: true,
      });
      // OpenTofu >= 1.10 locks with a lock object next to the state; cdktf 0.21 has no prop for it.
      backend.addOverride("use_lockfile", true);
      return backend;
    }
    case "gcs":
      return new GcsBackend(stack, {
        bucket: required("backend.gcs.bucket", settings.gcs.bucket),
        prefix: optional(settings.gcs.prefix),
      });
    case "azurerm":
      return new AzurermBackend(stack, {
        storageAccountName: required("backend.azurerm.storageAccountName", settings.azurerm.storageAccountName),
        containerName: required("backend.azurerm.containerName", settings.azurerm.containerName),
        key: required("backend.azurerm.key", settings.azurerm.key),
        resourceGroupName: optional(settings.azurerm.resourceGroupName),
      });
    case "consul": {
      const address = optional(settings.consul.address);
      if (address?.includes("@")) {
        throw new KeystoreValidationError(
          "backend.consul.address",
          address,
          "carries credentials; expected host:port, with the token in CONSUL_HTTP_TOKEN",
          where,
        );
      }
      // access_token is left out on purpose: the backend reads CONSUL_HTTP_TOKEN.
      return new ConsulBackend(stack, { path: required("backend.consul.path", settings.consul.path), address, lock: true } as ConsulBackendConfig);
    }
    case "http": {
      const address = required("backend.http.address", settings.http.address);
      const lockAddress = optional(settings.http.lockAddress);
      const unlockAddress = optional(settings.http.unlockAddress) ?? lockAddress;
      checkUrl("backend.http.address", address, where);
      if (lockAddress) checkUrl("backend.http.lockAddress", lockAddress, where);
      if (unlockAddress) checkUrl("backend.http.unlockAddress", unlockAddress, where);
      return new HttpBackend(stack, { address, lockAddress, unlockAddress });
    }
  }
}

/** A backend URL must be http(s) and carry no user, password or token: those belong in the environment. */
function checkUrl(key: string, value: string, where: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new KeystoreValidationError(key, value, 'is not a URL; expected e.g. "https://state.example.com/keystore"', where);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new KeystoreValidationError(key, value, "is not an http(s) URL; expected https://…", where);
  }
  if (url.username || url.password) {
    throw new KeystoreValidationError(
      key,
      redact(url),
      "carries a user or password; expected a URL without credentials, which come from the environment",
      where,
    );
  }
  if (CREDENTIAL_QUERY.test(url.search)) {
    throw new KeystoreValidationError(
      key,
      redact(url),
      "carries a credential in its query; expected a URL without credentials, which come from the environment",
      where,
    );
  }
}

/** The URL as it may appear in an error: no password, no query values. */
function redact(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password) shown.password = "***";
  for (const k of [...shown.searchParams.keys()]) shown.searchParams.set(k, "***");
  return shown.href;
}
