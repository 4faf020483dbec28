import { Testing } from "cdktf";
import { AdminCertificateProps } from "../../lib/admin-certificate";
import { adminCertificateInScope } from "../helpers/scopes";

const build =
  (props: Partial<AdminCertificateProps>, intermediateTtl = "43800h") =>
  () =>
    Testing.synthScope((scope) => {
      adminCertificateInScope(scope, { intermediate: { ttl: intermediateTtl }, cert: props });
    });

describe("AdminCertificate rejects", () => {
  test("an empty common name", () => {
    expect(build({ commonName: "" })).toThrow(
      /^adminCert\.commonName: "" is empty; expected a common name such as "crashplan\.example\.com" \(at stack\/adminCert\)$/,
    );
  });

  test("a TTL that is not a duration", () => {
    expect(build({ ttl: "1 year" })).toThrow(/^adminCert\.ttl: "1 year" is not a duration; expected a positive Vault duration/);
  });

  test("a renewal window that is not a duration", () => {
    expect(build({ renewBefore: "a month" })).toThrow(/^adminCert\.renewBefore: "a month" is not a duration; expected a positive Vault duration/);
  });

  test("a TTL longer than the intermediate's", () => {
    expect(build({ ttl: "8760h" }, "4380h")).toThrow(
      /^adminCert\.ttl: "8760h" is longer than intermediateCa\.ttl \(4380h\); expected at most 4380h \(at stack\/adminCert\)$/,
    );
  });

  test("a renewal window as long as the certificate's life", () => {
    expect(build({ ttl: "720h", renewBefore: "720h" })).toThrow(
      /^adminCert\.renewBefore: "720h" is not shorter than adminCert\.ttl \(720h\); expected a window shorter than the certificate's life/,
    );
  });

  test("a renewal window longer than the certificate's life", () => {
    expect(build({ ttl: "720h", renewBefore: "1000h" })).toThrow(/^adminCert\.renewBefore: "1000h" is not shorter than adminCert\.ttl \(720h\); expected/);
  });
});

// The message must show the value as the user wrote it, not a normalised form of it.
describe("AdminCertificate errors show the value received", () => {
  test("in the TTL nesting rule", () => {
    expect(build({ ttl: "365d" }, "4380h")).toThrow(/^adminCert\.ttl: "365d" is longer than intermediateCa\.ttl/);
  });

  test("in the renewal window rule", () => {
    expect(build({ ttl: "720h", renewBefore: "30d" })).toThrow(/^adminCert\.renewBefore: "30d" is not shorter than adminCert\.ttl/);
  });
});
