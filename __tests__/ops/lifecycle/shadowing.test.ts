import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../../lib/bundle-output-names";
import { loadConfig } from "../../../lib/config";
import { formatDriftReport, withShadowing } from "../../../ops/engine/drift-report";
import { isStackRole, loginCertificates, shadowAdvice, stackRoles, whyAccepts } from "../../../ops/lifecycle/shadowing";
import { CertRole } from "../../../ops/vault/cert-roles";
import { TestPki, makeTestPki } from "../../helpers/test-pki";

/*
 * Which cert roles accept the admin certificate, as Vault's cert auth decides
 * it: a pinned leaf (same serial and issuer), or a CA above it; narrowed by
 * the role's common-name and DNS constraints. These are the roles a nameless
 * login could land on instead of crashplanUser.
 */
let dir: string;
let pki: TestPki;
let other: TestPki;
let leaf: X509Certificate;
let issuers: X509Certificate[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-shadowing-"));
  pki = makeTestPki(join(dir));
  const otherDir = mkdtempSync(join(dir, "other-"));
  other = makeTestPki(otherDir);
  leaf = new X509Certificate(pki.leafPem);
  issuers = [new X509Certificate(pki.intermediatePem), new X509Certificate(pki.rootPem)];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const role = (certificate: string, more: Partial<CertRole> = {}): CertRole => ({
  name: "r",
  certificate,
  displayName: "r",
  policies: ["p"],
  allowedCommonNames: [],
  allowedDnsSans: [],
  otherConstraints: [],
  ...more,
});

describe("whyAccepts", () => {
  test("a role pinning the admin certificate itself accepts it (the old load test's role)", () => {
    expect(whyAccepts(role(pki.leafPem), leaf, issuers)).toBe("pins it");
  });

  test("a role trusting the intermediate or the root accepts it", () => {
    expect(whyAccepts(role(pki.intermediatePem), leaf, issuers)).toBe("trusts the CA Test Intermediate CA above it");
    expect(whyAccepts(role(pki.rootPem), leaf, issuers)).toBe("trusts the CA Test Root CA above it");
    expect(whyAccepts(role(`${other.rootPem}${pki.rootPem}`), leaf, issuers)).toBe("trusts the CA Test Root CA above it");
  });

  test("another leaf of the same CA, or another PKI altogether, does not", () => {
    expect(whyAccepts(role(other.leafPem), leaf, issuers)).toBeUndefined();
    expect(whyAccepts(role(other.intermediatePem), leaf, issuers)).toBeUndefined();
    expect(whyAccepts(role(other.rootPem), leaf, issuers)).toBeUndefined();
  });

  test("common-name and DNS constraints narrow it, as Vault's globs do", () => {
    expect(whyAccepts(role(pki.rootPem, { allowedCommonNames: ["crashplan-*"] }), leaf, issuers)).toMatch(/^trusts/);
    expect(whyAccepts(role(pki.rootPem, { allowedCommonNames: ["c42-keystore-load-0123456789ab"] }), leaf, issuers)).toBeUndefined();
    expect(whyAccepts(role(pki.rootPem, { allowedDnsSans: ["*.example.com"] }), leaf, issuers)).toBeUndefined();
  });

  test("constraints it does not evaluate are named, and the role still reported", () => {
    expect(whyAccepts(role(pki.leafPem, { otherConstraints: ["allowed_uri_sans"] }), leaf, issuers)).toBe("pins it (its allowed_uri_sans were not checked)");
  });
});

describe("what drift and status say", () => {
  test("the stack's own roles are the login role and its -next twin, in any case (Vault lists them lower-cased)", () => {
    const config = loadConfig({ env: {} });
    expect(stackRoles(config)).toEqual(["crashplanuser", "crashplanuser-next"]);
    for (const name of ["crashplanuser", "crashplanUser", "crashplanUser-next"]) expect([name, isStackRole(config, name)]).toEqual([name, true]);
    expect(isStackRole(config, "c42-load-client")).toBe(false);
  });

  test("the admin certificate comes from the outputs with its CA chain", () => {
    const found = loginCertificates({
      [BUNDLE_OUTPUTS.certificate]: { value: pki.leafPem },
      [BUNDLE_OUTPUTS.caChain]: { value: `${pki.intermediatePem}${pki.rootPem}` },
    });
    expect(found.map((c) => [c.label.split(" ").slice(0, 2).join(" "), c.leaf.fingerprint256, c.issuers.length])).toEqual([
      ["admin certificate", leaf.fingerprint256, 2],
    ]);
    expect(loginCertificates({})).toEqual([]);
  });

  test("a shadowing role makes the report out of sync and is named with what to do", () => {
    const shadow = {
      role: "c42-load-client",
      policies: ["c42-load-keys", "default"],
      accepts: "admin certificate 1a (pins it)",
      advice: shadowAdvice("c42-load-client", "cert", "crashplanUser"),
    };
    const report = withShadowing({ inSync: true, drifted: [] }, [shadow]);
    expect(report).toEqual({ inSync: false, drifted: [], shadowing: [shadow] });
    expect(withShadowing({ inSync: true, drifted: [] }, [])).toEqual({ inSync: true, drifted: [] });
    expect(formatDriftReport(report)).toBe(
      "shadow: cert role c42-load-client (policies c42-load-keys, default) accepts the admin certificate 1a (pins it): " +
        "a nameless login (as Code42 logs in) can land on c42-load-client instead of crashplanUser. Nothing was changed: find out who made it " +
        "(Code42 may have, through its policy); if it is not Code42's, remove it with `bao delete auth/cert/certs/c42-load-client` (or `vault delete …`), " +
        "else make it stop trusting the admin certificate\n",
    );
  });
});
