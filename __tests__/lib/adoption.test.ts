import { X509Certificate } from "node:crypto";
import { Testing } from "cdktf";
import { ADOPTION_OUTPUT, AdoptionImports, AdoptionInput, parseAdoptionRecord } from "../../lib/adoption-record";
import { NEXT_SLOT_ADDRESSES } from "../../lib/admin-rotation";
import { RotationInput } from "../../lib/admin-rotation-phase";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { ref, resourceIds } from "../helpers/synth";
import { TestPki, testPkiForAllTests } from "../helpers/test-pki";

// A keystore adopted with `npm run adopt`: the stack is built around the CAs
// found in Vault (never generating one), keeps the hand-made admin certificate
// in the current slot until a rotation retires it, and records all of it in
// the `adoption` output.

type Json = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown; sensitive?: boolean }>;
  import?: { id: string; to: string }[];
  moved?: { from: string; to: string }[];
};

const CA_TYPES = [
  "vault_pki_secret_backend_root_cert",
  "vault_pki_secret_backend_intermediate_cert_request",
  "vault_pki_secret_backend_root_sign_intermediate",
  "vault_pki_secret_backend_intermediate_set_signed",
];

let pki: TestPki;
let cwd: string;
testPkiForAllTests("adoption-", (f) => {
  pki = f.pki;
  cwd = f.work;
});

function synth(adoption: AdoptionInput, rotation: RotationInput = { phase: "idle" }, imports?: AdoptionImports, env: Record<string, string> = {}) {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  const json = JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, rotation, adoption, imports }))) as Json;
  return { json, ...resourceIds(json) };
}
const full = (): AdoptionInput => ({ rootIssuerId: "root-1", intermediateIssuerId: "int-1", adminCertificatePem: pki.leafPem });
const record = (j: Json) => parseAdoptionRecord(j.output[ADOPTION_OUTPUT]?.value);
const vaultSerial = (pem: string) => {
  const hex = new X509Certificate(pem).serialNumber;
  return (hex.length % 2 ? `0${hex}` : hex).toLowerCase().match(/../g)?.join(":");
};

describe("an adopted keystore, idle", () => {
  test("no CA, issuer, admin certificate or bundle password is made; the mounts, role, policy and login role are", () => {
    const { json } = synth(full());
    for (const type of [...CA_TYPES, "vault_pki_secret_backend_cert", "random_password"]) expect(json.resource[type]).toBeUndefined();
    expect(
      Object.values(json.resource.vault_mount)
        .map((m) => m.path)
        .sort(),
    ).toEqual(["pki", "pki_int", "secret"]);
    expect(Object.keys(json.resource.vault_pki_secret_backend_role)).toHaveLength(1);
    expect(Object.keys(json.resource.vault_policy)).toHaveLength(1);
  });

  test("crashplanUser pins the hand-made certificate; the role issues from the existing intermediate without waiting for a CA resource", () => {
    const { json, only } = synth(full());
    expect(json.resource.vault_cert_auth_backend_role[only("vault_cert_auth_backend_role")]).toMatchObject({
      name: "crashplanUser",
      certificate: pki.leafPem.trim() + "\n",
      token_policies: [ref("vault_policy", only("vault_policy"), "name")],
    });
    const role = json.resource.vault_pki_secret_backend_role[only("vault_pki_secret_backend_role")];
    expect(role.depends_on).toBeUndefined();
    expect(role.backend).toBe(ref("vault_mount", "pki_int_mount_F63E60D3", "path"));
  });

  test("both PKI mounts refuse to be destroyed: the adopted CAs could not be made again", () => {
    const { json } = synth(full());
    for (const id of ["pki_mount_33DDF4BC", "pki_int_mount_F63E60D3"]) expect(json.resource.vault_mount[id].lifecycle).toEqual({ prevent_destroy: true });
  });

  test("outputs: the certificate, serial and expiry the status and renewal window read; no key, chain or password; the adoption record", () => {
    const { json } = synth(full());
    const leaf = new X509Certificate(pki.leafPem);
    expect(json.output[BUNDLE_OUTPUTS.certificate].value).toBe(pki.leafPem.trim() + "\n");
    expect(json.output[BUNDLE_OUTPUTS.serialNumber].value).toBe(vaultSerial(pki.leafPem));
    expect(json.output[BUNDLE_OUTPUTS.expiration].value).toBe(Math.floor(Date.parse(leaf.validTo) / 1000));
    for (const name of [BUNDLE_OUTPUTS.privateKey, BUNDLE_OUTPUTS.password, BUNDLE_OUTPUTS.caChain]) expect(json.output[name]).toBeUndefined();
    expect(json.output[ADOPTION_OUTPUT].sensitive).toBeUndefined();
    expect(record(json)).toEqual({ ...full(), adminCertificatePem: pki.leafPem.trim() + "\n" });
  });

  test("import blocks only with imports, addressed to the stack's own resources", () => {
    expect(synth(full()).json.import).toBeUndefined();
    const { json } = synth(full(), { phase: "idle" }, { kv: "secret", pkiUrls: "pki/config/urls", role: "pki_int/roles/cpRole", policy: "crashplanPolicy" });
    expect(json.import).toEqual([
      { id: "secret", to: "vault_mount.kv_mount_FDFB2C73" },
      { id: "pki/config/urls", to: expect.stringMatching(/^vault_pki_secret_backend_config_urls\.pki_urls_\w+$/) },
      { id: "pki_int/roles/cpRole", to: expect.stringMatching(/^vault_pki_secret_backend_role\.role_\w+$/) },
      { id: "crashplanPolicy", to: expect.stringMatching(/^vault_policy\.policy_\w+$/) },
    ]);
  });
});

describe("an adopted keystore through a rotation", () => {
  test("started: the next certificate is issued and pinned by crashplanUser-next; crashplanUser keeps the hand-made one; the next bundle's outputs", () => {
    const { json } = synth(full(), { phase: "started" });
    expect(Object.keys(json.resource.vault_pki_secret_backend_cert)).toEqual([NEXT_SLOT_ADDRESSES.certificate.split(".")[1]]);
    const roles = Object.fromEntries(Object.values(json.resource.vault_cert_auth_backend_role).map((r) => [r.name, r.certificate]));
    expect(roles).toEqual({
      crashplanUser: pki.leafPem.trim() + "\n",
      "crashplanUser-next": ref("vault_pki_secret_backend_cert", "admin_cert_next", "certificate"),
    });
    expect(json.output[NEXT_BUNDLE_OUTPUTS.privateKey].sensitive).toBe(true);
    expect(json.output[BUNDLE_OUTPUTS.serialNumber].value).toBe(vaultSerial(pki.leafPem));
    expect(record(json)?.adminCertificatePem).toBe(pki.leafPem.trim() + "\n");
  });

  test("finishing: crashplanUser pins the new certificate; the record drops the hand-made one; the CAs stay adopted", () => {
    const { json } = synth(full(), { phase: "finishing", recorded: "started" });
    const roles = Object.values(json.resource.vault_cert_auth_backend_role);
    expect(roles.every((r) => r.certificate === ref("vault_pki_secret_backend_cert", "admin_cert_next", "certificate"))).toBe(true);
    expect(json.output[BUNDLE_OUTPUTS.privateKey].sensitive).toBe(true);
    expect(record(json)).toEqual({ rootIssuerId: "root-1", intermediateIssuerId: "int-1" });
    for (const type of CA_TYPES) expect(json.resource[type]).toBeUndefined();
  });

  test("idle after the finish (the record has no certificate): a managed certificate, moved from the next slot", () => {
    const { json, only } = synth({ rootIssuerId: "root-1", intermediateIssuerId: "int-1" }, { phase: "idle", recorded: "finishing" });
    expect(json.moved).toContainEqual({ from: NEXT_SLOT_ADDRESSES.certificate, to: `vault_pki_secret_backend_cert.${only("vault_pki_secret_backend_cert")}` });
    expect(json.output[BUNDLE_OUTPUTS.password].sensitive).toBe(true);
    for (const type of CA_TYPES) expect(json.resource[type]).toBeUndefined();
  });
});

describe("partial adoption (objects an interrupted deploy left behind)", () => {
  test("an adopted root only: the intermediate is generated and signed by exactly that issuer; no second root", () => {
    const { json, only } = synth({ rootIssuerId: "root-1" });
    expect(json.resource.vault_pki_secret_backend_root_cert).toBeUndefined();
    expect(json.resource.vault_pki_secret_backend_root_sign_intermediate[only("vault_pki_secret_backend_root_sign_intermediate")].issuer_ref).toBe("root-1");
    expect(json.output[BUNDLE_OUTPUTS.privateKey].sensitive).toBe(true);
    expect(record(json)).toEqual({ rootIssuerId: "root-1" });
  });

  test("nothing adopted: no adoption output, the stack as always", () => {
    const { json } = synth({});
    expect(json.output[ADOPTION_OUTPUT]).toBeUndefined();
    expect(Object.keys(json.resource.vault_pki_secret_backend_root_cert)).toHaveLength(1);
  });
});

describe("errors", () => {
  test("an adopted root with rootCa.external", () => {
    expect(() => synth(full(), { phase: "idle" }, undefined, { C42_ROOT_CA_EXTERNAL: "true" })).toThrow(KeystoreValidationError);
    expect(() => synth(full(), { phase: "idle" }, undefined, { C42_ROOT_CA_EXTERNAL: "true" })).toThrow(
      "rootCa.external: true is set, but the state records a root CA adopted on pki; expected rootCa.external false for an adopted keystore",
    );
  });

  test("a record that is not one is refused, naming the output; none is undefined", () => {
    expect(parseAdoptionRecord(undefined)).toBeUndefined();
    expect(parseAdoptionRecord("")).toBeUndefined();
    expect(parseAdoptionRecord("{}")).toBeUndefined();
    for (const bad of ["[1]", "not json", '{"rootIssuerId": 7}', '{"rootIssuerId": ""}']) {
      expect(() => parseAdoptionRecord(bad)).toThrow("output adoption is not an adoption record (was the state edited by hand?)");
    }
  });

  test("a pinned certificate that is not PEM is refused without echoing it", () => {
    expect(() => synth({ ...full(), adminCertificatePem: "garbage" })).toThrow(
      'adoption.adminCertificatePem: "(not shown)" is not a PEM certificate; expected the certificate the login role pins',
    );
  });
});
