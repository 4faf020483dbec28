import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { AuthBackend } from "@cdktf/provider-vault/lib/auth-backend";
import { CertAuthBackendRole } from "@cdktf/provider-vault/lib/cert-auth-backend-role";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { PkiSecretBackendConfigUrls } from "@cdktf/provider-vault/lib/pki-secret-backend-config-urls";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { PkiSecretBackendRootCert } from "@cdktf/provider-vault/lib/pki-secret-backend-root-cert";
import { PkiSecretBackendRootSignIntermediate } from "@cdktf/provider-vault/lib/pki-secret-backend-root-sign-intermediate";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { Resources, ref, resourceIds } from "../helpers/synth";

const VAULT_ADDR = "https://vault.example.com:8200";
const CAPABILITIES = '  capabilities = ["create", "read", "update", "delete", "list"]\n';

const cwds: string[] = [];
afterAll(() => cwds.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synthStack(env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), "keystore-stack-"));
  cwds.push(cwd);
  const stack = new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config: loadConfig({ env: { VAULT_ADDR, ...env }, cwd }) });
  const synth = Testing.synth(stack);
  const json = JSON.parse(synth);
  const { idOf } = resourceIds(json);
  return { cwd, synth, json, idOf };
}

describe("KeystoreStack with seed values: every step of the recipe", () => {
  const { cwd, synth, json, idOf } = synthStack();
  const pki = ref("vault_mount", idOf("vault_mount", { path: "pki" }), "path");
  const pkiInt = ref("vault_mount", idOf("vault_mount", { path: "pki_int" }), "path");
  const certAuth = ref("vault_auth_backend", idOf("vault_auth_backend"), "path");
  const adminCert = idOf("vault_pki_secret_backend_cert");

  test("1. vault secrets enable -path=secret -version=1 kv, protected: it holds the archive keys", () => {
    expect(synth).toHaveResourceWithProperties(Mount, { path: "secret", type: "kv", options: { version: "1" }, lifecycle: { prevent_destroy: true } });
  });

  test("the kv mount's protection is lifted only by releaseArchiveKeys (npm run destroy), never by a setting", () => {
    const released = new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config: loadConfig({ env: { VAULT_ADDR }, cwd }), releaseArchiveKeys: true });
    const mounts = JSON.parse(Testing.synth(released)).resource.vault_mount as Record<string, { path: string; lifecycle?: unknown }>;
    expect(Object.values(mounts).find((m) => m.path === "secret")).not.toHaveProperty("lifecycle");
    expect(Object.values(mounts).find((m) => m.path === "pki")?.lifecycle).toEqual({ prevent_destroy: true });
    const unguarded = synthStack({ C42_ROOT_CA_PREVENT_DESTROY: "false" });
    expect(unguarded.synth).toHaveResourceWithProperties(Mount, { path: "secret", lifecycle: { prevent_destroy: true } });
  });

  test("2. vault auth enable cert; tune default_lease_ttl=60 (written as the provider reads it back)", () => {
    expect(synth).toHaveResourceWithProperties(AuthBackend, { type: "cert", path: "cert", tune: [expect.objectContaining({ default_lease_ttl: "1m" })] });
  });

  test("3. vault secrets enable pki; tune -max-lease-ttl=87600h", () => {
    expect(synth).toHaveResourceWithProperties(Mount, { path: "pki", type: "pki", max_lease_ttl_seconds: 87600 * 3600 });
  });

  test("3. vault secrets enable -path=pki_int pki; tune -max-lease-ttl=43800h", () => {
    expect(synth).toHaveResourceWithProperties(Mount, { path: "pki_int", type: "pki", max_lease_ttl_seconds: 43800 * 3600 });
  });

  test("3. pki/config/urls from VAULT_ADDR, same host and port for CA and CRL", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      backend: pki,
      issuing_certificates: ["https://vault.example.com:8200/v1/pki/ca"],
      crl_distribution_points: ["https://vault.example.com:8200/v1/pki/crl"],
    });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      backend: pkiInt,
      issuing_certificates: ["https://vault.example.com:8200/v1/pki_int/ca"],
      crl_distribution_points: ["https://vault.example.com:8200/v1/pki_int/crl"],
    });
  });

  test("4. pki/root/generate/internal common_name=example.com ttl=87600h, protected with its mount", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootCert, {
      backend: pki,
      type: "internal",
      common_name: "example.com",
      ttl: "87600h",
    });
    // Its precondition (the issuer guard) is tested in issuer-guard.test.ts.
    expect(json.resource.vault_pki_secret_backend_root_cert[idOf("vault_pki_secret_backend_root_cert")].lifecycle.prevent_destroy).toBe(true);
    expect(synth).toHaveResourceWithProperties(Mount, { path: "pki", lifecycle: { prevent_destroy: true } });
  });

  test("5. pki_int/intermediate/generate/internal", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, {
      backend: pkiInt,
      type: "internal",
      common_name: "example.com Intermediate Authority",
    });
  });

  test("5. pki/root/sign-intermediate format=pem_bundle ttl=43800h, by this root", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootSignIntermediate, {
      backend: pki,
      csr: ref("vault_pki_secret_backend_intermediate_cert_request", idOf("vault_pki_secret_backend_intermediate_cert_request"), "csr"),
      format: "pem_bundle",
      ttl: "43800h",
      issuer_ref: ref("vault_pki_secret_backend_root_cert", idOf("vault_pki_secret_backend_root_cert"), "issuer_id"),
    });
  });

  test("5. pki_int/intermediate/set-signed", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateSetSigned, {
      backend: pkiInt,
      certificate: ref("vault_pki_secret_backend_root_sign_intermediate", idOf("vault_pki_secret_backend_root_sign_intermediate"), "certificate"),
    });
  });

  test("6. pki_int/roles/cpRole allow_any_name=true allow_subdomains=true client_flag=true", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRole, {
      backend: pkiInt,
      name: "cpRole",
      allow_any_name: true,
      allow_subdomains: true,
      client_flag: true,
    });
  });

  test("7. pki_int/issue/cpRole ttl=8760h, never re-issued in place (two-phase rotation, the default)", () => {
    const role = idOf("vault_pki_secret_backend_role");
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, {
      backend: ref("vault_pki_secret_backend_role", role, "backend"),
      name: ref("vault_pki_secret_backend_role", role, "name"),
      common_name: "crashplan-admin",
      ttl: "8760h",
      auto_renew: false,
      // 0, so that a refresh never flags it as renew_pending (drift) before it expires.
      min_seconds_remaining: 0,
      revoke: true,
    });
  });

  test("8. crashplanPolicy: CRUD and list on pki/issue/*, sys/policy/*, auth/cert/certs/*", () => {
    const policy = [`${pki}/issue/*`, "sys/policy/*", `auth/${certAuth}/certs/*`].map((p) => `path "${p}" {\n${CAPABILITIES}}\n`).join("\n");
    expect(synth).toHaveResourceWithProperties(Policy, { name: "crashplanPolicy", policy });
  });

  test("9. auth/cert/certs/crashplanUser display_name=crashplanUser policies=crashplanPolicy certificate=<admin> ttl=60", () => {
    expect(synth).toHaveResourceWithProperties(CertAuthBackendRole, {
      backend: certAuth,
      name: "crashplanUser",
      display_name: "crashplanUser",
      certificate: ref("vault_pki_secret_backend_cert", adminCert, "certificate"),
      token_policies: [ref("vault_policy", idOf("vault_policy"), "name")],
      token_ttl: 60,
    });
  });

  test("the bundle: a password renewed with the certificate, and outputs with the key and password sensitive", () => {
    expect(synth).toHaveResourceWithProperties(Password, {
      length: 32,
      special: false,
      keepers: { certificate_serial: ref("vault_pki_secret_backend_cert", adminCert, "serial_number") },
    });
    expect(json.output).toEqual({
      admin_certificate_pem: expect.objectContaining({ value: ref("vault_pki_secret_backend_cert", adminCert, "certificate"), sensitive: false }),
      admin_private_key_pem: expect.objectContaining({ value: ref("vault_pki_secret_backend_cert", adminCert, "private_key"), sensitive: true }),
      admin_ca_chain_pem: expect.objectContaining({ value: ref("vault_pki_secret_backend_cert", adminCert, "ca_chain"), sensitive: false }),
      admin_certificate_serial: expect.objectContaining({ value: ref("vault_pki_secret_backend_cert", adminCert, "serial_number"), sensitive: false }),
      admin_certificate_expiration: expect.objectContaining({ value: ref("vault_pki_secret_backend_cert", adminCert, "expiration"), sensitive: false }),
      crashplan_p12_password: expect.objectContaining({ value: ref("random_password", idOf("random_password"), "result"), sensitive: true }),
      admin_rotation_phase: expect.objectContaining({ value: "idle" }),
      c42_cluster: expect.objectContaining({ value: expect.objectContaining({ clusterId: "", clusterName: "" }) }),
      ca_root_issuer_ids: expect.objectContaining({
        value: `\${[vault_pki_secret_backend_root_cert.${idOf("vault_pki_secret_backend_root_cert")}.issuer_id]}`,
      }),
      ca_intermediate_issuer_ids: expect.objectContaining({
        value: ref("vault_pki_secret_backend_intermediate_set_signed", idOf("vault_pki_secret_backend_intermediate_set_signed"), "imported_issuers"),
      }),
    });
  });

  test("nothing beyond the recipe: one resource of each kind, two mounts of pki and one of kv", () => {
    const counts = Object.fromEntries(Object.entries(json.resource as Resources).map(([type, items]) => [type, Object.keys(items).length]));
    expect(counts).toEqual({
      vault_mount: 3,
      vault_auth_backend: 1,
      vault_pki_secret_backend_config_urls: 2,
      vault_pki_secret_backend_root_cert: 1,
      vault_pki_secret_backend_intermediate_cert_request: 1,
      vault_pki_secret_backend_root_sign_intermediate: 1,
      vault_pki_secret_backend_intermediate_set_signed: 1,
      vault_pki_secret_backend_role: 1,
      vault_pki_secret_backend_cert: 1,
      vault_policy: 1,
      vault_cert_auth_backend_role: 1,
      random_password: 1,
    });
  });

  test("providers: Vault without credentials, both pinned to exact versions", () => {
    expect(synth).toHaveProviderWithProperties(VaultProvider, { skip_child_token: true });
    expect(json.provider.vault).toEqual([{ skip_child_token: true }]);
    const pinned = json.terraform.required_providers as Record<string, { source: string; version: string }>;
    expect(Object.keys(pinned).sort()).toEqual(["random", "vault"]);
    expect(pinned.vault.source).toBe("hashicorp/vault");
    expect(pinned.random.source).toBe("hashicorp/random");
    for (const { version } of Object.values(pinned)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("state is kept locally under stateDir, relative to the project", () => {
    expect(json.terraform.backend).toEqual({ local: { path: join(cwd, ".local/state", `${KEYSTORE_STACK}.tfstate`) } });
  });

  test("synthesized JSON matches the checked-in snapshot (tripwire)", () => {
    expect(JSON.parse(synth.split(cwd).join("<cwd>"))).toMatchSnapshot();
  });
});

describe("KeystoreStack with non-default settings", () => {
  const seed = synthStack();
  const custom = synthStack({
    C42_PUBLIC_URL: "https://keys.example.org",
    C42_KV_PATH: "code42/kv",
    C42_CERT_AUTH_PATH: "tls",
    C42_PKI_PATH: "code42/root",
    C42_PKI_INT_PATH: "code42/issuing",
    C42_ROLE_NAME: "code42Role",
    C42_POLICY_NAME: "code42Policy",
    C42_POLICY_EXTRA_PATHS: "secret/code42/*",
    C42_CERT_ROLE_NAME: "code42User",
    C42_ADMIN_CERT_TTL: "720h",
    C42_ADMIN_CERT_RENEW_BEFORE: "7d",
    C42_ADMIN_CERT_ROTATION: "one-step",
    C42_ROOT_CA_PREVENT_DESTROY: "false",
  });

  test("renamed mounts flow into the URLs", () => {
    expect(custom.synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      issuing_certificates: ["https://keys.example.org/v1/code42/root/ca"],
      crl_distribution_points: ["https://keys.example.org/v1/code42/root/crl"],
    });
    expect(custom.synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      issuing_certificates: ["https://keys.example.org/v1/code42/issuing/ca"],
      crl_distribution_points: ["https://keys.example.org/v1/code42/issuing/crl"],
    });
  });

  test("renamed mounts keep their resource ids, so the policy follows them and nothing is replaced by accident", () => {
    expect(Object.keys(custom.json.resource.vault_mount).sort()).toEqual(Object.keys(seed.json.resource.vault_mount).sort());
    const pki = ref("vault_mount", custom.idOf("vault_mount", { path: "code42/root" }), "path");
    const certAuth = ref("vault_auth_backend", custom.idOf("vault_auth_backend", { path: "tls" }), "path");
    const policy = [`${pki}/issue/*`, "sys/policy/*", `auth/${certAuth}/certs/*`, "secret/code42/*"].map((p) => `path "${p}" {\n${CAPABILITIES}}\n`).join("\n");
    expect(custom.synth).toHaveResourceWithProperties(Policy, { name: "code42Policy", policy });
  });

  test("names, TTLs and the renewal window flow into their resources", () => {
    expect(custom.synth).toHaveResourceWithProperties(PkiSecretBackendRole, { name: "code42Role" });
    expect(custom.synth).toHaveResourceWithProperties(CertAuthBackendRole, {
      name: "code42User",
      display_name: "code42User",
      token_policies: [ref("vault_policy", custom.idOf("vault_policy"), "name")],
    });
    expect(custom.synth).toHaveResourceWithProperties(PkiSecretBackendCert, { ttl: "720h", auto_renew: true, min_seconds_remaining: 7 * 86400 });
    expect(custom.synth).toHaveResourceWithProperties(Mount, { path: "code42/kv", type: "kv" });
  });

  test("rootCa.preventDestroy=false unguards both the root and its mount", () => {
    const root = custom.json.resource.vault_pki_secret_backend_root_cert[custom.idOf("vault_pki_secret_backend_root_cert")];
    const mount = custom.json.resource.vault_mount[custom.idOf("vault_mount", { path: "code42/root" })];
    expect(root.lifecycle).not.toHaveProperty("prevent_destroy");
    expect(mount).not.toHaveProperty("lifecycle");
  });
});
