import { TerraformOutput, Testing } from "cdktf";
import { Construct } from "constructs";
import { AuthBackend } from "@cdktf/provider-vault/lib/auth-backend";
import { CertAuthBackendRole } from "@cdktf/provider-vault/lib/cert-auth-backend-role";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { CertAuthBackend, CertLoginRole, CertLoginRoleProps } from "../../lib/cert-auth";
import { Resources, ref, resourceIds } from "../helpers/synth";

const onlyId = (synth: string, type: string) => resourceIds(JSON.parse(synth)).only(type);

/** A cert auth method plus a role trusting a real certificate resource and granting a real policy. */
function withRole(props: Partial<Omit<CertLoginRoleProps, "backend" | "certificate" | "policies">> = {}, backendProps = {}) {
  let backend!: CertAuthBackend;
  let role!: CertLoginRole;
  const synth = Testing.synthScope((scope: Construct) => {
    new VaultProvider(scope, "vault");
    backend = new CertAuthBackend(scope, "certAuth", backendProps);
    const cert = new PkiSecretBackendCert(scope, "cert", { backend: "pki_int", name: "cpRole", commonName: "crashplan-admin" });
    const policy = new Policy(scope, "policy", { name: "crashplanPolicy", policy: 'path "sys/policy/*" { capabilities = ["read"] }' });
    role = new CertLoginRole(scope, "certRole", {
      backend,
      certificate: { certificatePem: cert.certificate },
      policies: [{ policyName: policy.name }],
      ...props,
    });
    new TerraformOutput(scope, "backend_path", { value: backend.path });
    new TerraformOutput(scope, "role_name", { value: role.roleName });
  });
  return { synth, backend, role };
}

describe("CertAuthBackend", () => {
  const { synth, backend } = withRole();

  test("enables cert auth at cert, tuned to a 60 s default lease written as the provider reads it back", () => {
    expect(synth).toHaveResourceWithProperties(AuthBackend, {
      type: "cert",
      path: "cert",
      tune: [expect.objectContaining({ default_lease_ttl: "1m" })],
    });
    // "60s" would be read back as "1m" and show a diff on every plan.
    expect(synth).not.toHaveResourceWithProperties(AuthBackend, { tune: [expect.objectContaining({ default_lease_ttl: "60s" })] });
  });

  test("tunes nothing but the default lease", () => {
    const tune = (JSON.parse(synth).resource as Resources).vault_auth_backend[onlyId(synth, "vault_auth_backend")].tune as Record<string, unknown>[];
    expect(tune).toHaveLength(1);
    const set = Object.entries(tune[0]).filter(([, v]) => v !== null && v !== undefined);
    expect(set).toEqual([["default_lease_ttl", "1m"]]);
  });

  test("exposes path as a reference and the lease in seconds", () => {
    expect(JSON.parse(synth).output.backend_path.value).toBe(ref("vault_auth_backend", onlyId(synth, "vault_auth_backend"), "path"));
    expect(backend.defaultLeaseSeconds).toBe(60);
  });

  test.each([
    ["90s", "1m30s"],
    ["1h", "1h"],
    ["2m", "2m"],
    ["45", "45s"],
  ])("defaultLeaseTtl %j is written as %j", (input, written) => {
    const { synth: custom } = withRole({}, { defaultLeaseTtl: input });
    expect(custom).toHaveResourceWithProperties(AuthBackend, { tune: [expect.objectContaining({ default_lease_ttl: written })] });
  });

  test("mounts at another path", () => {
    const { synth: custom } = withRole({}, { path: "tls/code42" });
    expect(custom).toHaveResourceWithProperties(AuthBackend, { type: "cert", path: "tls/code42" });
  });
});

describe("CertLoginRole", () => {
  const { synth, role } = withRole();

  test("binds crashplanUser to the certificate and policy, with 60 s tokens", () => {
    expect(synth).toHaveResourceWithProperties(CertAuthBackendRole, {
      name: "crashplanUser",
      display_name: "crashplanUser",
      backend: ref("vault_auth_backend", onlyId(synth, "vault_auth_backend"), "path"),
      certificate: ref("vault_pki_secret_backend_cert", onlyId(synth, "vault_pki_secret_backend_cert"), "certificate"),
      token_policies: [ref("vault_policy", onlyId(synth, "vault_policy"), "name")],
      token_ttl: 60,
    });
    expect(role.tokenTtlSeconds).toBe(60);
  });

  test("exposes its name as a reference", () => {
    expect(JSON.parse(synth).output.role_name.value).toBe(ref("vault_cert_auth_backend_role", onlyId(synth, "vault_cert_auth_backend_role"), "name"));
  });

  test("a renamed role keeps display name equal to name; tokenTtl is converted to seconds", () => {
    const { synth: custom } = withRole({ name: "code42User", tokenTtl: "5m" });
    expect(custom).toHaveResourceWithProperties(CertAuthBackendRole, { name: "code42User", display_name: "code42User", token_ttl: 300 });
  });

  test("grants every policy it is given, in order", () => {
    const synth2 = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      const backend = new CertAuthBackend(scope, "certAuth");
      new CertLoginRole(scope, "certRole", {
        backend,
        certificate: { certificatePem: "${var.pem}" },
        policies: [{ policyName: "crashplanPolicy" }, { policyName: "audit" }],
      });
    });
    expect(synth2).toHaveResourceWithProperties(CertAuthBackendRole, { token_policies: ["crashplanPolicy", "audit"] });
  });
});

describe("CertAuthBackend.fromPath and existing policies: objects that already exist", () => {
  test("a role in an existing cert auth method, granting an existing policy by name, creates neither", () => {
    const synth = Testing.synthScope((scope: Construct) => {
      new VaultProvider(scope, "vault");
      const backend = CertAuthBackend.fromPath(scope, "certAuth", "corp-cert");
      const cert = new PkiSecretBackendCert(scope, "cert", { backend: "pki_int", name: "cpRole", commonName: "crashplan-admin" });
      new CertLoginRole(scope, "certRole", { backend, certificate: { certificatePem: cert.certificate }, policies: [{ policyName: "corp-audit" }] });
    });
    const json = JSON.parse(synth);
    expect(json.resource.vault_auth_backend).toBeUndefined();
    expect(json.resource.vault_policy).toBeUndefined();
    expect(synth).toHaveResourceWithProperties(CertAuthBackendRole, { backend: "corp-cert", name: "crashplanUser", token_policies: ["corp-audit"] });
  });

  test("fromPath checks the path under its setting name", () => {
    expect(() => Testing.synthScope((scope) => void CertAuthBackend.fromPath(scope, "certAuth", "cert/"))).toThrow(
      /^certAuth\.path: "cert\/" is not a mount path; expected .* \(at stack\/certAuth\)$/,
    );
  });
});
