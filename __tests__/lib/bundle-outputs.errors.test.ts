import { Testing } from "cdktf";
import { CrashplanBundleOutputs } from "../../lib/bundle-outputs";
import { adminCertificateInScope } from "../helpers/scopes";

const build = (passwordLength: number) => () =>
  Testing.synthScope((scope) => {
    const certificate = adminCertificateInScope(scope, { random: true }).cert;
    new CrashplanBundleOutputs(scope, "bundle", { certificate, passwordLength });
  });

describe("CrashplanBundleOutputs rejects a password length out of range", () => {
  test.each([15, 129, 0, -32, 31.5])("%d", (length) => {
    const expected = new RegExp(
      `^bundle\\.passwordLength: ${String(length).replace(".", "\\.")} is out of range; expected a whole number from 16 to 128 \\(at stack\\/bundle\\)$`,
    );
    expect(build(length)).toThrow(expected);
  });
});
