import { VaultAnswer } from "./client";
import { Json, answerBody as body, answerData as data, isRecord } from "./json";

/*
 * One small reader per endpoint: each checks the fields it uses and nothing
 * else, so an answer of the wrong shape fails here with the endpoint's name
 * instead of as `undefined` further on. Never put a body in an error message:
 * some (sys/init, logins) hold secrets.
 */

function field<T>(from: Json, name: string, endpoint: string, is: (v: unknown) => v is T, expected: string): T {
  const value = from[name];
  if (!is(value)) throw new Error(`${endpoint}: field ${name} is not ${expected}`);
  return value;
}

const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** The `errors` list of an answer, joined; never the rest of the body. */
export function readErrors(answer: VaultAnswer): string {
  const errors = isRecord(answer.json) ? answer.json.errors : undefined;
  return isStringArray(errors) && errors.length > 0 ? errors.join("; ") : "no error text";
}

/**
 * Fails unless the answer is a success (2xx), saying what failed and, for a
 * 403, which variable to check.
 */
export function requireSuccess(answer: VaultAnswer, what: string): VaultAnswer {
  if (answer.status >= 200 && answer.status < 300) return answer;
  const hint =
    answer.status === 403
      ? ": check VAULT_TOKEN: it is missing, expired or revoked, or its policies do not allow this path (the deploy token must manage mounts, auth methods and policies)"
      : "";
  throw new Error(`${what} failed: HTTP ${answer.status} ${readErrors(answer)}${hint}`);
}

/** `sys/health`. */
export interface Health {
  readonly initialized: boolean;
  readonly sealed: boolean;
  readonly standby: boolean;
}

export function readHealth(answer: VaultAnswer): Health {
  const h = body(answer, "sys/health");
  return {
    initialized: field(h, "initialized", "sys/health", isBoolean, "a boolean"),
    sealed: field(h, "sealed", "sys/health", isBoolean, "a boolean"),
    standby: h.standby === true,
  };
}

/** `sys/init`: the first unseal key and the root token. Secrets: never log them. */
export interface InitResult {
  readonly unsealKey: string;
  readonly rootToken: string;
}

export function readInit(answer: VaultAnswer): InitResult {
  const b = body(answer, "sys/init");
  const keys = field(b, "keys_base64", "sys/init", isStringArray, "a list of strings");
  if (keys.length === 0) throw new Error("sys/init: field keys_base64 is empty");
  return { unsealKey: keys[0], rootToken: field(b, "root_token", "sys/init", isString, "a string") };
}

/** `sys/init` of an auto-unsealed server: the first recovery key (no unseal keys exist) and the root token. Secrets. */
export function readRecoveryInit(answer: VaultAnswer): { readonly recoveryKey: string; readonly rootToken: string } {
  const b = body(answer, "sys/init");
  const keys = field(b, "recovery_keys_base64", "sys/init", isStringArray, "a list of strings");
  if (keys.length === 0) throw new Error("sys/init: field recovery_keys_base64 is empty");
  return { recoveryKey: keys[0], rootToken: field(b, "root_token", "sys/init", isString, "a string") };
}

/** `sys/unseal` and `sys/seal-status`. */
export interface SealStatus {
  readonly sealed: boolean;
}

export function readSealStatus(answer: VaultAnswer): SealStatus {
  return { sealed: field(body(answer, "sys/seal-status"), "sealed", "sys/seal-status", isBoolean, "a boolean") };
}

/** `sys/leader`. */
export interface Leader {
  /** This node is the active node. */
  readonly isSelf: boolean;
  /** The active node's API address; empty while there is none. */
  readonly leaderAddress: string;
}

export function readLeader(answer: VaultAnswer): Leader {
  const b = body(answer, "sys/leader");
  return { isSelf: b.is_self === true, leaderAddress: isString(b.leader_address) ? b.leader_address : "" };
}

/** One enabled audit device of `sys/audit`. */
export interface AuditDevice {
  /** Its path, e.g. "file/". */
  readonly path: string;
  /** e.g. "file", "syslog", "socket". */
  readonly type: string;
}

/** `sys/audit`: the enabled audit devices (Vault lists them under `data`, older servers at the top level). */
export function readAuditDevices(answer: VaultAnswer): AuditDevice[] {
  const b = body(answer, "sys/audit");
  const devices = isRecord(b.data) ? b.data : b;
  return Object.entries(devices)
    .filter(([, d]) => isRecord(d) && isString(d.type))
    .map(([path, d]) => ({ path, type: field(d as Json, "type", "sys/audit", isString, "a string") }));
}

/** `sys/auth/<path>/tune` and `sys/mounts/<path>/tune`, in seconds. */
export interface Tune {
  readonly defaultLeaseTtl: number;
  readonly maxLeaseTtl: number;
}

export function readTune(answer: VaultAnswer): Tune {
  const d = data(answer, "tune");
  return {
    defaultLeaseTtl: field(d, "default_lease_ttl", "tune", isNumber, "a number"),
    maxLeaseTtl: field(d, "max_lease_ttl", "tune", isNumber, "a number"),
  };
}

/** A login (`auth/<path>/login`). Holds a token: never log it. */
export interface Login {
  readonly clientToken: string;
  readonly policies: string[];
  /** Token TTL in seconds. */
  readonly leaseDuration: number;
  /** The cert role the login landed on (`auth.metadata.cert_name`), when the method says. */
  readonly certName?: string;
}

export function readLogin(answer: VaultAnswer): Login {
  const auth = body(answer, "login").auth;
  if (!isRecord(auth)) throw new Error(`login answered HTTP ${answer.status} without an auth object`);
  return {
    clientToken: field(auth, "client_token", "login", isString, "a string"),
    policies: field(auth, "token_policies", "login", isStringArray, "a list of strings"),
    leaseDuration: field(auth, "lease_duration", "login", isNumber, "a number"),
    ...(isRecord(auth.metadata) && isString(auth.metadata.cert_name) ? { certName: auth.metadata.cert_name } : {}),
  };
}

/** `auth/<cert mount>/certs/<role>`: the PEM certificate the role pins. */
export function readCertRoleCertificate(answer: VaultAnswer): string {
  return field(data(answer, "auth/cert/certs"), "certificate", "auth/cert/certs", isString, "a string");
}

/** `sys/policies/acl/<name>`: the policy text. */
export function readPolicy(answer: VaultAnswer): string {
  return field(data(answer, "sys/policies/acl"), "policy", "sys/policies/acl", isString, "a string");
}

/**
 * A LIST answer (`<mount>/issuers`, `…/roles`): its `data.keys`. Vault
 * answers an empty list with 404, so 404 is an empty list here; a mount that
 * does not exist answers the same way.
 */
export function readListKeys(answer: VaultAnswer, endpoint: string): string[] {
  if (answer.status === 404) return [];
  requireSuccess(answer, `listing ${endpoint}`);
  return field(data(answer, endpoint), "keys", endpoint, isStringArray, "a list of strings");
}
