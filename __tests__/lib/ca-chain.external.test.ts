import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { AdminCertificate } from "../../lib/admin-certificate";
import { EXTERNAL_SIGNING_OUTPUTS, IntermediateCa, IntermediateCaProps } from "../../lib/ca-chain";
import { IssuingRole } from "../../lib/pki-role";
import { makeCsr, makeExternalRoot, privateTempDir } from "../helpers/external-root";
import { pkiMountsInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

// An intermediate signed outside Vault by the user's own root CA: first the
// CSR alone, then, with the signed certificate file, set as signed.

let dir: string;
let pki: { intermediatePem: string; rootPem: string };
let signedFile: string;

beforeAll(() => {
  dir = privateTempDir("c42-external-");
  const root = makeExternalRoot(dir);
  pki = { intermediatePem: root.signIntermediate(makeCsr(dir, "int"), { days: 30 }), rootPem: root.certificatePem };
  signedFile = join(dir, "signed.pem");
  writeFileSync(signedFile, pki.intermediatePem + pki.rootPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function synthExternal(props: Partial<IntermediateCaProps> = {}) {
  let intermediate!: IntermediateCa;
  const synth = Testing.synthScope((scope) => {
    const { pkiInt } = pkiMountsInScope(scope);
    intermediate = new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, ...props });
  });
  const json = JSON.parse(synth);
  return { synth, json, intermediate, ...resourceIds(json) };
}

describe("IntermediateCa signed outside Vault, before the signature", () => {
  let s: ReturnType<typeof synthExternal>;
  beforeAll(() => (s = synthExternal()));

  test("generates the CSR inside pki_int, with no root, no signing and no set-signed", () => {
    expect(s.synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, {
      backend: ref("vault_mount", s.idOf("vault_mount", { path: "pki_int" }), "path"),
      type: "internal",
      common_name: "example.com Intermediate Authority",
    });
    for (const type of [
      "vault_pki_secret_backend_root_cert",
      "vault_pki_secret_backend_root_sign_intermediate",
      "vault_pki_secret_backend_intermediate_set_signed",
    ]) {
      expect(s.json.resource[type]).toBeUndefined();
    }
    expect(s.intermediate.signed).toBeUndefined();
    expect(s.intermediate.certificatePem).toBeUndefined();
    expect(s.intermediate.ttlSeconds).toBeUndefined();
  });

  test("writes the CSR as the intermediate_csr output", () => {
    expect(s.json.output[EXTERNAL_SIGNING_OUTPUTS.csr].value).toBe(
      ref("vault_pki_secret_backend_intermediate_cert_request", s.only("vault_pki_secret_backend_intermediate_cert_request"), "csr"),
    );
  });

  test("says what to do next in an output, naming the setting to set", () => {
    const next = s.json.output[EXTERNAL_SIGNING_OUTPUTS.nextStep].value as string;
    expect(next).toContain(`output ${EXTERNAL_SIGNING_OUTPUTS.csr}`);
    expect(next).toContain("CA:TRUE");
    expect(next).toContain("set intermediateCa.signedCertificateFile");
    expect(next).toContain("deploy again");
  });

  test("refuses to be issued from: a role needs the signed certificate first", () => {
    const build = () =>
      Testing.synthScope((scope) => {
        const { pkiInt } = pkiMountsInScope(scope);
        new IssuingRole(scope, "role", { issuer: new IntermediateCa(scope, "intermediateCa", { mount: pkiInt }) });
      });
    expect(build).toThrow(
      /^intermediateCa\.signedCertificateFile: \(unset\) is needed before anything can issue from stack\/intermediateCa; expected the intermediate signed by your root CA \(sign the intermediate_csr output\)/,
    );
  });

  test("preventDestroy guards the CSR's key", () => {
    const guarded = synthExternal({ preventDestroy: true });
    expect(guarded.synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateCertRequest, { lifecycle: { prevent_destroy: true } });
  });
});

describe("IntermediateCa signed outside Vault, with the signed certificate file", () => {
  let s: ReturnType<typeof synthExternal>;
  beforeAll(() => (s = synthExternal({ signedCertificateFile: signedFile })));

  test("sets the file's intermediate and root as signed on pki_int, keeping the same CSR", () => {
    const certificate = s.json.resource.vault_pki_secret_backend_intermediate_set_signed[s.only("vault_pki_secret_backend_intermediate_set_signed")]
      .certificate as string;
    expect(certificate).toBe(pki.intermediatePem.trim() + "\n" + pki.rootPem.trim() + "\n");
    expect(s.synth).toHaveResourceWithProperties(PkiSecretBackendIntermediateSetSigned, {
      backend: ref("vault_mount", s.idOf("vault_mount", { path: "pki_int" }), "path"),
    });
    expect(s.json.output[EXTERNAL_SIGNING_OUTPUTS.csr]).toBeDefined();
    expect(s.json.output[EXTERNAL_SIGNING_OUTPUTS.nextStep]).toBeUndefined();
  });

  test("keeps the construct ids of the intermediate signed inside Vault", () => {
    expect(s.only("vault_pki_secret_backend_intermediate_cert_request")).toMatch(/^intermediateCa_request_/);
    expect(s.only("vault_pki_secret_backend_intermediate_set_signed")).toMatch(/^intermediateCa_signed_/);
  });

  test("takes its validity from the certificate (30 days)", () => {
    expect(s.intermediate.ttlSeconds).toBe(30 * 86400);
  });

  test("checks, once set, that the certificate was signed for this mount's key, and stops the deploy otherwise", () => {
    const signed = "vault_pki_secret_backend_intermediate_set_signed." + s.only("vault_pki_secret_backend_intermediate_set_signed");
    const checks = Object.values(s.json.data.vault_pki_secret_backend_issuers) as Record<string, unknown>[];
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ backend: ref("vault_mount", s.idOf("vault_mount", { path: "pki_int" }), "path"), depends_on: [signed] });
    const [post] = (checks[0].lifecycle as { postcondition: { condition: string; error_message: string }[] }).postcondition;
    expect(post.condition).toBe(
      `\${anytrue([for id in ${signed}.imported_issuers : try(jsondecode(self.key_info_json)[id].key_id, "") != ""]) || length(${signed}.imported_issuers) == 0}`,
    );
    expect(post.error_message).toMatch(
      /^intermediateCa\.signedCertificateFile: the intermediate certificate was not signed for the key of this deployment's CSR; expected the CSR in the intermediate_csr output/,
    );
    expect(post.error_message).not.toContain("${");
  });

  test("a role waits for that check, and the admin certificate must fit inside its validity", () => {
    const build = (ttl: string) =>
      Testing.synthScope((scope) => {
        const { pkiInt } = pkiMountsInScope(scope);
        const issuer = new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, signedCertificateFile: signedFile });
        new AdminCertificate(scope, "adminCert", { role: new IssuingRole(scope, "role", { issuer }), ttl, renewBefore: "1d" });
      });
    const synth = build("720h");
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRole, {
      depends_on: ["data.vault_pki_secret_backend_issuers." + Object.keys(JSON.parse(synth).data.vault_pki_secret_backend_issuers)[0]],
    });
    expect(() => build("721h")).toThrow(
      /^adminCert\.ttl: "721h" is longer than the intermediate in intermediateCa\.signedCertificateFile \(720h\); expected at most 720h \(at stack\/adminCert\)$/,
    );
  });
});
