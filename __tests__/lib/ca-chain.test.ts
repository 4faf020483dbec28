import { TerraformOutput, Testing } from "cdktf";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRootCert } from "@cdktf/provider-vault/lib/pki-secret-backend-root-cert";
import { PkiSecretBackendRootSignIntermediate } from "@cdktf/provider-vault/lib/pki-secret-backend-root-sign-intermediate";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { AdminCertificate } from "../../lib/admin-certificate";
import { IntermediateCa, IntermediateCaProps, RootCa, RootCaProps } from "../../lib/ca-chain";
import { TunedPkiMount } from "../../lib/pki-mount";
import { IssuingRole } from "../../lib/pki-role";
import { caChainInScope, pkiMountsInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

function synthChain(rootProps: Partial<RootCaProps> = {}, intermediateProps: Partial<IntermediateCaProps> = {}) {
  let root!: RootCa;
  let intermediate!: IntermediateCa;
  const synth = Testing.synthScope((scope) => {
    const chain = caChainInScope(scope, { root: rootProps, intermediate: intermediateProps });
    root = chain.root;
    intermediate = chain.issuer;
    new TerraformOutput(scope, "root_pem", { value: root.certificatePem });
    new TerraformOutput(scope, "intermediate_pem", { value: intermediate.certificatePem });
  });
  const { idOf } = resourceIds(JSON.parse(synth));
  return { synth, json: JSON.parse(synth), root, intermediate, idOf };
}

describe("RootCa with seed values", () => {
  const { synth, json, root, idOf } = synthChain();
  const pkiPath = ref("vault_mount", idOf("vault_mount", { path: "pki" }), "path");

  test("generates the root inside the pki mount (pki/root/generate/internal, ttl 87600h)", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootCert, {
      backend: pkiPath,
      type: "internal",
      common_name: "example.com",
      ttl: "87600h",
    });
    expect(root.ttlSeconds).toBe(315360000);
  });

  test("is protected against destroy by default", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootCert, { lifecycle: { prevent_destroy: true } });
  });

  test("exposes its certificate as a reference", () => {
    expect(json.output.root_pem.value).toBe(ref("vault_pki_secret_backend_root_cert", idOf("vault_pki_secret_backend_root_cert"), "certificate"));
  });
});

describe("IntermediateCa with seed values", () => {
  const { synth, json, intermediate, idOf } = synthChain();
  const pkiPath = ref("vault_mount", idOf("vault_mount", { path: "pki" }), "path");
  const pkiIntPath = ref("vault_mount", idOf("vault_mount", { path: "pki_int" }), "path");
  const requestId = idOf("vault_pki_secret_backend_intermediate_cert_request");
  const signatureId = idOf("vault_pki_secret_backend_root_sign_intermediate");
  const rootId = idOf("vault_pki_secret_backend_root_cert");

  test("generates the CSR inside pki_int (pki_int/intermediate/generate/internal)", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, {
      backend: pkiIntPath,
      type: "internal",
      common_name: "example.com Intermediate Authority",
    });
  });

  test("has the root sign that CSR as a pem_bundle with ttl 43800h (pki/root/sign-intermediate)", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootSignIntermediate, {
      backend: pkiPath,
      csr: ref("vault_pki_secret_backend_intermediate_cert_request", requestId, "csr"),
      common_name: "example.com Intermediate Authority",
      format: "pem_bundle",
      ttl: "43800h",
    });
    expect(intermediate.ttlSeconds).toBe(157680000);
  });

  test("signs with exactly the root it was given", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootSignIntermediate, {
      issuer_ref: ref("vault_pki_secret_backend_root_cert", rootId, "issuer_id"),
    });
  });

  test("sets the signed certificate on pki_int (pki_int/intermediate/set-signed)", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateSetSigned, {
      backend: pkiIntPath,
      certificate: ref("vault_pki_secret_backend_root_sign_intermediate", signatureId, "certificate"),
    });
  });

  test("exposes the signed certificate as a reference", () => {
    expect(json.output.intermediate_pem.value).toBe(ref("vault_pki_secret_backend_root_sign_intermediate", signatureId, "certificate"));
  });

  test("builds exactly one of each step", () => {
    for (const type of [
      "vault_pki_secret_backend_root_cert",
      "vault_pki_secret_backend_intermediate_cert_request",
      "vault_pki_secret_backend_root_sign_intermediate",
      "vault_pki_secret_backend_intermediate_set_signed",
    ]) {
      expect(Object.keys(json.resource[type])).toHaveLength(1);
    }
  });
});

describe("non-default props", () => {
  test("common names and TTLs flow into the root and the intermediate", () => {
    const { synth } = synthChain({ commonName: "Acme Root", ttl: "50000h" }, { commonName: "Acme Issuing", ttl: "365d" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootCert, { common_name: "Acme Root", ttl: "50000h" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, { common_name: "Acme Issuing" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootSignIntermediate, { common_name: "Acme Issuing", ttl: "8760h" });
  });

  test("preventDestroy false leaves the root destroyable", () => {
    const { json, idOf } = synthChain({ preventDestroy: false });
    expect(json.resource.vault_pki_secret_backend_root_cert[idOf("vault_pki_secret_backend_root_cert")]).not.toHaveProperty("lifecycle");
  });

  test("TTLs equal to their limits are accepted", () => {
    expect(() => synthChain({ ttl: "87600h" }, { ttl: "43800h" })).not.toThrow();
  });
});

describe("RootCa.fromIssuer: a root that already exists in a Vault mount", () => {
  function synthOnExistingRoot(ttl?: string, intermediateTtl = "43800h") {
    const synth = Testing.synthScope((scope) => {
      const { pkiInt } = pkiMountsInScope(scope);
      const root = RootCa.fromIssuer(scope, "rootCa", { mount: TunedPkiMount.fromPath(scope, "corpPki", "corp-pki"), issuerRef: "corp-root", ttl });
      new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, root, ttl: intermediateTtl });
    });
    return { synth, json: JSON.parse(synth) };
  }

  test("signs the intermediate in its mount with its issuer, generating no root", () => {
    const { synth, json } = synthOnExistingRoot();
    expect(json.resource.vault_pki_secret_backend_root_cert).toBeUndefined();
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootSignIntermediate, { backend: "corp-pki", issuer_ref: "corp-root", ttl: "43800h" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateSetSigned, {
      certificate: expect.stringContaining("vault_pki_secret_backend_root_sign_intermediate."),
    });
  });

  test("checks the intermediate's TTL against the root's when it is known", () => {
    expect(() => synthOnExistingRoot("8760h")).toThrow(/^intermediateCa\.ttl: "43800h" is longer than rootCa\.ttl \(8760h\); expected at most 8760h/);
    expect(() => synthOnExistingRoot("8760h", "8760h")).not.toThrow();
  });
});

describe("IntermediateCa.fromMount: an issuing CA that already exists", () => {
  test("a role and a certificate issue from its mount without waiting for anything", () => {
    const synth = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      const issuer = IntermediateCa.fromMount(scope, "intermediateCa", { mount: TunedPkiMount.fromPath(scope, "pki_int", "corp-int"), ttl: "8760h" });
      const role = new IssuingRole(scope, "role", { issuer });
      new AdminCertificate(scope, "adminCert", { role, ttl: "2160h" });
    });
    const json = JSON.parse(synth);
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRole, { backend: "corp-int", name: "cpRole" });
    expect(Object.values(json.resource.vault_pki_secret_backend_role)[0]).not.toHaveProperty("depends_on");
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, {
      name: "${vault_pki_secret_backend_role." + resourceIds(json).only("vault_pki_secret_backend_role") + ".name}",
    });
  });

  test("its known TTL limits what it issues, named as its setting", () => {
    const build = () =>
      Testing.synthScope((scope) => {
        new VaultProvider(scope, "vault");
        const issuer = IntermediateCa.fromMount(scope, "intermediateCa", { mount: TunedPkiMount.fromPath(scope, "pki_int", "corp-int"), ttl: "4380h" });
        new AdminCertificate(scope, "adminCert", { role: new IssuingRole(scope, "role", { issuer }) });
      });
    expect(build).toThrow(/^adminCert\.ttl: "8760h" is longer than intermediateCa\.ttl \(4380h\); expected at most 4380h \(at stack\/adminCert\)$/);
  });
});
