import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { CertAuthBackend } from "../../lib/cert-auth";
import { TunedPkiMount } from "../../lib/pki-mount";
import { CrashplanPolicy } from "../../lib/policy";

const build = (props: { name?: string; extraPaths?: string[] }) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const issuingMount = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: "87600h", publicUrl: "https://vault.example.com:8200" });
    new CrashplanPolicy(scope, "policy", { issuingMount, certAuth: new CertAuthBackend(scope, "certAuth"), ...props });
  });

describe("CrashplanPolicy rejects", () => {
  test("an extra path with a leading slash", () => {
    expect(build({ extraPaths: ["secret/ok/*", "/secret/code42/*"] })).toThrow(
      /^policy\.extraPaths\[1\]: "\/secret\/code42\/\*" is not a Vault policy path; expected e\.g\. "secret\/code42\/\*" \(no leading slash, no spaces or quotes\) \(at stack\/policy\)$/,
    );
  });

  test("an extra path with a space", () => {
    expect(build({ extraPaths: ["secret/code 42/*"] })).toThrow(/^policy\.extraPaths\[0\]: "secret\/code 42\/\*" is not a Vault policy path; expected/);
  });

  test("an extra path with a quote that would break out of the HCL string", () => {
    expect(build({ extraPaths: ['secret/*" {} path "sys/*'] })).toThrow(/^policy\.extraPaths\[0\]: ".*" is not a Vault policy path; expected/);
  });

  test("an empty extra path", () => {
    expect(build({ extraPaths: [""] })).toThrow(/^policy\.extraPaths\[0\]: "" is not a Vault policy path; expected/);
  });

  test("a bad name", () => {
    expect(build({ name: "crashplan policy" })).toThrow(/^policy\.name: "crashplan policy" is not a name; expected letters, digits/);
  });
});

describe("CrashplanPolicy refuses Vault's built-in policy names", () => {
  test.each(["root", "default", "Default", "ROOT", "response-wrapping", "control-group"])("%j", (name) => {
    expect(build({ name })).toThrow(
      new RegExp(
        `^policy\\.name: "${name}" is one of Vault's built-in policies \\(root, default, response-wrapping, control-group; Vault ignores case\\); expected a name of its own`,
      ),
    );
  });
});

describe("CrashplanPolicy refuses paths Vault would read differently", () => {
  test.each(["secret/*/x", "secret/**", "secret/../sys/*", "./secret", "secret/x+", "a/b c"])("%j", (path) => {
    expect(build({ extraPaths: [path] })).toThrow(/^policy\.extraPaths\[0\]: .* is not a Vault policy path; expected/);
  });

  test("a path longer than 256 characters", () => {
    expect(build({ extraPaths: ["a".repeat(257)] })).toThrow(
      /^policy\.extraPaths\[0\]: "a{40}… \(257 characters\)" is too long; expected at most 256 characters/,
    );
  });
});
