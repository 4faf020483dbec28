import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBackend, TerraformStack, Testing } from "cdktf";
import { DataVaultPkiSecretBackendIssuers } from "@cdktf/provider-vault/lib/data-vault-pki-secret-backend-issuers";
import { loadConfig } from "../../lib/config";
import { IssuerGuard } from "../../lib/issuer-guard";
import { KeystoreStack, KeystoreStackProps } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { StateRecords } from "../../lib/state-records";
import { caChainInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const OUTPUTS = "data.terraform_remote_state.state_records[0].outputs";
const cwd = mkdtempSync(join(tmpdir(), "issuer-guard-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function synthGuarded() {
  const synth = Testing.synthScope((scope) => {
    const { pki, root } = caChainInScope(scope);
    const records = new StateRecords(scope, "stateRecords", { backend: new LocalBackend(TerraformStack.of(scope), { path: join(cwd, "keystore.tfstate") }) });
    const guard = new IssuerGuard(scope, "rootIssuers", { mount: pki, records, output: "ca_root_issuer_ids", presentSinceFirstApply: "admin_certificate_pem" });
    guard.guard(root.certificate, "a root CA");
    guard.record(`[${root.certificate.fqn}.issuer_id]`);
  });
  const json = JSON.parse(synth);
  return { synth, json, ...resourceIds(json) };
}

describe("IssuerGuard on the root CA", () => {
  const { synth, json, idOf, only } = synthGuarded();
  const rootId = only("vault_pki_secret_backend_root_cert");
  const [precondition] = json.resource.vault_pki_secret_backend_root_cert[rootId].lifecycle.precondition;
  const issuers = `data.vault_pki_secret_backend_issuers.${Object.keys(json.data.vault_pki_secret_backend_issuers)[0]}`;

  test("lists the issuers of the root's own mount (a reference: read once the mount exists)", () => {
    expect(synth).toHaveDataSourceWithProperties(DataVaultPkiSecretBackendIssuers, {
      backend: ref("vault_mount", idOf("vault_mount", { path: "pki" }), "path"),
    });
  });

  test("refuses the root while the mount holds an issuer the state does not record and none it does, keeping prevent_destroy", () => {
    const keys = `(${issuers}.keys == null ? [] : ${issuers}.keys)`;
    const record = `try(${OUTPUTS}.ca_root_issuer_ids, null)`;
    // A state older than the record (it holds the bundle) counts every issuer on the mount as its own; an import writes nulls.
    const recorded = `[for id in (${record} != null ? ${record} : try(${OUTPUTS}.admin_certificate_pem, null) != null ? ${keys} : []) : id if id != null]`;
    expect(precondition.condition).toBe(
      `\${length([for id in ${keys} : id if !contains(${recorded}, id)]) == 0 || anytrue([for id in ${recorded} : contains(${keys}, id)])}`,
    );
    expect(precondition.error_message).toMatch(
      /^\$\{vault_mount\.pki_mount_\w+\.path\}\/ already holds issuer \$\{join\(", ", \[for id in .* : id if !contains\(.*\)\]\)\}, which the state does not record, and this configuration makes a root CA there \(vault_pki_secret_backend_root_cert\): Vault would add another issuer beside it, silently\. Nothing was changed\. .*npm run deploy or npx cdktf deploy.*npm run adopt$/,
    );
    expect(json.resource.vault_pki_secret_backend_root_cert[rootId].lifecycle.prevent_destroy).toBe(true);
  });

  test("records the issuers the stack made on the mount in an output of its own, for the next plan to read back", () => {
    expect(json.output.ca_root_issuer_ids.value).toBe(`\${[vault_pki_secret_backend_root_cert.${rootId}.issuer_id]}`);
  });
});

/** The whole stack, as the commands and main.ts build it. */
function stack(env: Record<string, string> = {}, props: Partial<KeystoreStackProps> = {}): Json {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  return JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, ...props })));
}
const preconditionOf = (json: Json, type: string) => (Object.values(json.resource[type]) as Json[])[0].lifecycle.precondition as Json[];
const guardedMount = (json: Json, type: string) => preconditionOf(json, type)[0].error_message.split("/")[0];

describe("IssuerGuard in the keystore stack", () => {
  test("guards the root on pki and the intermediate's CSR (its new key) on pki_int, each against its own mount's issuers and record", () => {
    const json = stack();
    const { idOf } = resourceIds(json);
    expect(guardedMount(json, "vault_pki_secret_backend_root_cert")).toBe(`\${vault_mount.${idOf("vault_mount", { path: "pki" })}.path}`);
    expect(guardedMount(json, "vault_pki_secret_backend_intermediate_cert_request")).toBe(`\${vault_mount.${idOf("vault_mount", { path: "pki_int" })}.path}`);
    expect(preconditionOf(json, "vault_pki_secret_backend_root_cert")[0].condition).toContain(`${OUTPUTS}.ca_root_issuer_ids`);
    expect(preconditionOf(json, "vault_pki_secret_backend_intermediate_cert_request")[0].condition).toContain(`${OUTPUTS}.ca_intermediate_issuer_ids`);
    expect(preconditionOf(json, "vault_pki_secret_backend_intermediate_cert_request")[0].error_message).toContain("makes an intermediate CA (a new key) there");
    const signed = Object.keys(json.resource.vault_pki_secret_backend_intermediate_set_signed)[0];
    expect(json.output.ca_intermediate_issuer_ids.value).toBe(`\${vault_pki_secret_backend_intermediate_set_signed.${signed}.imported_issuers}`);
    // A state from before this record: the bundle's certificate output tells it completed an apply.
    expect(preconditionOf(json, "vault_pki_secret_backend_root_cert")[0].condition).toContain(`try(${OUTPUTS}.admin_certificate_pem, null)`);
  });

  test("pg, synthesized before the state existed (nothing read back): the records are written, no CA step is refused", () => {
    const pg = { C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "keystore_state" };
    // A second first deploy applied after the first would otherwise be refused for the first one's issuers.
    const before = stack(pg, { stateExisted: false });
    expect((Object.values(before.resource.vault_pki_secret_backend_root_cert)[0] as Json).lifecycle.precondition).toBeUndefined();
    expect((Object.values(before.resource.vault_pki_secret_backend_intermediate_cert_request)[0] as Json).lifecycle?.precondition).toBeUndefined();
    expect(before.output.ca_root_issuer_ids).toBeDefined();
    expect(before.output.ca_intermediate_issuer_ids).toBeDefined();
    const after = stack(pg, { stateExisted: true });
    expect(guardedMount(after, "vault_pki_secret_backend_root_cert")).toMatch(/^\$\{vault_mount\./);
    expect(guardedMount(after, "vault_pki_secret_backend_intermediate_cert_request")).toMatch(/^\$\{vault_mount\./);
  });

  test("an adopted root and intermediate are not made by the stack: nothing to guard, no record", () => {
    const json = stack(
      {},
      { adoption: { rootIssuerId: "0e4f6d51-1111-2222-3333-444455556666", intermediateIssuerId: "1e4f6d51-1111-2222-3333-444455556666" } },
    );
    expect(json.resource.vault_pki_secret_backend_root_cert).toBeUndefined();
    expect(json.data.vault_pki_secret_backend_issuers).toBeUndefined();
    expect(json.output.ca_root_issuer_ids).toBeUndefined();
    expect(json.output.ca_intermediate_issuer_ids).toBeUndefined();
  });

  test("root outside Vault, intermediate not signed yet: its CSR is guarded, and nothing is recorded before set-signed", () => {
    const json = stack({ C42_ROOT_CA_EXTERNAL: "true" });
    expect(json.resource.vault_pki_secret_backend_root_cert).toBeUndefined();
    expect(Object.keys(json.data.vault_pki_secret_backend_issuers)).toHaveLength(1);
    expect(preconditionOf(json, "vault_pki_secret_backend_intermediate_cert_request")).toHaveLength(1);
    expect(json.output.ca_intermediate_issuer_ids).toBeUndefined();
    expect(json.output.ca_root_issuer_ids).toBeUndefined();
  });
});
