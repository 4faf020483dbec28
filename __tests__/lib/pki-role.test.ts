import { TerraformOutput, Testing } from "cdktf";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { AdminCertificate } from "../../lib/admin-certificate";
import { IssuingRole } from "../../lib/pki-role";
import { caChainInScope, issuingRoleInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

function synthRole(name?: string) {
  const synth = Testing.synthScope((scope) => {
    const { role } = issuingRoleInScope(scope, { roleName: name });
    new TerraformOutput(scope, "role_name", { value: role.roleName });
    new TerraformOutput(scope, "backend", { value: role.backend });
  });
  const json = JSON.parse(synth);
  const { idOf } = resourceIds(json);
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

describe("IssuingRole.fromRoleName: a role that already exists", () => {
  test("an admin certificate issues through it from the issuer's mount, and no role is created", () => {
    const synth = Testing.synthScope((scope) => {
      const { issuer } = caChainInScope(scope);
      new AdminCertificate(scope, "adminCert", { role: IssuingRole.fromRoleName(scope, "role", issuer, "corpRole") });
    });
    const json = JSON.parse(synth);
    expect(json.resource.vault_pki_secret_backend_role).toBeUndefined();
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, {
      backend: ref("vault_mount", resourceIds(json).idOf("vault_mount", { path: "pki_int" }), "path"),
      name: "corpRole",
    });
  });

  test("checks the name under its setting name", () => {
    const build = () =>
      Testing.synthScope((scope) => {
        IssuingRole.fromRoleName(scope, "role", caChainInScope(scope).issuer, "corp role");
      });
    expect(build).toThrow(/^role\.name: "corp role" is not a name; expected .* \(at stack\/role\)$/);
  });
});
