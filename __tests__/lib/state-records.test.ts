import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBackend, PgBackend, PgBackendConfig, TerraformStack, Testing } from "cdktf";
import { RotationInput } from "../../lib/admin-rotation-phase";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { STATE_RECORDS_DATA_SOURCE, StateRecords } from "../../lib/state-records";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const cwd = mkdtempSync(join(tmpdir(), "state-records-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The whole stack, as the commands and main.ts build it. */
function stack(env: Record<string, string> = {}, props: { rotation?: RotationInput; stateExisted?: boolean; rebinding?: boolean } = {}): Json {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  return JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, ...props })));
}
const records = (json: Json) => json.data.terraform_remote_state[STATE_RECORDS_DATA_SOURCE];
const RECORDED_PHASE = 'try(self.outputs.admin_rotation_phase, "idle")';

describe("StateRecords in the keystore stack", () => {
  test("local backend: reads the stack's own state file by its absolute path, only once it holds a state (a first run locks an empty file)", () => {
    const json = stack();
    const path = json.terraform.backend.local.path as string;
    expect(path).toBe(join(cwd, ".local", "state", "keystore.tfstate"));
    expect(records(json)).toMatchObject({
      backend: "local",
      workspace: "${terraform.workspace}",
      config: { path },
      count: "${try(length(trimspace(file(var.c42_state_file))) > 0 ? 1 : 0, 0)}",
    });
    // The path is a literal (a variable's default), never part of an expression.
    expect(json.variable.c42_state_file).toMatchObject({ type: "string", nullable: false, default: path });
  });

  test("idle: the state must record idle (or nothing)", () => {
    expect(records(stack()).lifecycle.postcondition.slice(0, 1)).toEqual([
      {
        condition: `\${contains(["idle"], ${RECORDED_PHASE})}`,
        error_message: expect.stringContaining(`rotation phase "\${${RECORDED_PHASE}}", but this configuration was synthesized for phase "idle"`),
      },
    ]);
  });

  test("the state's cluster: a plan against another cluster is refused inside the engine, except for npm run rebind", () => {
    const [, cluster] = records(stack()).lifecycle.postcondition;
    expect(cluster.condition).toBe(
      '${contains(["", nonsensitive(data.vault_generic_secret.c42_cluster_token_auth.data["accessor"])], try(self.outputs.c42_cluster.tokenAccessor, ""))}',
    );
    expect(cluster.error_message).toMatch(/^This state belongs to the Vault cluster whose token auth is .*npm run rebind\. Nothing was changed\.$/);
    expect(records(stack({}, { rebinding: true })).lifecycle.postcondition).toHaveLength(1);
  });

  test("a rotation start (recorded idle, builds started) passes on both; a JSON built in started passes on started only", () => {
    const starting = records(stack({}, { rotation: { phase: "started", recorded: "idle" } }));
    expect(starting.lifecycle.postcondition[0].condition).toBe(`\${contains(["idle", "started"], ${RECORDED_PHASE})}`);
    expect(starting.lifecycle.postcondition[0].error_message).toMatch(/synthesized for phase "idle" or "started"/);
    const started = records(stack({}, { rotation: { phase: "started" } }));
    expect(started.lifecycle.postcondition[0].condition).toBe(`\${contains(["started"], ${RECORDED_PHASE})}`);
    const finishing = records(stack({}, { rotation: { phase: "idle", recorded: "finishing" } }));
    expect(finishing.lifecycle.postcondition[0].condition).toBe(`\${contains(["finishing", "idle"], ${RECORDED_PHASE})}`);
  });

  test("the refusal names what to do and that nothing changed", () => {
    const message = records(stack()).lifecycle.postcondition[0].error_message as string;
    expect(message).toMatch(/crashplanUser-next/);
    expect(message).toMatch(/Nothing was changed/);
    expect(message).toMatch(/npm run deploy, npx cdktf deploy or npx cdktf synth/);
  });

  test("pg: the same schema, no connection string (the engine reads PG_CONN_STR), read unless the state did not exist at synth", () => {
    const env = { C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "keystore_state" };
    const json = stack(env);
    expect(json.terraform.backend.pg).toEqual({ schema_name: "keystore_state" });
    expect(records(json)).toMatchObject({ backend: "pg", workspace: "${terraform.workspace}", config: { schema_name: "keystore_state" }, count: 1 });
    expect(JSON.stringify(records(json))).not.toMatch(/conn_str/);
    expect(records(stack(env, { stateExisted: false })).count).toBe(0);
    expect(records(stack(env, { stateExisted: true })).count).toBe(1);
  });

  test("s3: the backend's own settings, without the lock file option (a reader takes no lock)", () => {
    const json = stack({ C42_BACKEND_TYPE: "s3", C42_BACKEND_S3_BUCKET: "b", C42_BACKEND_S3_KEY: "k/keystore.tfstate", C42_BACKEND_S3_REGION: "eu-west-1" });
    expect(records(json)).toMatchObject({ backend: "s3", config: { bucket: "b", key: "k/keystore.tfstate", region: "eu-west-1", encrypt: true } });
    expect(records(json).config.use_lockfile).toBeUndefined();
  });

  test("an encrypted state is read with the state's methods and fallback (OpenTofu remote_state_data_sources)", () => {
    const plain = stack();
    expect(plain.terraform.encryption).toBeUndefined();
    const encryption = stack({ C42_STATE_PASSPHRASE: "unit-test passphrase 0123456789" }).terraform.encryption;
    expect(encryption.remote_state_data_sources).toEqual({
      default: { method: "method.aes_gcm.c42_state", fallback: { method: "method.aes_gcm.c42_state_rotated" } },
    });
    expect(encryption.state).toEqual({ method: "method.aes_gcm.c42_state", enforced: true, fallback: { method: "method.aes_gcm.c42_state_rotated" } });
    const migrating = stack({ C42_STATE_PASSPHRASE: "unit-test passphrase 0123456789", C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true" }).terraform.encryption;
    expect(migrating.remote_state_data_sources).toEqual({
      default: { method: "method.aes_gcm.c42_state", fallback: { method: "method.unencrypted.c42_plain" } },
    });
  });
});

describe("StateRecords on its own (Testing.synthScope)", () => {
  test("addCheck adds a postcondition after the rotation check, reading outputs through recorded()", () => {
    const json = JSON.parse(
      Testing.synthScope((scope) => {
        const backend = new LocalBackend(TerraformStack.of(scope), { path: "/var/lib/c42/keystore.tfstate" });
        const state = new StateRecords(scope, "stateRecords", { backend });
        state.addCheck({
          condition: `${StateRecords.recorded("cluster_id", "")} == "" || ${StateRecords.recorded("cluster_id", "")} == "abc"`,
          errorMessage: `The state was written for cluster "\${${StateRecords.recorded("cluster_id", "")}}".`,
        });
      }),
    );
    const checks = records(json).lifecycle.postcondition;
    expect(checks).toHaveLength(2);
    expect(checks[1]).toEqual({
      condition: '${try(self.outputs.cluster_id, "") == "" || try(self.outputs.cluster_id, "") == "abc"}',
      error_message: 'The state was written for cluster "${try(self.outputs.cluster_id, "")}".',
    });
    expect(records(json).count).toBe("${try(length(trimspace(file(var.c42_state_file))) > 0 ? 1 : 0, 0)}");
    expect(json.variable.c42_state_file.default).toBe("/var/lib/c42/keystore.tfstate");
  });

  test("a pg backend built outside the stack works the same", () => {
    const json = JSON.parse(
      Testing.synthScope((scope) => {
        const backend = new PgBackend(TerraformStack.of(scope), { schemaName: "s" } as PgBackendConfig);
        new StateRecords(scope, "stateRecords", { backend, stateExisted: false });
      }),
    );
    expect(records(json)).toMatchObject({ backend: "pg", config: { schema_name: "s" }, count: 0 });
    expect(json.variable).toBeUndefined();
  });
});
