import { VaultAnswer } from "./client";
import { Json, answerData as data, isRecord } from "./json";

/*
 * Readers for what `npm run adopt` inspects on a keystore built by hand. Each
 * checks only the fields it uses; a missing optional field reads as absent.
 */

const isString = (v: unknown): v is string => typeof v === "string";
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter(isString) : isString(v) && v !== "" ? [v] : []);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** One secrets engine or auth method of `sys/mounts` or `sys/auth`. */
export interface MountInfo {
  /** Path without the trailing slash, e.g. "pki_int". */
  readonly path: string;
  readonly type: string;
  /** `options.version` of a kv mount ("1" or "2"), when given. */
  readonly version?: string;
  readonly description: string;
}

/** `sys/mounts` or `sys/auth`: every mount by path. */
export function readMounts(answer: VaultAnswer, endpoint: string): Map<string, MountInfo> {
  const d = data(answer, endpoint);
  const mounts = new Map<string, MountInfo>();
  for (const [key, value] of Object.entries(d)) {
    if (!isRecord(value) || !isString(value.type)) continue;
    const path = key.replace(/\/$/, "");
    const options = isRecord(value.options) ? value.options : {};
    mounts.set(path, {
      path,
      type: value.type,
      version: isString(options.version) ? options.version : undefined,
      description: isString(value.description) ? value.description : "",
    });
  }
  return mounts;
}

/** The `keys` of a LIST answer; none for a 404 (an empty list). */
export function readKeys(answer: VaultAnswer, endpoint: string): string[] {
  if (answer.status === 404) return [];
  return strings(data(answer, endpoint).keys);
}

/** `<pki>/issuer/<id>`. */
export interface IssuerInfo {
  readonly issuerId: string;
  readonly issuerName: string;
  /** The issuer's key in this mount; empty when the mount holds no key for it. */
  readonly keyId: string;
  readonly certificatePem: string;
}

export function readIssuer(answer: VaultAnswer, endpoint: string): IssuerInfo {
  const d = data(answer, endpoint);
  if (!isString(d.certificate) || !isString(d.issuer_id)) throw new Error(`${endpoint}: no certificate or issuer_id in the answer`);
  return {
    issuerId: d.issuer_id,
    issuerName: isString(d.issuer_name) ? d.issuer_name : "",
    keyId: isString(d.key_id) ? d.key_id : "",
    certificatePem: d.certificate,
  };
}

/** `<pki>/config/issuers`: the default issuer's id, empty when none. */
export function readDefaultIssuer(answer: VaultAnswer, endpoint: string): string {
  if (answer.status === 404) return "";
  const d = data(answer, endpoint);
  return isString(d.default) ? d.default : "";
}

/** `<pki>/config/urls`. */
export interface UrlsInfo {
  readonly issuingCertificates: string[];
  readonly crlDistributionPoints: string[];
}

export function readUrls(answer: VaultAnswer, endpoint: string): UrlsInfo {
  if (answer.status === 404) return { issuingCertificates: [], crlDistributionPoints: [] };
  const d = data(answer, endpoint);
  return { issuingCertificates: strings(d.issuing_certificates), crlDistributionPoints: strings(d.crl_distribution_points) };
}

/** `<pki>/roles/<name>`: the whole role, for a comparison that names the fields that differ. */
export function readRole(answer: VaultAnswer, endpoint: string): Json {
  return data(answer, endpoint);
}

/** `auth/<cert>/certs/<name>`. */
export interface CertRoleInfo {
  readonly certificatePem: string;
  readonly tokenPolicies: string[];
  /** Seconds; 0 when not set. */
  readonly tokenTtl: number;
  readonly displayName: string;
}

export function readCertRole(answer: VaultAnswer, endpoint: string): CertRoleInfo {
  const d = data(answer, endpoint);
  return {
    certificatePem: isString(d.certificate) ? d.certificate : "",
    tokenPolicies: strings(d.token_policies).length > 0 ? strings(d.token_policies) : strings(d.policies),
    tokenTtl: num(d.token_ttl) ?? num(d.ttl) ?? 0,
    displayName: isString(d.display_name) ? d.display_name : "",
  };
}
