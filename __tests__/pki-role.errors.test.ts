import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { IntermediateCa, RootCa } from "../lib/ca-chain";
import { TunedPkiMount } from "../lib/pki-mount";
import { IssuingRole } from "../lib/pki-role";

const build = (name: string) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const publicUrl = "https://vault.example.com:8200";
    const pki = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: "87600h", publicUrl });
    const pkiInt = new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: "43800h", publicUrl });
    const root = new RootCa(scope, "rootCa", { mount: pki });
    new IssuingRole(scope, "role", { issuer: new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, root }), name });
  });

describe("IssuingRole rejects a bad name", () => {
  test("with a space", () => {
    expect(build("cp role")).toThrow(/^role\.name: "cp role" is not a name; expected letters, digits, "_", "-" or "\.", e\.g\. "cpRole" \(at stack\/role\)$/);
  });

  test("with a slash", () => {
    expect(build("roles/cpRole")).toThrow(/^role\.name: "roles\/cpRole" is not a name; expected/);
  });

  test("empty", () => {
    expect(build("")).toThrow(/^role\.name: "" is not a name; expected/);
  });
});
