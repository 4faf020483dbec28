import { X509Certificate } from "node:crypto";
import { KeystoreValidationError } from "./errors";

/**
 * The output that records, in the state, what this stack took over instead of
 * creating (`npm run adopt`): every later synth on any machine sharing the
 * state reads it back, as it reads the rotation phase, and builds the stack
 * around those objects instead of generating new ones.
 */
export const ADOPTION_OUTPUT = "adoption";

/**
 * What a stack uses as it is, because it existed before the stack did (a
 * keystore built by hand with Code42's recipe, or objects an interrupted
 * deploy created). Each part absent means "made by this stack", as without
 * adoption.
 */
export interface AdoptionInput {
  /** Vault's id of the root CA's issuer on `pki.path`: used to sign, never generated again. */
  readonly rootIssuerId?: string;
  /** Vault's id of the intermediate's issuer on `pki_int.path`: the role issues from it; never generated again. */
  readonly intermediateIssuerId?: string;
  /**
   * PEM of the admin certificate `crashplanUser` pins, made outside this stack:
   * its key is not in Vault, so the existing `crashplan.p12` keeps logging in
   * until a rotation replaces it with a managed certificate.
   */
  readonly adminCertificatePem?: string;
}

/**
 * Objects a synth imports into the state (`import` blocks), by the stack part
 * they become, with the id the provider imports them by.
 */
export interface AdoptionImports {
  /** `vault_mount` of kv: its path. */
  readonly kv?: string;
  /** `vault_auth_backend` of cert auth: its path. */
  readonly certAuth?: string;
  /** `vault_mount` of the root PKI: its path. */
  readonly pki?: string;
  /** `vault_pki_secret_backend_config_urls` of the root PKI: `<path>/config/urls`. */
  readonly pkiUrls?: string;
  /** `vault_mount` of the intermediate PKI: its path. */
  readonly pki_int?: string;
  /** `vault_pki_secret_backend_config_urls` of the intermediate PKI: `<path>/config/urls`. */
  readonly pki_intUrls?: string;
  /** `vault_pki_secret_backend_role` cpRole: `<pki_int>/roles/<name>`. */
  readonly role?: string;
  /** `vault_policy` crashplanPolicy: its name. */
  readonly policy?: string;
}

/** The stack parts an {@link AdoptionImports} key stands for. */
export type AdoptionImportKey = keyof AdoptionImports;

/** An admin certificate made outside the stack, as the outputs and the login role need it. */
export class AdoptedCertificate {
  /** Reads a PEM certificate; `setting` names where it came from in errors. */
  public static fromPem(setting: string, pem: string): AdoptedCertificate {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new KeystoreValidationError(setting, "(not shown)", "is not a PEM certificate; expected the certificate the login role pins");
    }
    return new AdoptedCertificate(pem.trim() + "\n", cert);
  }

  /** Serial number as Vault writes it (`1a:2b:…`). */
  public readonly serialNumber: string;
  /** Expiry as a Unix timestamp. */
  public readonly expiration: number;

  private constructor(
    /** PEM of the certificate. */
    public readonly certificatePem: string,
    cert: X509Certificate,
  ) {
    const hex = cert.serialNumber.length % 2 === 0 ? cert.serialNumber : `0${cert.serialNumber}`;
    this.serialNumber = (hex.toLowerCase().match(/../g) ?? []).join(":");
    this.expiration = Math.floor(Date.parse(cert.validTo) / 1000);
  }
}

/** Reads an adoption record (the {@link ADOPTION_OUTPUT} output's value); `undefined` for none. */
export function parseAdoptionRecord(value: unknown): AdoptionInput | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  let parsed: unknown;
  try {
    parsed = typeof value === "string" ? JSON.parse(value) : value;
  } catch {
    parsed = undefined;
  }
  const bad = () => new Error(`output ${ADOPTION_OUTPUT} is not an adoption record (was the state edited by hand?)`);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw bad();
  const record = parsed as Record<string, unknown>;
  const text = (name: string): string | undefined => {
    const v = record[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v === "") throw bad();
    return v;
  };
  const input: AdoptionInput = {
    rootIssuerId: text("rootIssuerId"),
    intermediateIssuerId: text("intermediateIssuerId"),
    adminCertificatePem: text("adminCertificatePem"),
  };
  return Object.values(input).some((v) => v !== undefined) ? input : undefined;
}
