import { Testing } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { CrashplanBundleOutputs } from "../../lib/bundle-outputs";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { adminCertificateInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

function synthBundle(passwordLength?: number) {
  const synth = Testing.synthScope((scope) => {
    const certificate = adminCertificateInScope(scope, { random: true }).cert;
    new CrashplanBundleOutputs(scope, "bundle", { certificate, passwordLength });
  });
  const json = JSON.parse(synth);
  const { only } = resourceIds(json);
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
    expect(Object.keys(json.output).sort()).toEqual([
      "admin_ca_chain_pem",
      "admin_certificate_expiration",
      "admin_certificate_pem",
      "admin_certificate_serial",
      "admin_private_key_pem",
      "crashplan_p12_password",
    ]);
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
