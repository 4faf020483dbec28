import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { EngineTarget } from "../../lib/engine-target";
import { KeystoreValidationError } from "../../lib/errors";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "keystore-backend-errors-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const build = (env: Record<string, string>) => () => {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  return Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
};

test("an unknown backend type names the choices", () => {
  expect(build({ C42_BACKEND_TYPE: "postgres" })).toThrow(
    new KeystoreValidationError("backend.type", "postgres", "is not a backend; expected one of local, pg, s3, gcs, azurerm, consul, http"),
  );
});

describe("options a backend cannot work without", () => {
  test.each([
    [{ C42_BACKEND_TYPE: "s3" }, "backend.s3.bucket", "s3"],
    [{ C42_BACKEND_TYPE: "s3", C42_BACKEND_S3_BUCKET: "b", C42_BACKEND_S3_KEY: " " }, "backend.s3.key", "s3"],
    [{ C42_BACKEND_TYPE: "gcs" }, "backend.gcs.bucket", "gcs"],
    [{ C42_BACKEND_TYPE: "azurerm", C42_BACKEND_AZURERM_CONTAINER_NAME: "c" }, "backend.azurerm.storageAccountName", "azurerm"],
    [{ C42_BACKEND_TYPE: "azurerm", C42_BACKEND_AZURERM_STORAGE_ACCOUNT_NAME: "a" }, "backend.azurerm.containerName", "azurerm"],
    [{ C42_BACKEND_TYPE: "http" }, "backend.http.address", "http"],
  ])("%j needs %s", (env, key, type) => {
    expect(build(env)).toThrow(
      new RegExp(`^${key.replace(/\./g, "\\.")}: "\\s*" is required with backend.type "${type}"; expected a non-empty value \\(at keystore\\)$`),
    );
  });
});

test("a pg schema name must be a plain identifier (the backend splices it into SQL unquoted)", () => {
  expect(build({ C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: 'state"; drop table x; --' })).toThrow(
    /^backend\.pg\.schemaName: "state\\"; drop table x; --" is not a plain PostgreSQL identifier; expected lower-case letters, digits and "_"/,
  );
  expect(build({ C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "Keystore" })).toThrow(
    /^backend\.pg\.schemaName: "Keystore" is not a plain PostgreSQL identifier/,
  );
});

describe("credentials never come from settings", () => {
  test("a user and password in the http address are refused, and the password is not echoed", () => {
    const attempt = build({ C42_BACKEND_TYPE: "http", C42_BACKEND_HTTP_ADDRESS: "https://ci:hunter2-secret@state.example.com/keystore" });
    expect(attempt).toThrow(
      /^backend\.http\.address: "https:\/\/ci:\*\*\*@state\.example\.com\/keystore" carries a user or password; expected a URL without credentials, which come from the environment/,
    );
    expect(attempt).not.toThrow(/hunter2/);
  });

  test("a token in the lock address query is refused, and its value is not echoed", () => {
    const attempt = build({
      C42_BACKEND_TYPE: "http",
      C42_BACKEND_HTTP_ADDRESS: "https://state.example.com/keystore",
      C42_BACKEND_HTTP_LOCK_ADDRESS: "https://state.example.com/keystore/lock?private_token=glpat-secret",
    });
    expect(attempt).toThrow(
      /^backend\.http\.lockAddress: "https:\/\/state\.example\.com\/keystore\/lock\?private_token=\*\*\*" carries a credential in its query/,
    );
    expect(attempt).not.toThrow(/glpat-secret/);
  });

  test("an S3 endpoint with a user is refused", () => {
    expect(build({ C42_BACKEND_TYPE: "s3", C42_BACKEND_S3_BUCKET: "b", C42_BACKEND_S3_ENDPOINT: "https://minio:minio-secret@minio.example.com" })).toThrow(
      /^backend\.s3\.endpoint: .* carries a user or password/,
    );
  });

  test("a consul address with credentials is refused", () => {
    expect(build({ C42_BACKEND_TYPE: "consul", C42_BACKEND_CONSUL_ADDRESS: "admin:pw@consul.example.com:8500" })).toThrow(
      /^backend\.consul\.address: .* carries credentials; expected host:port, with the token in CONSUL_HTTP_TOKEN/,
    );
  });

  test("a backend URL must be http(s)", () => {
    expect(build({ C42_BACKEND_TYPE: "http", C42_BACKEND_HTTP_ADDRESS: "ftp://state.example.com/x" })).toThrow(
      /^backend\.http\.address: "ftp:\/\/state\.example\.com\/x" is not an http\(s\) URL/,
    );
    expect(build({ C42_BACKEND_TYPE: "http", C42_BACKEND_HTTP_ADDRESS: "state.example.com" })).toThrow(
      /^backend\.http\.address: "state\.example\.com" is not a URL/,
    );
  });

  test("the connection string is not a setting: a config file cannot carry one", () => {
    const dir = mkdtempSync(join(tmpdir(), "keystore-backend-file-"));
    try {
      writeFileSync(join(dir, "keystore.config.json"), JSON.stringify({ backend: { type: "pg", pg: { connStr: "postgres://u:p@h/db" } } }));
      expect(() => loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200" }, cwd: dir })).toThrow(/^backend\.pg\.connStr: .* is not a setting/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("one JSON for both engines, or a refusal", () => {
  const synthFor =
    (engine: EngineTarget, env: Record<string, string>, dir = cwd) =>
    () => {
      const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd: dir });
      return Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, engine }));
    };
  const s3 = { C42_BACKEND_TYPE: "s3", C42_BACKEND_S3_BUCKET: "b" };

  test("s3 under Terraform before 1.10 (no use_lockfile) is refused: two deploys could write the state at once", () => {
    expect(synthFor({ kind: "terraform", version: "1.9.8" }, s3)).toThrow(
      'backend.type: "s3" needs state locking, which the s3 backend of Terraform 1.9.8 has only with a DynamoDB table; expected Terraform 1.10 or later, or OpenTofu (engine, C42_ENGINE) (at keystore)',
    );
  });

  test("s3 under Terraform 1.10 or later and OpenTofu locks with use_lockfile", () => {
    for (const engine of [
      { kind: "terraform", version: "1.11.4" },
      { kind: "tofu", version: "1.10.10" },
    ] as const) {
      expect(JSON.parse(synthFor(engine, s3)()).terraform.backend.s3.use_lockfile).toBe(true);
    }
  });

  test("a project directory with ${ in its name is refused for the local state, which OpenTofu would evaluate and Terraform not", () => {
    const odd = join(cwd, "projects-${USER}");
    mkdirSync(odd, { recursive: true });
    expect(synthFor({ kind: "terraform", version: "1.11.4" }, {}, odd)).toThrow(
      /^stateDir: ".*\/projects-\$\{USER\}\/\.local\/state\/keystore\.tfstate" contains "\$\{" or "%\{" \(from the setting or the project directory\), which the engines read differently in a backend/,
    );
  });
});
