import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { TunedPkiMount, TunedPkiMountProps } from "../../lib/pki-mount";

const build = (props: Partial<TunedPkiMountProps>) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: "43800h", publicUrl: "https://vault.example.com:8200", ...props });
  });

describe("TunedPkiMount rejects", () => {
  test("a maximum lease that is not a duration", () => {
    expect(build({ maxLeaseTtl: "10 years" })).toThrow(
      /^pki_int\.maxLeaseTtl: "10 years" is not a duration; expected a positive Vault duration such as "60s", "8760h" or "30d" \(at stack\/pki_int\)$/,
    );
  });

  test("a path with a leading slash", () => {
    expect(build({ path: "/pki_int" })).toThrow(/^pki_int\.path: "\/pki_int" is not a mount path; expected .*no leading or trailing slash/);
  });

  test("a path with a trailing slash", () => {
    expect(build({ path: "pki_int/" })).toThrow(/^pki_int\.path: "pki_int\/" is not a mount path; expected .*no leading or trailing slash/);
  });

  test("an http URL without allowInsecureHttp", () => {
    expect(build({ publicUrl: "http://vault.example.com:8200" })).toThrow(
      /^publicUrl: "http:\/\/vault\.example\.com:8200" has scheme "http"; expected an https:\/\/ URL \(set allowInsecureHttp only for local development\)/,
    );
  });

  test("another scheme even with allowInsecureHttp", () => {
    expect(build({ publicUrl: "ftp://vault.example.com", allowInsecureHttp: true })).toThrow(
      /^publicUrl: "ftp:\/\/vault\.example\.com" has scheme "ftp"; expected an http:\/\/ or https:\/\/ URL/,
    );
  });

  test("something that is not a URL", () => {
    expect(build({ publicUrl: "not a url" })).toThrow(/^publicUrl: "not a url" is not a URL; expected e\.g\. "https:\/\/vault\.example\.com:8200"/);
  });

  test("an empty URL", () => {
    expect(build({ publicUrl: "" })).toThrow(/^publicUrl: "" is not a URL; expected/);
  });

  test("a URL with a query", () => {
    expect(build({ publicUrl: "https://vault.example.com:8200/?x=1" })).toThrow(
      /^publicUrl: "https:\/\/vault\.example\.com:8200\/\?x=1" has a query or a fragment; expected a plain base URL/,
    );
  });

  // A bare "?" or "#" is an empty query or fragment: appending "/v1/pki/ca" to it
  // would put the path inside the query and point every certificate's CA URL at "/".
  test.each(["https://vault.example.com:8200?", "https://vault.example.com:8200#"])("a URL ending in an empty query or fragment: %j", (publicUrl) => {
    expect(build({ publicUrl })).toThrow(/^publicUrl: ".*" has a query or a fragment; expected a plain base URL/);
  });

  test("a URL with credentials", () => {
    // The password is redacted: the message lands on terminals and CI logs.
    expect(build({ publicUrl: "https://user:s3cret@vault.example.com" })).toThrow(
      /^publicUrl: "https:\/\/\*\*\*@vault\.example\.com" has credentials; expected a plain base URL without user or password/,
    );
    expect(build({ publicUrl: "https://user:s3cret@vault.example.com" })).not.toThrow(/s3cret/);
  });
});

describe("TunedPkiMount.fromPath rejects", () => {
  test("a path with a leading slash, naming the setting from its id", () => {
    expect(() => Testing.synthScope((scope) => void TunedPkiMount.fromPath(scope, "pki", "/pki"))).toThrow(
      /^pki\.path: "\/pki" is not a mount path; expected .* \(at stack\/pki\)$/,
    );
  });
});
