import { Testing } from "cdktf";
import { CaChainOptions, caChainInScope } from "../helpers/scopes";

const build = (props: CaChainOptions) => () =>
  Testing.synthScope((scope) => {
    caChainInScope(scope, props);
  });

describe("RootCa rejects", () => {
  test("an empty common name", () => {
    expect(build({ root: { commonName: "" } })).toThrow(
      /^rootCa\.commonName: "" is empty; expected a common name such as "crashplan\.example\.com" \(at stack\/rootCa\)$/,
    );
  });

  test("a blank common name", () => {
    expect(build({ root: { commonName: "   " } })).toThrow(/^rootCa\.commonName: " {3}" is empty; expected a common name/);
  });

  test("a TTL that is not a duration", () => {
    expect(build({ root: { ttl: "ten years" } })).toThrow(/^rootCa\.ttl: "ten years" is not a duration; expected a positive Vault duration/);
  });

  test("a TTL longer than its mount's maximum lease", () => {
    expect(build({ pkiMax: "8760h", root: { ttl: "87600h" } })).toThrow(
      /^rootCa\.ttl: "87600h" is longer than pki\.maxLeaseTtl \(8760h\); expected at most 8760h \(at stack\/rootCa\)$/,
    );
  });
});

describe("IntermediateCa rejects", () => {
  test("an empty common name", () => {
    expect(build({ intermediate: { commonName: "" } })).toThrow(/^intermediateCa\.commonName: "" is empty; expected a common name/);
  });

  test("a TTL that is not a duration", () => {
    expect(build({ intermediate: { ttl: "5 years" } })).toThrow(/^intermediateCa\.ttl: "5 years" is not a duration; expected a positive Vault duration/);
  });

  test("a TTL longer than the root's", () => {
    expect(build({ root: { ttl: "40000h" }, intermediate: { ttl: "43800h" } })).toThrow(
      /^intermediateCa\.ttl: "43800h" is longer than rootCa\.ttl \(40000h\); expected at most 40000h/,
    );
  });

  test("a TTL longer than its mount's maximum lease", () => {
    expect(build({ pkiIntMax: "8760h", intermediate: { ttl: "43800h" } })).toThrow(
      /^intermediateCa\.ttl: "43800h" is longer than pki_int\.maxLeaseTtl \(8760h\); expected at most 8760h/,
    );
  });
});
