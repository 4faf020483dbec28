import { TerraformOutput, Testing } from "cdktf";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { IntermediateCa, RootCa } from "../lib/ca-chain";
import { TunedPkiMount } from "../lib/pki-mount";
import { IssuingRole } from "../lib/pki-role";

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const ref = (type: string, id: string, attribute: string) => "${" + `${type}.${id}.${attribute}` + "}";

function synthRole(name?: string) {
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const publicUrl = "https://vault.example.com:8200";
    const pki = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: "87600h", publicUrl });
    const pkiInt = new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: "43800h", publicUrl });
    const root = new RootCa(scope, "rootCa", { mount: pki });
    const issuer = new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, root });
    const role = new IssuingRole(scope, "role", { issuer, name });
    new TerraformOutput(scope, "role_name", { value: role.roleName });
    new TerraformOutput(scope, "backend", { value: role.backend });
  });
  const json = JSON.parse(synth);
  const resources = json.resource as Resources;
  const idOf = (type: string, match: Record<string, unknown> = {}) => {
    const ids = Object.entries(resources[type] ?? {}).filter(([, r]) => Object.entries(match).every(([k, v]) => r[k] === v));
    if (ids.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(match)}, found ${ids.length}`);
    return ids[0][0];
  };
  return { synth, json, idOf };
}

describe("IssuingRole", () => {
  const { synth, json, idOf } = synthRole();
  const roleId = idOf("vault_pki_secret_backend_role");

  test("is cpRole on pki_int with allow_any_name, allow_subdomains and client_flag", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRole, {
      name: "cpRole",
      backend: ref("vault_mount", idOf("vault_mount", { path: "pki_int" }), "path"),
      allow_any_name: true,
      allow_subdomains: true,
      client_flag: true,
    });
  });

  test("waits for the intermediate to be set as signed before it can issue", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRole, {
      depends_on: ["vault_pki_secret_backend_intermediate_set_signed." + idOf("vault_pki_secret_backend_intermediate_set_signed")],
    });
  });

  test("does not narrow what it issues beyond the recipe", () => {
    const role = json.resource.vault_pki_secret_backend_role[roleId];
    for (const key of ["allowed_domains", "server_flag", "max_ttl", "ttl", "enforce_hostnames"]) {
      expect(role).not.toHaveProperty(key);
    }
  });

  test("exposes its name and backend as references to the role", () => {
    expect(json.output.role_name.value).toBe(ref("vault_pki_secret_backend_role", roleId, "name"));
    expect(json.output.backend.value).toBe(ref("vault_pki_secret_backend_role", roleId, "backend"));
  });

  test("takes another name", () => {
    const custom = synthRole("code42");
    expect(custom.synth).toHaveResourceWithProperties(PkiSecretBackendRole, { name: "code42", client_flag: true });
    expect(custom.idOf("vault_pki_secret_backend_role")).toBe(roleId);
  });
});
