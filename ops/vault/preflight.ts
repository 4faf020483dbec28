import { existsSync } from "node:fs";
import { KeystoreConfig } from "../../lib/config";
import { VaultConnectionError, endpointFromEnv, isUnreachable, isUntrusted, vaultCall, vaultToken } from "./client";
import { readCapabilities } from "./backup-readers";
import { readErrors } from "./readers";

/** What a command does with a path: read it, write it (create or update), either with sudo (sys/audit, sys/auth/<path>/tune). */
export type Access = "read" | "write" | "read+sudo" | "write+sudo";

/** One path a command needs, and why (for the message when the token lacks it). */
export interface CapabilityNeed {
  readonly path: string;
  readonly access: Access;
  readonly why: string;
}

/** Which commands write to Vault through the engine and which only read it (drift, plan). */
export type PreflightKind = "write" | "read";

/**
 * The paths a command touches, from the configuration's mount paths and names:
 * what every refresh reads (drift, plan) and, for a command that applies, what
 * it writes (mounts, the auth method, the policy, the PKI role and issue path,
 * the cert role). Not every path the provider calls: the ones that catch a
 * token of the wrong kind (read-only, another mount, no sudo on sys/audit).
 */
export function capabilityNeeds(config: KeystoreConfig, kind: PreflightKind): CapabilityNeed[] {
  const cert = config.certAuth.path;
  const pkiInt = config.pki_int.path;
  const mounts = [config.kv.path, ...(config.rootCa.external ? [] : [config.pki.path]), pkiInt];
  const reads: CapabilityNeed[] = [
    ...mounts.map((m) => ({ path: `sys/mounts/${m}`, access: "read" as const, why: "to read the mount" })),
    { path: `sys/auth/${cert}/tune`, access: "read+sudo", why: "to compare the cert auth tune" },
    { path: `sys/policies/acl/${config.policy.name}`, access: "read", why: "to read the policy" },
    { path: `auth/${cert}/certs/${config.certRole.name}`, access: "read", why: "to read the cert role" },
    { path: "sys/mounts/auth/token", access: "read", why: "to read which cluster this is (the token auth method's accessor)" },
    ...(config.audit.mode === "require"
      ? [{ path: "sys/audit", access: "read+sudo" as const, why: "to check that an audit device is enabled (audit.mode require)" }]
      : []),
  ];
  if (kind === "read") return reads;
  return [
    ...reads,
    ...mounts.map((m) => ({ path: `sys/mounts/${m}`, access: "write" as const, why: "to mount the engine" })),
    { path: `sys/auth/${cert}`, access: "write", why: "to enable the cert auth method" },
    { path: `sys/auth/${cert}/tune`, access: "write+sudo", why: "to write the cert auth tune" },
    { path: `sys/policies/acl/${config.policy.name}`, access: "write", why: "to write the policy" },
    { path: `${pkiInt}/roles/${config.role.name}`, access: "write", why: "to write the PKI role" },
    { path: `${pkiInt}/issue/${config.role.name}`, access: "write", why: "to issue the admin certificate" },
    { path: `auth/${cert}/certs/${config.certRole.name}`, access: "write", why: "to write the cert role" },
  ];
}

function allows(capabilities: readonly string[], access: Access): boolean {
  if (capabilities.includes("root")) return true;
  if (access === "read") return capabilities.includes("read");
  const write = capabilities.includes("create") || capabilities.includes("update");
  const sudo = capabilities.includes("sudo");
  if (access === "read+sudo") return capabilities.includes("read") && sudo;
  if (access === "write+sudo") return write && sudo;
  return write;
}

const WANTS: Record<Access, string> = { read: "read", write: "create or update", "read+sudo": "read and sudo", "write+sudo": "update and sudo" };

/** A preflight refusal: one line naming the variable to fix. */
export class PreflightError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "PreflightError";
  }
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** The longest the server may take to answer. @default 5000 ms */
  readonly timeoutMs?: number;
}

/**
 * Before the engine starts: is the server at VAULT_ADDR reachable, does
 * VAULT_CACERT verify its certificate, is VAULT_TOKEN valid, and may it do
 * what `needs` lists? One call (`sys/capabilities-self`), so a wrong setting
 * costs one round trip instead of an engine run that prints the same error
 * three times. Fails with a {@link PreflightError} naming the variable to fix;
 * the token itself is never in a message.
 */
export async function preflight(env: NodeJS.ProcessEnv, needs: readonly CapabilityNeed[], options: PreflightOptions = {}): Promise<void> {
  const caFile = env.VAULT_CACERT;
  if (caFile !== undefined && caFile !== "" && !existsSync(caFile)) {
    throw new PreflightError(`VAULT_CACERT=${caFile} does not exist: set it to the PEM file of the CA that signed the server's certificate`);
  }
  let endpoint;
  try {
    endpoint = endpointFromEnv(env);
  } catch (e) {
    throw new PreflightError((e as Error).message);
  }
  let token: string;
  try {
    token = vaultToken(env);
  } catch (e) {
    throw new PreflightError((e as Error).message);
  }
  const addr = endpoint.addr;
  const timeoutMs = options.timeoutMs ?? 5000;
  const paths = [...new Set(needs.map((n) => n.path))];
  let answer;
  try {
    answer = await vaultCall(endpoint, {
      method: "POST",
      path: "sys/capabilities-self",
      token,
      body: { paths: paths.length > 0 ? paths : ["sys/capabilities-self"] },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw connectionRefusal(e, addr, caFile, timeoutMs);
  }
  if (answer.status === 403) {
    throw new PreflightError(
      `VAULT_TOKEN is not accepted by ${addr} (HTTP 403 ${readErrors(answer)}): it is mistyped, expired or revoked, or belongs to another server; set VAULT_TOKEN to a valid token`,
    );
  }
  if (answer.status === 503) {
    throw new PreflightError(
      `Vault at ${addr} is sealed or has no active node (HTTP 503 ${readErrors(answer)}): unseal it, or point VAULT_ADDR at an unsealed server`,
    );
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new PreflightError(
      `Vault at ${addr} answered HTTP ${answer.status} ${readErrors(answer)} to sys/capabilities-self: check VAULT_ADDR and VAULT_TOKEN`,
    );
  }
  if (paths.length === 0) return;
  const capabilities = readCapabilities(answer, paths);
  const lacking = needs.filter((n) => !allows(capabilities[n.path], n.access));
  if (lacking.length > 0) {
    throw new PreflightError(
      `VAULT_TOKEN may not do what this command needs on ${addr}: ` +
        lacking.map((n) => `${WANTS[n.access]} on ${n.path} ${n.why} (it has: ${capabilities[n.path].join(", ") || "none"})`).join("; ") +
        "; give it a policy that grants these (a token that may manage mounts, auth methods and policies), or use another token. Nothing was changed",
    );
  }
}

function connectionRefusal(e: unknown, addr: string, caFile: string | undefined, timeoutMs: number): PreflightError {
  if (e instanceof VaultConnectionError && (e.code === "ABORT_ERR" || e.code === "ETIMEDOUT" || /aborted|timed out/i.test(e.detail))) {
    return new PreflightError(
      `Vault at ${addr} did not answer within ${timeoutMs / 1000} s: check VAULT_ADDR (scheme, host and port) and that the server is running`,
    );
  }
  if (isUnreachable(e)) {
    return new PreflightError(
      `cannot reach Vault at ${addr} (${(e as VaultConnectionError).detail}): check VAULT_ADDR (scheme, host and port) and that the server is running`,
    );
  }
  if (isUntrusted(e)) {
    if (/ALTNAME|HOSTNAME/.test(e.code ?? "")) {
      return new PreflightError(
        `VAULT_ADDR=${addr} names a host the server's certificate does not hold (${e.detail}): use a name or address from the certificate`,
      );
    }
    return new PreflightError(
      caFile
        ? `VAULT_CACERT=${caFile} does not verify the certificate of ${addr} (${e.detail}): set it to the PEM file of the CA that signed the server's certificate`
        : `the certificate of ${addr} is not trusted (${e.detail}) and VAULT_CACERT is not set: set it to the PEM file of the CA that signed the server's certificate`,
    );
  }
  return new PreflightError((e as Error).message);
}
