import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config";
import { BACKEND_TYPES } from "../../lib/settings";
import { VAULT_ADDR, writeFileIn } from "../helpers/config-dir";
import { synthToDisk } from "../helpers/synth-to-disk";

// Credentials a user may have exported while synthesizing: none may reach the JSON.
const CREDENTIALS: Record<string, string> = {
  PG_CONN_STR: "postgres://c42:pg-UNITTEST-secret@db.example.com/state",
  PGPASSWORD: "pgpass-UNITTEST-secret",
  AWS_ACCESS_KEY_ID: "AKIAUNITTESTSECRET00",
  AWS_SECRET_ACCESS_KEY: "aws-UNITTEST-secret-key",
  AWS_SESSION_TOKEN: "aws-UNITTEST-session",
  GOOGLE_CREDENTIALS: '{"private_key":"gcs-UNITTEST-secret"}',
  ARM_ACCESS_KEY: "arm-UNITTEST-access-key",
  ARM_SAS_TOKEN: "sv=2024&sig=arm-UNITTEST-sas",
  ARM_CLIENT_SECRET: "arm-UNITTEST-client-secret",
  CONSUL_HTTP_TOKEN: "consul-UNITTEST-token",
  TF_HTTP_PASSWORD: "http-UNITTEST-password",
};

// Backend attributes that hold a credential in some backend's schema.
const CREDENTIAL_KEYS = [
  "conn_str",
  "access_key",
  "secret_key",
  "token",
  "credentials",
  "access_token",
  "sas_token",
  "client_secret",
  "client_certificate_password",
  "password",
  "username",
  "http_auth",
  "encryption_key",
  "sse_customer_key",
  "oidc_token",
  "oidc_request_token",
  "client_private_key_pem",
  "key_file",
];

/** Synthesizes with `settings`, the credentials exported as a user may have them. */
function synthWith(settings: Record<string, string>) {
  const { cwd, files, json } = synthToDisk({ ...CREDENTIALS, ...settings }, "keystore-backend");
  return { cwd, files, json, backend: json.terraform.backend as Record<string, Record<string, unknown>> };
}

describe.each([
  ["local", {}, { local: { path: "<cwd>/.local/state/keystore.tfstate" } }],
  ["pg", { C42_BACKEND_TYPE: "pg" }, { pg: { schema_name: "c42_keystore" } }],
  ["pg with a schema", { C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "vault_states" }, { pg: { schema_name: "vault_states" } }],
  [
    "s3",
    { C42_BACKEND_TYPE: "s3", C42_BACKEND_S3_BUCKET: "acme-tfstate", C42_BACKEND_S3_REGION: "eu-central-1" },
    { s3: { bucket: "acme-tfstate", key: "c42-keystore/keystore.tfstate", region: "eu-central-1", encrypt: true, use_lockfile: true } },
  ],
  [
    "s3-compatible storage",
    {
      C42_BACKEND_TYPE: "s3",
      C42_BACKEND_S3_BUCKET: "state",
      C42_BACKEND_S3_KEY: "prod/keystore.tfstate",
      C42_BACKEND_S3_ENDPOINT: "https://minio.example.com:9000",
    },
    { s3: { bucket: "state", key: "prod/keystore.tfstate", endpoints: { s3: "https://minio.example.com:9000" }, encrypt: true, use_lockfile: true } },
  ],
  ["gcs", { C42_BACKEND_TYPE: "gcs", C42_BACKEND_GCS_BUCKET: "acme-tfstate" }, { gcs: { bucket: "acme-tfstate", prefix: "c42-keystore" } }],
  [
    "azurerm",
    {
      C42_BACKEND_TYPE: "azurerm",
      C42_BACKEND_AZURERM_STORAGE_ACCOUNT_NAME: "acmestate",
      C42_BACKEND_AZURERM_CONTAINER_NAME: "tfstate",
      C42_BACKEND_AZURERM_RESOURCE_GROUP_NAME: "rg-state",
    },
    { azurerm: { storage_account_name: "acmestate", container_name: "tfstate", key: "c42-keystore.tfstate", resource_group_name: "rg-state" } },
  ],
  [
    "consul",
    { C42_BACKEND_TYPE: "consul", C42_BACKEND_CONSUL_ADDRESS: "consul.example.com:8501" },
    { consul: { path: "c42-keystore/state", address: "consul.example.com:8501", lock: true } },
  ],
  [
    "http with locking",
    {
      C42_BACKEND_TYPE: "http",
      C42_BACKEND_HTTP_ADDRESS: "https://gitlab.example.com/api/v4/projects/7/terraform/state/keystore",
      C42_BACKEND_HTTP_LOCK_ADDRESS: "https://gitlab.example.com/api/v4/projects/7/terraform/state/keystore/lock",
    },
    {
      http: {
        address: "https://gitlab.example.com/api/v4/projects/7/terraform/state/keystore",
        lock_address: "https://gitlab.example.com/api/v4/projects/7/terraform/state/keystore/lock",
        unlock_address: "https://gitlab.example.com/api/v4/projects/7/terraform/state/keystore/lock",
      },
    },
  ],
  [
    "http without locking",
    { C42_BACKEND_TYPE: "http", C42_BACKEND_HTTP_ADDRESS: "https://state.example.com/keystore" },
    { http: { address: "https://state.example.com/keystore" } },
  ],
])("backend %s", (_name, settings, expected) => {
  const { cwd, files, json, backend } = synthWith(settings);

  test("the synthesized backend block is exactly the non-secret options", () => {
    expect(JSON.parse(JSON.stringify(backend).split(cwd).join("<cwd>"))).toEqual(expected);
  });

  test("it is the only backend, next to the providers", () => {
    expect(Object.keys(json.terraform).sort()).toEqual(["backend", "required_providers"]);
  });

  test("no credential attribute is written", () => {
    const [attributes] = Object.values(backend);
    for (const key of CREDENTIAL_KEYS) expect(attributes).not.toHaveProperty(key);
  });

  test("no credential from the environment reaches any synthesized file", () => {
    for (const [file, text] of Object.entries(files)) {
      const leaked = Object.entries(CREDENTIALS)
        .filter(([, v]) => text.includes(v) || text.includes("UNITTEST"))
        .map(([k]) => k);
      expect({ file, leaked }).toEqual({ file, leaked: [] });
    }
  });
});

test("every backend type in BACKEND_TYPES is covered above", () => {
  expect([...BACKEND_TYPES].sort()).toEqual(["azurerm", "consul", "gcs", "http", "local", "pg", "s3"]);
});

test("backend settings group under backend.<type> in a config file", () => {
  const cwd = mkdtempSync(join(tmpdir(), "keystore-backend-file-"));
  try {
    writeFileIn(cwd, "keystore.config.json", JSON.stringify({ backend: { type: "pg", pg: { schemaName: "from_file" } } }));
    const config = loadConfig({ env: { VAULT_ADDR }, cwd });
    expect(config.backend.type).toBe("pg");
    expect(config.backend.pg.schemaName).toBe("from_file");
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
