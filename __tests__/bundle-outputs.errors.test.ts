import { Testing } from "cdktf";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { AdminCertificate } from "../lib/admin-certificate";
import { CrashplanBundleOutputs } from "../lib/bundle-outputs";
import { IntermediateCa, RootCa } from "../lib/ca-chain";
import { TunedPkiMount } from "../lib/pki-mount";
import { IssuingRole } from "../lib/pki-role";

const build = (passwordLength: number) => () =>
  Testing.synthScope((scope) => {
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

describe("CrashplanBundleOutputs rejects a password length out of range", () => {
  test.each([15, 129, 0, -32, 31.5])("%d", (length) => {
    const expected = new RegExp(`^bundle\\.passwordLength: ${String(length).replace(".", "\\.")} is out of range; expected a whole number from 16 to 128 \\(at stack\\/bundle\\)$`);
    expect(build(length)).toThrow(expected);
  });
});
