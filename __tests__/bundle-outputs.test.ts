import { Testing } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { AdminCertificate } from "../lib/admin-certificate";
import { BUNDLE_OUTPUTS, CrashplanBundleOutputs } from "../lib/bundle-outputs";
import { IntermediateCa, RootCa } from "../lib/ca-chain";
import { TunedPkiMount } from "../lib/pki-mount";
import { IssuingRole } from "../lib/pki-role";

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const ref = (type: string, id: string, attribute: string) => "${" + `${type}.${id}.${attribute}` + "}";

function synthBundle(passwordLength?: number) {
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    new RandomProvider(scope, "random");
    const publicUrl = "https://vault.example.com:8200";
    const pki = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: "87600h", publicUrl });
    const pkiInt = new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: "43800h", publicUrl });
    const root = new RootCa(scope, "rootCa", { mount: pki });
    const issuer = new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, root });
    const certificate = new AdminCertificate(scope, "adminCert", { role: new IssuingRole(scope, "role", { issuer }) });
    new CrashplanBundleOutputs(scope, "bundle", { certificate, passwordLength });
  });
  const json = JSON.parse(synth);
  const only = (type: string) => {
    const ids = Object.keys((json.resource as Resources)[type] ?? {});
    if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
    return ids[0];
  };
  return { synth, json, only };
}

describe("CrashplanBundleOutputs", () => {
  const { synth, json, only } = synthBundle();
  const cert = (attribute: string) => ref("vault_pki_secret_backend_cert", only("vault_pki_secret_backend_cert"), attribute);

  test("generates a 32-character alphanumeric password with every character class", () => {
    expect(synth).toHaveResourceWithProperties(Password, {
      length: 32,
      special: false,
      upper: true,
      lower: true,
      numeric: true,
      min_upper: 1,
      min_lower: 1,
      min_numeric: 1,
    });
  });

  test("keeps the password until the certificate's serial changes", () => {
    expect(synth).toHaveResourceWithProperties(Password, { keepers: { certificate_serial: cert("serial_number") } });
  });

  test("writes the outputs the bundle command reads, under their fixed names", () => {
    expect(Object.keys(json.output).sort()).toEqual(
      ["admin_ca_chain_pem", "admin_certificate_expiration", "admin_certificate_pem", "admin_certificate_serial", "admin_private_key_pem", "crashplan_p12_password"],
    );
    expect(Object.values(BUNDLE_OUTPUTS).sort()).toEqual(Object.keys(json.output).sort());
  });

  test.each([
    ["admin_certificate_pem", "certificate"],
    ["admin_private_key_pem", "private_key"],
    ["admin_ca_chain_pem", "ca_chain"],
    ["admin_certificate_serial", "serial_number"],
    ["admin_certificate_expiration", "expiration"],
  ])("%s is the certificate's %s", (output, attribute) => {
    expect(json.output[output].value).toBe(cert(attribute));
  });

  test("crashplan_p12_password is the random password's result", () => {
    expect(json.output.crashplan_p12_password.value).toBe(ref("random_password", only("random_password"), "result"));
  });

  test("marks the private key and the password sensitive, and nothing else", () => {
    const sensitive = Object.entries(json.output as Record<string, { sensitive?: boolean }>)
      .filter(([, o]) => o.sensitive === true)
      .map(([name]) => name)
      .sort();
    expect(sensitive).toEqual(["admin_private_key_pem", "crashplan_p12_password"]);
  });

  test.each([16, 64, 128])("accepts a password length of %d", (length) => {
    expect(synthBundle(length).synth).toHaveResourceWithProperties(Password, { length });
  });
});
