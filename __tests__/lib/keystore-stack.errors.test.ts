import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

// Every rule, reached the way a user reaches it: a C42_* variable, then the stack.
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "keystore-errors-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const build = (env: Record<string, string>) => () => {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  return Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
};

test("the seed configuration builds", () => {
  expect(build({})).not.toThrow();
});

describe("durations must parse", () => {
  test.each([
    ["C42_PKI_INT_MAX_LEASE_TTL", "pki_int.maxLeaseTtl", "10 years"],
    ["C42_PKI_MAX_LEASE_TTL", "pki.maxLeaseTtl", "forever"],
    ["C42_CERT_AUTH_DEFAULT_LEASE_TTL", "certAuth.defaultLeaseTtl", "1 minute"],
    ["C42_ROOT_CA_TTL", "rootCa.ttl", "10y"],
    ["C42_INTERMEDIATE_CA_TTL", "intermediateCa.ttl", "5 years"],
    ["C42_ADMIN_CERT_TTL", "adminCert.ttl", "1 year"],
    ["C42_ADMIN_CERT_RENEW_BEFORE", "adminCert.renewBefore", "a month"],
    ["C42_CERT_ROLE_TOKEN_TTL", "certRole.tokenTtl", "0s"],
  ])("%s=%j", (name, key, value) => {
    expect(build({ [name]: value })).toThrow(
      new RegExp(`^${escapeRegExp(key)}: "${escapeRegExp(value)}" is not a duration; expected a positive Vault duration such as "60s", "8760h" or "30d"$`),
    );
  });
});

describe("common names must be non-empty", () => {
  test.each([
    ["C42_ROOT_CA_COMMON_NAME", "rootCa.commonName"],
    ["C42_INTERMEDIATE_CA_COMMON_NAME", "intermediateCa.commonName"],
    ["C42_ADMIN_CERT_COMMON_NAME", "adminCert.commonName"],
  ])("%s of blanks", (name, key) => {
    expect(build({ [name]: "  " })).toThrow(new RegExp(`^${escapeRegExp(key)}: "  " is empty; expected a common name such as`));
  });
});

describe("the public URL must be https unless local development is allowed", () => {
  test("http without C42_ALLOW_INSECURE_HTTP", () => {
    expect(build({ C42_PUBLIC_URL: "http://127.0.0.1:8200" })).toThrow(
      /^publicUrl: "http:\/\/127\.0\.0\.1:8200" has scheme "http"; expected an https:\/\/ URL \(set allowInsecureHttp only for local development\) \(at keystore\/pki\)$/,
    );
  });

  test("http with C42_ALLOW_INSECURE_HTTP=true builds", () => {
    expect(build({ C42_PUBLIC_URL: "http://127.0.0.1:8200", C42_ALLOW_INSECURE_HTTP: "true" })).not.toThrow();
  });

  test("a VAULT_ADDR without a scheme", () => {
    expect(() => {
      const config = loadConfig({ env: { VAULT_ADDR: "vault.example.com:8200" }, cwd });
      Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
    }).toThrow(/^VAULT_ADDR: "vault\.example\.com:8200" has scheme "vault\.example\.com"; expected an https:\/\/ URL/);
  });

  test("an http VAULT_ADDR even when publicUrl is https: the deploy token would travel in clear", () => {
    const env = { VAULT_ADDR: "http://127.0.0.1:8200", C42_PUBLIC_URL: "https://vault.example.com:8200" };
    expect(() => loadConfig({ env, cwd })).toThrow(
      /^VAULT_ADDR: "http:\/\/127\.0\.0\.1:8200" has scheme "http"; expected an https:\/\/ URL \(set allowInsecureHttp only for local development\)$/,
    );
    expect(loadConfig({ env: { ...env, C42_ALLOW_INSECURE_HTTP: "true" }, cwd }).allowInsecureHttp).toBe(true);
  });

  test("a value that is not a URL", () => {
    expect(build({ C42_PUBLIC_URL: "vault.example.com" })).toThrow(
      /^publicUrl: "vault\.example\.com" is not a URL; expected e\.g\. "https:\/\/vault\.example\.com:8200"/,
    );
  });
});

describe("TTLs must nest: admin ≤ intermediate ≤ root, each ≤ its mount's maximum lease", () => {
  test("root longer than pki's maximum lease", () => {
    expect(build({ C42_PKI_MAX_LEASE_TTL: "8760h" })).toThrow(
      /^rootCa\.ttl: "87600h" is longer than pki\.maxLeaseTtl \(8760h\); expected at most 8760h \(at keystore\/rootCa\)$/,
    );
  });

  test("intermediate longer than the root", () => {
    expect(build({ C42_ROOT_CA_TTL: "40000h" })).toThrow(
      /^intermediateCa\.ttl: "43800h" is longer than rootCa\.ttl \(40000h\); expected at most 40000h \(at keystore\/intermediateCa\)$/,
    );
  });

  test("intermediate longer than pki_int's maximum lease", () => {
    expect(build({ C42_PKI_INT_MAX_LEASE_TTL: "20000h" })).toThrow(
      /^intermediateCa\.ttl: "43800h" is longer than pki_int\.maxLeaseTtl \(20000h\); expected at most 20000h/,
    );
  });

  test("admin certificate longer than the intermediate", () => {
    expect(build({ C42_INTERMEDIATE_CA_TTL: "4380h" })).toThrow(
      /^adminCert\.ttl: "8760h" is longer than intermediateCa\.ttl \(4380h\); expected at most 4380h \(at keystore\/adminCert\)$/,
    );
  });

  test("renewal window not shorter than the admin certificate's life", () => {
    expect(build({ C42_ADMIN_CERT_TTL: "720h", C42_ADMIN_CERT_RENEW_BEFORE: "720h" })).toThrow(
      /^adminCert\.renewBefore: "720h" is not shorter than adminCert\.ttl \(720h\); expected a window shorter/,
    );
  });
});

describe("names and policy paths", () => {
  test.each([
    ["C42_ROLE_NAME", "role.name", "cp role"],
    ["C42_POLICY_NAME", "policy.name", "crashplan/policy"],
    ["C42_CERT_ROLE_NAME", "certRole.name", "crashplan user"],
  ])("%s=%j", (name, key, value) => {
    expect(build({ [name]: value })).toThrow(new RegExp(`^${escapeRegExp(key)}: "${escapeRegExp(value)}" is not a name; expected letters, digits`));
  });

  test("an extra policy path with a leading slash", () => {
    expect(build({ C42_POLICY_EXTRA_PATHS: "secret/ok/*,/secret/code42/*" })).toThrow(
      /^policy\.extraPaths\[1\]: "\/secret\/code42\/\*" is not a Vault policy path; expected e\.g\. "secret\/code42\/\*"/,
    );
  });
});

test("every error is a KeystoreValidationError naming the setting", () => {
  let error: unknown;
  try {
    build({ C42_PKI_INT_MAX_LEASE_TTL: "10 years" })();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(KeystoreValidationError);
  expect((error as KeystoreValidationError).setting).toBe("pki_int.maxLeaseTtl");
  expect((error as KeystoreValidationError).received).toBe('"10 years"');
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

describe("an external root CA's signed certificate file", () => {
  test("is refused without rootCa.external, naming both settings", () => {
    const file = join(cwd, "signed.pem");
    expect(build({ C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: file })).toThrow(
      new RegExp(
        `^intermediateCa\\.signedCertificateFile: "${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}" is set, but keystore/rootCa signs this intermediate inside Vault; expected no file, or rootCa\\.external set to true`,
      ),
    );
  });

  test("is checked before synth: a missing file names the setting, the path and what it should hold", () => {
    const file = join(cwd, "missing.pem");
    expect(build({ C42_ROOT_CA_EXTERNAL: "true", C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: file })).toThrow(KeystoreValidationError);
    expect(build({ C42_ROOT_CA_EXTERNAL: "true", C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: file })).toThrow(
      /^intermediateCa\.signedCertificateFile: ".*missing\.pem" cannot be read \(ENOENT\); expected a PEM file with the signed intermediate certificate followed by your root CA's certificate \(at keystore\/intermediateCa\)$/,
    );
  });
});
