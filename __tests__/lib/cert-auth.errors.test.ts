import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { CertAuthBackend, CertAuthBackendProps, CertLoginRole, CertLoginRoleProps } from "../../lib/cert-auth";

const backend = (props: CertAuthBackendProps) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    new CertAuthBackend(scope, "certAuth", props);
  });

const role = (props: Partial<CertLoginRoleProps>) => () =>
  Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    new CertLoginRole(scope, "certRole", {
      backend: new CertAuthBackend(scope, "certAuth"),
      certificate: { certificatePem: "${var.pem}" },
      policies: [{ policyName: "crashplanPolicy" }],
      ...props,
    });
  });

describe("CertAuthBackend", () => {
  test("path with a leading slash", () => {
    expect(backend({ path: "/cert" })).toThrow(
      /^certAuth\.path: "\/cert" is not a mount path; expected .*no leading or trailing slash.* \(at stack\/certAuth\)$/,
    );
  });

  test("path with a trailing slash", () => {
    expect(backend({ path: "cert/" })).toThrow(/^certAuth\.path: "cert\/" is not a mount path; expected/);
  });

  test("default lease that is not a duration", () => {
    expect(backend({ defaultLeaseTtl: "60 seconds" })).toThrow(
      /^certAuth\.defaultLeaseTtl: "60 seconds" is not a duration; expected a positive Vault duration/,
    );
  });
});

describe("CertLoginRole", () => {
  test.each(["crashplan User", "", "auth/crashplanUser"])("name %j", (name) => {
    const expected = new RegExp(`^certRole\\.name: ${JSON.stringify(name).replace(/\//g, "\\/")} is not a name; expected letters, digits, "_", "-" or "\\."`);
    expect(role({ name })).toThrow(expected);
  });

  test("token TTL of zero", () => {
    expect(role({ tokenTtl: "0s" })).toThrow(/^certRole\.tokenTtl: "0s" is not a duration; expected a positive Vault duration/);
  });
});
