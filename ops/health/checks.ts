import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { KeystoreConfig } from "../../lib/config";
import { NEXT_ROLE_SUFFIX } from "../../lib/admin-rotation-phase";
import { parseDuration } from "../../lib/duration";
import { BundleError } from "../bundle/bundle-error";
import { readPkcs12 } from "../bundle/pkcs12";
import { errorMessage } from "../common/errors";
import { isStackRole, shadowAdvice } from "../lifecycle/shadowing";
import { certificateStatus, formatWindow } from "../lifecycle/status";
import { AutopilotState, readAutopilotState } from "../vault/autopilot";
import { VaultAnswer, VaultConnectionError, VaultEndpoint, isUnreachable, vaultCall } from "../vault/client";
import { readAuditDevices, readCertRoleCertificate, readErrors, readHealth, readLeader, readLogin } from "../vault/readers";
import { serverCertificate } from "../vault/server-certificate";
import { CheckOutcome } from "./report";

/** Everything the checks read; no check writes anything but the login's own token, which it revokes. */
export interface ProbeContext {
  readonly endpoint: VaultEndpoint;
  /** A token that may read sys/audit and the autopilot state; without one the audit check is UNKNOWN (OpenBao answers the autopilot state to anyone). */
  readonly adminToken?: string;
  readonly config: KeystoreConfig;
  /** The Code42 bundle and its password file. */
  readonly p12File: string;
  readonly passwordFile: string;
  /** Seconds before expiry at which a certificate is WARN, and CRIT. */
  readonly warnSeconds: number;
  readonly critSeconds: number;
  /** Bound of one check, milliseconds; also bounds the login token's revocation. */
  readonly checkTimeoutMs: number;
  readonly now: () => Date;
}

/** One check: grades what it finds; a throw is graded by the runner (a transport error CRIT, anything else UNKNOWN). */
export type Check = (ctx: ProbeContext, signal: AbortSignal) => Promise<CheckOutcome>;

const bit = (b: boolean) => (b ? 1 : 0);

/** CRIT with the reason a call to Vault failed: "unreachable: …" when nothing answered. */
export function transportFailure(e: unknown): CheckOutcome {
  if (isUnreachable(e)) return { state: "CRIT", reason: `unreachable: ${errorMessage(e)}` };
  if (e instanceof VaultConnectionError) return { state: "CRIT", reason: errorMessage(e) };
  throw e;
}

/** Grades a certificate's expiry against the windows; the gauge holds its notAfter as a Unix time. */
export function gradeExpiry(certificate: X509Certificate, ctx: ProbeContext, gauge: string, what: string): CheckOutcome {
  const s = certificateStatus(certificate, ctx.now(), ctx.warnSeconds);
  const values = { [gauge]: Math.floor(new Date(s.notAfter).getTime() / 1000) };
  const when = `expires ${s.notAfter} (${s.daysLeft.toFixed(1)} days left)`;
  if (s.secondsLeft <= 0) return { state: "CRIT", reason: `${what} expired on ${s.notAfter}`, values };
  if (s.secondsLeft <= ctx.critSeconds)
    return { state: "CRIT", reason: `${what} ${when}, inside the critical window of ${formatWindow(ctx.critSeconds)}`, values };
  if (s.secondsLeft <= ctx.warnSeconds)
    return { state: "WARN", reason: `${what} ${when}, inside the warning window of ${formatWindow(ctx.warnSeconds)}`, values };
  return { state: "OK", reason: `${what} ${when}`, values };
}

/** The server answers over TLS with a certificate that chains to VAULT_CACERT and is outside the windows. */
export const tlsCheck: Check = async (ctx, signal) => {
  let certificate: X509Certificate;
  try {
    certificate = await serverCertificate(ctx.endpoint, signal);
  } catch (e) {
    return { ...transportFailure(e), values: { up: 0 } };
  }
  const trust = ctx.endpoint.caPem ? "trusted by VAULT_CACERT" : "trusted by the system's CAs";
  const graded = gradeExpiry(certificate, ctx, "server_cert_expiry_seconds", `server certificate ${trust},`);
  return { ...graded, values: { ...graded.values, up: 1 } };
};

/** Initialised, unsealed, and this node active or a standby that names an active node. */
export const nodeCheck: Check = async (ctx, signal) => {
  // sys/health answers 429, 501 or 503 for standby, uninitialised and sealed, each with the same body.
  const health = readHealth(await vaultCall(ctx.endpoint, { path: "sys/health", signal }));
  const values = { initialized: bit(health.initialized), sealed: bit(health.sealed), active: bit(!health.standby && !health.sealed && health.initialized) };
  if (!health.initialized) return { state: "CRIT", reason: "not initialised: the server holds no keystore", values };
  if (health.sealed) return { state: "CRIT", reason: "sealed: no key can be read or written until the server is unsealed", values };
  if (!health.standby) return { state: "OK", reason: "initialised, unsealed, active node", values };
  const leader = readLeader(await vaultCall(ctx.endpoint, { path: "sys/leader", signal }));
  if (leader.leaderAddress === "") return { state: "CRIT", reason: "standby node and the cluster has no active node: requests cannot be served", values };
  return { state: "OK", reason: `initialised, unsealed, standby; the active node is ${leader.leaderAddress}`, values };
};

const AUTOPILOT = "sys/storage/raft/autopilot/state";

/** Why a token-needing call gave no answer to grade, or undefined when it did answer. */
function unanswered(answer: VaultAnswer, path: string): CheckOutcome | undefined {
  if (answer.status === 503) return { state: "UNKNOWN", reason: `cannot read ${path} while the server is sealed (${readErrors(answer)})` };
  if (answer.status === 403 || answer.status === 401) {
    return { state: "UNKNOWN", reason: `the token in VAULT_TOKEN may not read ${path} (HTTP ${answer.status}); give the probe a token whose policy allows it` };
  }
  return undefined;
}

/**
 * Raft voters and autopilot's failure tolerance. One voter with tolerance 0
 * is a single node and OK (it has no redundancy to lose); more voters with
 * tolerance 0, or servers autopilot calls unhealthy, are WARN: one more
 * failure stops the cluster.
 */
export const raftCheck: Check = async (ctx, signal) => {
  const answer = await vaultCall(ctx.endpoint, { path: AUTOPILOT, token: ctx.adminToken, signal });
  if (answer.status === 404 || (answer.status >= 400 && /raft.*not|not.*raft/i.test(readErrors(answer)))) {
    return { state: "OK", reason: "storage is not raft: no voters to count" };
  }
  const missing = unanswered(answer, AUTOPILOT);
  if (missing) return ctx.adminToken || answer.status === 503 ? missing : { state: "UNKNOWN", reason: `${AUTOPILOT} needs a token here: set VAULT_TOKEN` };
  if (answer.status !== 200) return { state: "UNKNOWN", reason: `${AUTOPILOT} answered HTTP ${answer.status}: ${readErrors(answer)}` };
  return gradeRaft(readAutopilotState(answer));
};

/** Grades autopilot's view: see {@link raftCheck}. */
export function gradeRaft(state: AutopilotState): CheckOutcome {
  const voters = state.voters.length;
  const values = { raft_voters: voters, raft_failure_tolerance: state.failureTolerance, raft_healthy: bit(state.healthy) };
  const summary = `${voters} voter${voters === 1 ? "" : "s"}, failure tolerance ${state.failureTolerance}`;
  if (!state.healthy) {
    const sick = Object.entries(state.servers)
      .filter(([, s]) => !s.healthy)
      .map(([id]) => id);
    return { state: "WARN", reason: `${summary}; autopilot calls ${sick.length > 0 ? sick.join(", ") : "the cluster"} unhealthy`, values };
  }
  if (voters === 1) return { state: "OK", reason: `single node: ${summary} (a single node has no redundancy to lose)`, values };
  if (state.failureTolerance === 0) return { state: "WARN", reason: `${summary}: losing one more voter stops the cluster`, values };
  return { state: "OK", reason: summary, values };
}

/**
 * At least one audit device is enabled (none is OK only with `audit.mode`
 * `off`); reading sys/audit needs a token, so without one the answer is UNKNOWN.
 */
export const auditCheck: Check = async (ctx, signal) => {
  if (!ctx.adminToken) return { state: "UNKNOWN", reason: "sys/audit needs a token that may read it: set VAULT_TOKEN (the other checks need none)" };
  const answer = await vaultCall(ctx.endpoint, { path: "sys/audit", token: ctx.adminToken, signal });
  const missing = unanswered(answer, "sys/audit");
  if (missing) return missing;
  if (answer.status !== 200) return { state: "UNKNOWN", reason: `sys/audit answered HTTP ${answer.status}: ${readErrors(answer)}` };
  const devices = readAuditDevices(answer);
  const values = { audit_devices: devices.length };
  if (devices.length === 0 && ctx.config.audit.mode === "off")
    return { state: "OK", reason: "no audit device is enabled, and audit.mode is off: none is required", values };
  if (devices.length === 0) return { state: "WARN", reason: "no audit device is enabled: requests to the keystore leave no trace", values };
  return { state: "OK", reason: `${devices.length} enabled: ${devices.map((d) => `${d.path} (${d.type})`).join(", ")}`, values };
};

/** The bundle and its password, or the UNKNOWN outcome saying which file could not be read. */
async function readBundle(ctx: ProbeContext): Promise<{ pfx: Buffer; passphrase: string } | CheckOutcome> {
  try {
    const pfx = await readFile(ctx.p12File);
    const passphrase = (await readFile(ctx.passwordFile, "utf8")).trim();
    return { pfx, passphrase };
  } catch (e) {
    const file = (e as NodeJS.ErrnoException).path ?? ctx.p12File;
    return {
      state: "UNKNOWN",
      reason: `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}): give the bundle with --bundle DIR, or write it with \`npm run bundle\``,
    };
  }
}

/**
 * Logs in over mTLS exactly as Code42 does, with nothing but crashplan.p12
 * and its password; expects a token carrying the configured policy (Vault
 * lower-cases policy names) with the configured TTL, then revokes it.
 */
export const loginCheck: Check = async (ctx, signal) => {
  const bundle = await readBundle(ctx);
  if (!("pfx" in bundle)) return { ...bundle, values: { login_success: 0 } };
  const failed = (reason: string): CheckOutcome => ({ state: "CRIT", reason, values: { login_success: 0 } });
  const path = `auth/${ctx.config.certAuth.path}/login`;
  let answer: VaultAnswer;
  let revoked = false;
  try {
    answer = await vaultCall(ctx.endpoint, { method: "PUT", path, pfx: bundle, signal });
  } catch (e) {
    if (e instanceof VaultConnectionError) return { ...transportFailure(e), values: { login_success: 0 } };
    // Node opens the PKCS#12 file before connecting; its error names no password.
    if (/mac verify|bad decrypt|pkcs12|unsupported/i.test(errorMessage(e))) {
      return failed(
        `the password in ${ctx.passwordFile} does not open ${ctx.p12File} (wrong password or damaged file): Code42 could not log in with this bundle either`,
      );
    }
    throw e;
  }
  if (answer.status !== 200) return failed(`${path} refused the bundle: HTTP ${answer.status} ${readErrors(answer)}`);
  const login = readLogin(answer);
  let rotation: Rotation | undefined;
  try {
    rotation = await rotationInProgress(ctx, login.clientToken, signal);
  } finally {
    revoked = await revokeSelf(ctx, login.clientToken);
  }
  const policy = ctx.config.policy.name.toLowerCase();
  const ttl = parseDuration("certRole.tokenTtl", ctx.config.certRole.tokenTtl);
  const values = { login_success: 1, login_token_ttl_seconds: login.leaseDuration, ...rotation?.values };
  const note = rotation?.note ?? "";
  const loginRole = ctx.config.certRole.name;
  if (login.certName !== undefined && !isStackRole(ctx.config, login.certName)) {
    const policies = login.policies.includes(policy) ? "" : `, not ${policy}: Code42 could not manage its keys`;
    return {
      state: "CRIT",
      reason:
        `the nameless login landed on cert role ${login.certName}, which shadows ${loginRole}: its token carries [${login.policies.join(", ")}]${policies}; ` +
        shadowAdvice(login.certName, ctx.config.certAuth.path, loginRole),
      values,
    };
  }
  if (!login.policies.includes(policy)) {
    return { state: "CRIT", reason: `the login's token carries [${login.policies.join(", ")}], not ${policy}: Code42 could not manage its keys`, values };
  }
  const problems = [
    ...(login.leaseDuration !== ttl ? [`token TTL ${login.leaseDuration}s, expected ${ttl}s (certRole.tokenTtl): run \`npm run drift\``] : []),
    ...(revoked ? [] : [`its token could not be revoked and lives until its TTL ends (${login.leaseDuration}s)`]),
  ];
  if (problems.length > 0) return { state: "WARN", reason: `logged in with ${policy}, but ${problems.join("; ")}${note}`, values };
  return { state: "OK", reason: `logged in over mTLS with ${policy}, token TTL ${login.leaseDuration}s; token revoked${note}`, values };
};

/** What the login's token saw of a two-phase rotation of the admin certificate. */
interface Rotation {
  readonly values: Readonly<Record<string, number>>;
  /** Appended to the login's reason; empty when none is in progress. */
  readonly note: string;
}

/**
 * Whether a rotation is in progress: the second login role
 * (`<certRole.name>-next`) exists while one is. Asked with the login's own
 * token, which crashplanPolicy lets read the cert roles, so no admin token or
 * state is needed. Undefined when the token may not read it.
 */
async function rotationInProgress(ctx: ProbeContext, token: string, signal: AbortSignal): Promise<Rotation | undefined> {
  const role = `${ctx.config.certRole.name}${NEXT_ROLE_SUFFIX}`;
  const answer = await vaultCall(ctx.endpoint, { path: `auth/${ctx.config.certAuth.path}/certs/${role}`, token, signal });
  if (answer.status === 404) return { values: { admin_rotation_in_progress: 0 }, note: "" };
  if (answer.status !== 200) return undefined;
  const next = certificateStatus(new X509Certificate(readCertRoleCertificate(answer)), ctx.now(), ctx.warnSeconds);
  return {
    values: { admin_rotation_in_progress: 1, admin_next_cert_expiry_seconds: Math.floor(Date.parse(next.notAfter) / 1000) },
    note:
      `; a rotation is in progress: ${role} lets the next certificate (${next.serial}, expires ${next.notAfter}) log in too; ` +
      "once Code42 has its bundle, run `npm run rotate -- finish`",
  };
}

/** Revokes the login's token, bounded by its own timer: the check's signal may already have fired. */
async function revokeSelf(ctx: ProbeContext, token: string): Promise<boolean> {
  try {
    const answer = await vaultCall(ctx.endpoint, { method: "PUT", path: "auth/token/revoke-self", token, signal: AbortSignal.timeout(ctx.checkTimeoutMs) });
    return answer.status === 204 || answer.status === 200;
  } catch {
    return false;
  }
}

/** Days left of the admin certificate, read from the bundle itself: no state access needed. */
export const adminCertCheck: Check = async (ctx) => {
  const bundle = await readBundle(ctx);
  if (!("pfx" in bundle)) return bundle;
  let certificatePem: string;
  try {
    certificatePem = (await readPkcs12(bundle.pfx, bundle.passphrase)).certificatePem;
  } catch (e) {
    if (e instanceof BundleError) return { state: "UNKNOWN", reason: `cannot read the certificate in ${ctx.p12File}: ${e.message}` };
    throw e;
  }
  return gradeExpiry(new X509Certificate(certificatePem), ctx, "admin_cert_expiry_seconds", "admin certificate");
};
