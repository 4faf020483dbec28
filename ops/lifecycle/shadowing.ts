import { X509Certificate } from "node:crypto";
import { NEXT_ROLE_SUFFIX } from "../../lib/admin-rotation-phase";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { KeystoreConfig } from "../../lib/config";
import { colonHex } from "../common/serial";
import { CertRoleShadow } from "../engine/drift-report";
import { StateOutputs } from "../engine/state-files";
import { CertRole, readCertRoles } from "../vault/cert-roles";
import { VaultEndpoint } from "../vault/client";

/*
 * Code42 logs in without naming a role, and Vault then takes the first role
 * (in name order) whose certificate accepts the client's. Any other role that
 * accepts the admin certificate can therefore capture Code42's login: a load
 * test's role pinning crashplan.p12's certificate did exactly that. Such a role
 * is reported, never removed: Code42 may have made it itself through
 * crashplanPolicy, which lets it manage auth/<cert>/certs/*.
 */

/** Every PEM certificate in a text, in order. */
export function pemCertificates(text: string): X509Certificate[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

/** Vault's glob: `*` matches any run of characters, everything else itself. */
function globMatches(pattern: string, value: string): boolean {
  const re = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${re}$`, "s").test(value);
}

const commonName = (c: X509Certificate): string => /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] ?? "";
const dnsNames = (c: X509Certificate): string[] =>
  (c.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4));

/**
 * Why `role` accepts the client certificate `leaf` (with `issuers`, the CAs
 * above it), as Vault's cert auth decides it: a pinned leaf with the same
 * serial and issuer, or a CA that issued the leaf or one of its issuers; and
 * the role's common-name and DNS constraints (glob) allow it. Undefined when
 * it does not. Constraints this does not evaluate are named in the answer.
 */
export function whyAccepts(role: CertRole, leaf: X509Certificate, issuers: readonly X509Certificate[] = []): string | undefined {
  let trust: string | undefined;
  for (const t of pemCertificates(role.certificate)) {
    if (!t.ca) {
      if (t.fingerprint256 === leaf.fingerprint256 || (t.serialNumber === leaf.serialNumber && t.issuer === leaf.issuer)) {
        trust = "pins it";
        break;
      }
      continue;
    }
    const issued = [leaf, ...issuers].find((c) => c.fingerprint256 === t.fingerprint256 || (c.checkIssued(t) && c.verify(t.publicKey)));
    if (issued) {
      trust = `trusts the CA ${commonName(t) || t.subject.replace(/\n/g, ", ")} above it`;
      break;
    }
  }
  if (!trust) return undefined;
  if (role.allowedCommonNames.length > 0 && !role.allowedCommonNames.some((p) => globMatches(p, commonName(leaf)))) return undefined;
  if (role.allowedDnsSans.length > 0 && !dnsNames(leaf).some((n) => role.allowedDnsSans.some((p) => globMatches(p, n)))) return undefined;
  return role.otherConstraints.length > 0 ? `${trust} (its ${role.otherConstraints.join(", ")} were not checked)` : trust;
}

/** A certificate Code42 may log in with: the admin certificate, and the next one during a rotation. */
export interface LoginCertificate {
  /** e.g. "admin certificate 1a:2b:…". */
  readonly label: string;
  readonly leaf: X509Certificate;
  readonly issuers: readonly X509Certificate[];
}

/** The admin certificate(s) the state's outputs hold, with their CA chains; none before the first deploy. */
export function loginCertificates(outputs: StateOutputs): LoginCertificate[] {
  const found: LoginCertificate[] = [];
  for (const [names, what] of [
    [BUNDLE_OUTPUTS, "admin certificate"],
    [NEXT_BUNDLE_OUTPUTS, "next admin certificate"],
  ] as const) {
    const pem = outputs[names.certificate]?.value;
    if (typeof pem !== "string") continue;
    const [leaf] = pemCertificates(pem);
    if (!leaf) continue;
    const chain = outputs[names.caChain]?.value;
    found.push({ label: `${what} ${colonHex(leaf.serialNumber)}`, leaf, issuers: typeof chain === "string" ? pemCertificates(chain) : [] });
  }
  return found;
}

/**
 * The roles this stack makes: the login role, and its `-next` twin during a
 * rotation; lower-cased, since the cert auth method stores and lists role
 * names in lower case (OpenBao lists `crashplanUser` as `crashplanuser`).
 */
export function stackRoles(config: KeystoreConfig): string[] {
  return [config.certRole.name, `${config.certRole.name}${NEXT_ROLE_SUFFIX}`].map((n) => n.toLowerCase());
}

/** Whether `role` (as Vault names it, in any case) is one of the stack's own login roles. */
export function isStackRole(config: KeystoreConfig, role: string): boolean {
  return stackRoles(config).includes(role.toLowerCase());
}

/** What to do about a role that accepts the admin certificate: said the same way by drift, status and health. */
export function shadowAdvice(role: string, certAuthPath: string, loginRole: string): string {
  return (
    `a nameless login (as Code42 logs in) can land on ${role} instead of ${loginRole}. Nothing was changed: ` +
    `find out who made it (Code42 may have, through its policy); if it is not Code42's, remove it with ` +
    `\`bao delete auth/${certAuthPath}/certs/${role}\` (or \`vault delete …\`), else make it stop trusting the admin certificate`
  );
}

/**
 * Every cert role other than the stack's own that accepts one of the login
 * certificates. Reads the roles with `token`; changes nothing.
 */
export async function findShadowingRoles(
  endpoint: VaultEndpoint,
  token: string,
  config: KeystoreConfig,
  certificates: readonly LoginCertificate[],
): Promise<CertRoleShadow[]> {
  if (certificates.length === 0) return [];
  const shadows: CertRoleShadow[] = [];
  for (const role of await readCertRoles(endpoint, token, config.certAuth.path)) {
    if (isStackRole(config, role.name)) continue;
    for (const c of certificates) {
      let how: string | undefined;
      try {
        how = whyAccepts(role, c.leaf, c.issuers);
      } catch {
        how = undefined; // a role whose PEM does not parse accepts nothing
      }
      if (how === undefined) continue;
      shadows.push({
        role: role.name,
        policies: role.policies,
        accepts: `${c.label} (${how})`,
        advice: shadowAdvice(role.name, config.certAuth.path, config.certRole.name),
      });
      break;
    }
  }
  return shadows;
}
