import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { KvV1Mount } from "../../lib/kv-mount";

const build = (path: string) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    new KvV1Mount(scope, "kv", { path });
  });

describe("KvV1Mount rejects a bad path", () => {
  test("leading slash", () => {
    expect(build("/secret")).toThrow(/^kv\.path: "\/secret" is not a mount path; expected .*no leading or trailing slash, e\.g\. "pki_int" \(at stack\/kv\)$/);
  });

  test("trailing slash", () => {
    expect(build("secret/")).toThrow(/^kv\.path: "secret\/" is not a mount path; expected .*no leading or trailing slash/);
  });

  test("empty", () => {
    expect(build("")).toThrow(/^kv\.path: "" is not a mount path; expected/);
  });
});
