import { VaultAnswer } from "./client";
import { Json, answerBody as body, answerData as data, isRecord } from "./json";

/*
 * Readers for the endpoints backups use, in the manner of readers.ts: each
 * checks the fields it uses; no error message carries a body (generate-root
 * answers hold a token, kv reads hold archive keys).
 */

const isString = (v: unknown): v is string => typeof v === "string";

function str(from: Json, name: string, endpoint: string): string {
  const value = from[name];
  if (!isString(value)) throw new Error(`${endpoint}: field ${name} is not a string`);
  return value;
}

function int(from: Json, name: string, endpoint: string): number {
  const value = from[name];
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Error(`${endpoint}: field ${name} is not a whole number`);
  return value;
}

/** `sys/seal-status` with what a backup records (needs no token). */
export interface SealDetails {
  readonly sealed: boolean;
  readonly initialized: boolean;
  /** e.g. "shamir". */
  readonly type: string;
  /** Keys needed to unseal. */
  readonly threshold: number;
  /** Key shares made at init. */
  readonly shares: number;
  /** Keys given so far towards the threshold. */
  readonly progress: number;
  readonly version: string;
  /** Absent while sealed. */
  readonly clusterId?: string;
  readonly clusterName?: string;
  /** e.g. "raft", "file"; absent on servers that do not say. */
  readonly storageType?: string;
}

export function readSealDetails(answer: VaultAnswer): SealDetails {
  const e = "sys/seal-status";
  const b = body(answer, e);
  if (typeof b.sealed !== "boolean" || typeof b.initialized !== "boolean") throw new Error(`${e}: fields sealed and initialized are not booleans`);
  return {
    sealed: b.sealed,
    initialized: b.initialized,
    type: str(b, "type", e),
    threshold: int(b, "t", e),
    shares: int(b, "n", e),
    progress: int(b, "progress", e),
    version: str(b, "version", e),
    clusterId: isString(b.cluster_id) && b.cluster_id !== "" ? b.cluster_id : undefined,
    clusterName: isString(b.cluster_name) && b.cluster_name !== "" ? b.cluster_name : undefined,
    storageType: isString(b.storage_type) && b.storage_type !== "" ? b.storage_type : undefined,
  };
}

/** `sys/capabilities-self`: the token's capabilities on each path asked about. */
export function readCapabilities(answer: VaultAnswer, paths: readonly string[]): Record<string, string[]> {
  const e = "sys/capabilities-self";
  const d = isRecord(body(answer, e).data) ? data(answer, e) : body(answer, e);
  return Object.fromEntries(
    paths.map((path) => {
      const caps = d[path];
      if (!Array.isArray(caps) || !caps.every(isString)) throw new Error(`${e}: field ${path} is not a list of strings`);
      return [path, caps];
    }),
  );
}

/** A LIST answer's keys (a 404 means an empty folder). */
export function readList(answer: VaultAnswer, endpoint: string): string[] {
  if (answer.status === 404) return [];
  const keys = data(answer, endpoint).keys;
  if (!Array.isArray(keys) || !keys.every(isString)) throw new Error(`${endpoint}: field keys is not a list of strings`);
  return keys;
}

/** A kv version 1 read: whether the secret is there with a data object. Its values are never looked at here. */
export function readKvPresent(answer: VaultAnswer): boolean {
  return answer.status === 200 && isRecord(answer.json) && isRecord(answer.json.data);
}

/** The `certificate` field of `<pki>/cert/ca` or `auth/<cert>/certs/<role>`; undefined when absent (404 or empty). */
export function readCertificatePem(answer: VaultAnswer, endpoint: string): string | undefined {
  if (answer.status === 404) return undefined;
  const pem = data(answer, endpoint).certificate;
  return isString(pem) && pem.includes("-----BEGIN CERTIFICATE-----") ? pem : undefined;
}

/** `sys/generate-root/attempt` and `/update`. `encodedToken` holds a token (xored with the OTP): never log it. */
export interface GenerateRootStatus {
  readonly started: boolean;
  readonly nonce: string;
  readonly progress: number;
  readonly required: number;
  readonly complete: boolean;
  readonly otpLength: number;
  /** The one-time password the server made for an attempt started without one; secret. */
  readonly otp: string;
  readonly encodedToken: string;
}

export function readGenerateRoot(answer: VaultAnswer): GenerateRootStatus {
  const e = "sys/generate-root";
  const b = body(answer, e);
  return {
    started: b.started === true,
    nonce: isString(b.nonce) ? b.nonce : "",
    progress: int(b, "progress", e),
    required: int(b, "required", e),
    complete: b.complete === true,
    otpLength: typeof b.otp_length === "number" ? b.otp_length : 0,
    otp: isString(b.otp) ? b.otp : "",
    encodedToken: isString(b.encoded_token) ? b.encoded_token : isString(b.encoded_root_token) ? b.encoded_root_token : "",
  };
}

/** `sys/mounts`: the paths of the enabled secrets engines (e.g. "secret/"). */
export function readMountPaths(answer: VaultAnswer): string[] {
  const b = body(answer, "sys/mounts");
  return Object.entries(isRecord(b.data) ? b.data : b)
    .filter(([, mount]) => isRecord(mount) && isString(mount.type))
    .map(([path]) => path);
}
