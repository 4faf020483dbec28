import { VaultEndpoint, vaultCall } from "./client";
import { Json, answerData as data } from "./json";
import { readListKeys, requireSuccess } from "./readers";

/** A cert auth role as far as deciding which client certificates it accepts (`auth/<mount>/certs/<name>`). */
export interface CertRole {
  readonly name: string;
  /** The PEM the role trusts: one or more certificates (CAs, or pinned leaves). */
  readonly certificate: string;
  readonly displayName: string;
  readonly policies: string[];
  /** Constraints on the client certificate; empty means none. */
  readonly allowedCommonNames: string[];
  readonly allowedDnsSans: string[];
  /** Set constraints this project does not evaluate (email and URI SANs, OUs, required extensions). */
  readonly otherConstraints: string[];
}

const strings = (d: Json, name: string): string[] => {
  const v = d[name];
  if (typeof v === "string") return v === "" ? [] : v.split(",").map((s) => s.trim());
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s !== "") : [];
};

/** Reads one role's answer; fields of the wrong shape read as empty, except the certificate. */
export function readCertRole(name: string, d: Json): CertRole {
  const certificate = d.certificate;
  if (typeof certificate !== "string") throw new Error(`auth/cert/certs/${name}: field certificate is not a string`);
  const policies = strings(d, "token_policies");
  return {
    name,
    certificate,
    displayName: typeof d.display_name === "string" ? d.display_name : "",
    policies: policies.length > 0 ? policies : strings(d, "policies"),
    allowedCommonNames: [...strings(d, "allowed_common_names"), ...strings(d, "allowed_names")],
    allowedDnsSans: strings(d, "allowed_dns_sans"),
    otherConstraints: ["allowed_email_sans", "allowed_uri_sans", "allowed_organizational_units", "required_extensions"].filter((c) => strings(d, c).length > 0),
  };
}

/** The names of the roles of the cert auth method at `auth/<mount>/`; none when it does not exist. */
export async function listCertRoleNames(endpoint: VaultEndpoint, token: string, mount: string): Promise<string[]> {
  const path = `auth/${mount}/certs`;
  return readListKeys(await vaultCall(endpoint, { method: "LIST", path, token }), path);
}

/** One role, or undefined when it does not exist (any more). */
export async function readCertRoleNamed(endpoint: VaultEndpoint, token: string, mount: string, name: string): Promise<CertRole | undefined> {
  const path = `auth/${mount}/certs/${name}`;
  const answer = await vaultCall(endpoint, { path, token });
  if (answer.status === 404) return undefined;
  return readCertRole(name, data(requireSuccess(answer, `reading ${path}`), path));
}

/** Every role of the cert auth method at `auth/<mount>/`, by name. */
export async function readCertRoles(endpoint: VaultEndpoint, token: string, mount: string): Promise<CertRole[]> {
  const roles: CertRole[] = [];
  for (const name of await listCertRoleNames(endpoint, token, mount)) {
    const role = await readCertRoleNamed(endpoint, token, mount, name);
    if (role) roles.push(role);
  }
  return roles;
}
