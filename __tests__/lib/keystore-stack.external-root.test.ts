import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { CertAuthBackendRole } from "@cdktf/provider-vault/lib/cert-auth-backend-role";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { EXTERNAL_SIGNING_OUTPUTS } from "../../lib/ca-chain";
import { CLUSTER_OUTPUT } from "../../lib/cluster-identity-record";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { makeCsr, makeExternalRoot, privateTempDir } from "../helpers/external-root";
import { ref, resourceIds } from "../helpers/synth";

// rootCa.external: the user's own root CA signs the intermediate outside Vault.
// First deploy: the CSR and what does not depend on the CA; with
// intermediateCa.signedCertificateFile: everything that issues.

const VAULT_ADDR = "https://vault.example.com:8200";
const CAPABILITIES = '  capabilities = ["create", "read", "update", "delete", "list"]\n';

let dir: string;
let signedFile: string;
beforeAll(() => {
  dir = privateTempDir("keystore-external-");
  const root = makeExternalRoot(dir);
  signedFile = join(dir, "signed.pem");
  writeFileSync(signedFile, root.signIntermediate(makeCsr(dir, "int")) + root.certificatePem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function synthStack(env: Record<string, string>) {
  const config = loadConfig({ env: { VAULT_ADDR, C42_ROOT_CA_EXTERNAL: "true", ...env }, cwd: dir });
  const synth = Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
  const json = JSON.parse(synth);
  return { synth, json, ...resourceIds(json) };
}

describe("KeystoreStack with rootCa.external, before the signature", () => {
  let s: ReturnType<typeof synthStack>;
  beforeAll(() => (s = synthStack({})));

  test("makes no pki mount and no root, and pki_int with its CSR, both protected", () => {
    expect(
      Object.values(s.json.resource.vault_mount)
        .map((m) => (m as { path: string }).path)
        .sort(),
    ).toEqual(["pki_int", "secret"]);
    expect(s.json.resource.vault_pki_secret_backend_root_cert).toBeUndefined();
    expect(s.json.resource.vault_pki_secret_backend_root_sign_intermediate).toBeUndefined();
    expect(s.synth).toHaveResourceWithProperties(Mount, { path: "pki_int", max_lease_ttl_seconds: 43800 * 3600, lifecycle: { prevent_destroy: true } });
    expect(s.synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, {
      backend: ref("vault_mount", s.idOf("vault_mount", { path: "pki_int" }), "path"),
      common_name: "example.com Intermediate Authority",
    });
    // Its precondition (the issuer guard) is tested in issuer-guard.test.ts.
    expect(
      s.json.resource.vault_pki_secret_backend_intermediate_cert_request[s.only("vault_pki_secret_backend_intermediate_cert_request")].lifecycle
        .prevent_destroy,
    ).toBe(true);
  });

  test("stops at the CSR: no set-signed, role, certificate, cert role or bundle outputs", () => {
    for (const type of [
      "vault_pki_secret_backend_intermediate_set_signed",
      "vault_pki_secret_backend_role",
      "vault_pki_secret_backend_cert",
      "vault_cert_auth_backend_role",
      "random_password",
    ]) {
      expect(s.json.resource[type]).toBeUndefined();
    }
    expect(Object.keys(s.json.output).sort()).toEqual([CLUSTER_OUTPUT, EXTERNAL_SIGNING_OUTPUTS.csr, EXTERNAL_SIGNING_OUTPUTS.nextStep]);
    expect(s.json.output[EXTERNAL_SIGNING_OUTPUTS.nextStep].value).toContain("set intermediateCa.signedCertificateFile");
  });

  test("crashplanPolicy grants sys/policy/* and auth/<cert>/certs/*, and no issue path", () => {
    const certAuth = ref("vault_auth_backend", s.only("vault_auth_backend"), "path");
    const policy = ["sys/policy/*", `auth/${certAuth}/certs/*`].map((p) => `path "${p}" {\n${CAPABILITIES}}\n`).join("\n");
    expect(s.synth).toHaveResourceWithProperties(Policy, { name: "crashplanPolicy", policy });
  });

  test("rootCa.preventDestroy=false leaves pki_int and the CSR destroyable", () => {
    const released = synthStack({ C42_ROOT_CA_PREVENT_DESTROY: "false" });
    expect(released.json.resource.vault_mount[released.idOf("vault_mount", { path: "pki_int" })]).not.toHaveProperty("lifecycle");
    expect(
      released.json.resource.vault_pki_secret_backend_intermediate_cert_request[released.only("vault_pki_secret_backend_intermediate_cert_request")].lifecycle,
    ).not.toHaveProperty("prevent_destroy");
  });
});

describe("KeystoreStack with rootCa.external and the signed certificate file", () => {
  let s: ReturnType<typeof synthStack>;
  let before: ReturnType<typeof synthStack>;
  beforeAll(() => {
    s = synthStack({ C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: signedFile });
    before = synthStack({});
  });

  test("keeps the same logical ids for what the first deploy made", () => {
    for (const type of ["vault_mount", "vault_auth_backend", "vault_pki_secret_backend_intermediate_cert_request", "vault_policy"]) {
      expect(Object.keys(s.json.resource[type])).toEqual(Object.keys(before.json.resource[type]));
    }
  });

  test("sets the file's chain as signed on pki_int, then builds cpRole, the admin certificate and crashplanUser as before", () => {
    const pkiInt = ref("vault_mount", s.idOf("vault_mount", { path: "pki_int" }), "path");
    expect(s.synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateSetSigned, {
      backend: pkiInt,
      certificate: expect.stringMatching(/^-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN CERTIFICATE-----/),
    });
    expect(s.synth).toHaveResourceWithProperties(PkiSecretBackendRole, {
      backend: pkiInt,
      name: "cpRole",
      client_flag: true,
      depends_on: ["data.vault_pki_secret_backend_issuers." + Object.keys(s.json.data.vault_pki_secret_backend_issuers)[0]],
    });
    expect(s.synth).toHaveResourceWithProperties(CertAuthBackendRole, {
      name: "crashplanUser",
      certificate: ref("vault_pki_secret_backend_cert", s.only("vault_pki_secret_backend_cert"), "certificate"),
      token_policies: [ref("vault_policy", s.only("vault_policy"), "name")],
    });
  });

  test("writes the CSR and every bundle output, and no next step", () => {
    expect(Object.keys(s.json.output).sort()).toEqual(
      [EXTERNAL_SIGNING_OUTPUTS.csr, ...Object.values(BUNDLE_OUTPUTS), "admin_rotation_phase", CLUSTER_OUTPUT, "ca_intermediate_issuer_ids"].sort(),
    );
  });
});
