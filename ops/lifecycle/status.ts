import { X509Certificate } from "node:crypto";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { colonHex } from "../common/serial";
import { Deployment } from "../engine/deployment";
import { CertRoleShadow, formatShadowing } from "../engine/drift-report";
import { RotationView, rotationView } from "../engine/rotation-record";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { serverCertificate } from "../vault/server-certificate";
import { findShadowingRoles, loginCertificates } from "./shadowing";

/** Where a certificate stands against the renewal window. */
export interface CertificateStatus {
  /** Subject, e.g. "CN=crashplan-admin". */
  readonly subject: string;
  /** Serial number as Vault writes it (`1a:2b:…`). */
  readonly serial: string;
  /** Expiry, ISO 8601. */
  readonly notAfter: string;
  /** Whole and fractional days until expiry (negative once expired). */
  readonly daysLeft: number;
  /** Seconds until expiry (negative once expired). */
  readonly secondsLeft: number;
  /** True when expiry is at most the renewal window away. */
  readonly insideWindow: boolean;
}

/** The `status` command's verdict; `--json` prints exactly this. */
export interface StatusReport {
  /** The renewal window in seconds. */
  readonly windowSeconds: number;
  /** The admin certificate Code42 logs in with (from the stack's outputs). */
  readonly adminCertificate: CertificateStatus;
  /** The Vault server's own TLS certificate (from a handshake). */
  readonly vaultServer: CertificateStatus;
  /** Where a two-phase rotation stands (`phase` `idle`: none in progress). */
  readonly rotation?: RotationView;
  /** The next admin certificate while a rotation is started: the one to upload to Code42. */
  readonly nextCertificate?: CertificateStatus;
  /** Other cert roles that accept the admin certificate (Code42's nameless login could land there); absent when none. */
  readonly shadowing?: CertRoleShadow[];
  /** Why the cert roles could not be checked (no token, or it may not list them); absent when they were. */
  readonly shadowingNotChecked?: string;
  /** False when either certificate is inside the window, or another cert role accepts the admin certificate. */
  readonly ok: boolean;
}

/** Where `certificate` stands at `now` against a window of `windowSeconds`. */
export function certificateStatus(certificate: X509Certificate, now: Date, windowSeconds: number): CertificateStatus {
  const notAfter = new Date(certificate.validTo);
  const secondsLeft = Math.floor((notAfter.getTime() - now.getTime()) / 1000);
  return {
    subject: certificate.subject.replace(/\n/g, ", "),
    serial: colonHex(certificate.serialNumber),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((secondsLeft / 86400) * 10) / 10,
    secondsLeft,
    insideWindow: secondsLeft <= windowSeconds,
  };
}

/** Reads the admin certificate from the outputs and the server's by a handshake; never touches the key or password. */
export async function checkStatus(deployment: Deployment, windowSeconds: number, now: () => Date = () => new Date()): Promise<StatusReport> {
  await deployment.requireState();
  const outputs = await deployment.outputs();
  const pem = outputs[BUNDLE_OUTPUTS.certificate]?.value;
  if (typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new Error(`output ${BUNDLE_OUTPUTS.certificate} is missing; run \`npm run deploy\` first`);
  }
  const server = await serverCertificate(endpointFromEnv(deployment.env));
  const adminCertificate = certificateStatus(new X509Certificate(pem), now(), windowSeconds);
  const vaultServer = certificateStatus(server, now(), windowSeconds);
  const rotation = rotationView(outputs);
  const nextPem = outputs[NEXT_BUNDLE_OUTPUTS.certificate]?.value;
  const nextCertificate = typeof nextPem === "string" ? certificateStatus(new X509Certificate(nextPem), now(), windowSeconds) : undefined;
  const roles = await shadowingRoles(deployment, outputs);
  const ok = !adminCertificate.insideWindow && !vaultServer.insideWindow && (roles.shadowing?.length ?? 0) === 0;
  return { windowSeconds, adminCertificate, vaultServer, rotation, nextCertificate, ...roles, ok };
}

/** The roles that shadow the login, or why they could not be read; never fails the status. */
async function shadowingRoles(
  deployment: Deployment,
  outputs: Awaited<ReturnType<Deployment["outputs"]>>,
): Promise<Pick<StatusReport, "shadowing" | "shadowingNotChecked">> {
  try {
    const found = await findShadowingRoles(endpointFromEnv(deployment.env), vaultToken(deployment.env), deployment.config, loginCertificates(outputs));
    return found.length > 0 ? { shadowing: found } : {};
  } catch (e) {
    return { shadowingNotChecked: `other cert roles were not checked for accepting the admin certificate: ${(e as Error).message}` };
  }
}

/** Human form of a report, one block per certificate. */
export function formatStatus(report: StatusReport): string {
  const block = (title: string, s: CertificateStatus, action: string) =>
    `${title}\n  subject    ${s.subject}\n  serial     ${s.serial}\n  not after  ${s.notAfter}\n  days left  ${s.daysLeft.toFixed(1)} (${s.secondsLeft} s)\n` +
    (s.insideWindow ? `  RENEW: inside the ${formatWindow(report.windowSeconds)} renewal window; ${action}\n` : "");
  return (
    block(
      "admin certificate (Code42 login)",
      report.adminCertificate,
      report.rotation?.inProgress
        ? "a rotation is in progress (below)"
        : "run `npm run deploy` or `npm run rotate -- start` (with adminCert.rotation two-phase both issue the next certificate beside this one), " +
            "then `npm run bundle -- --force`, upload the new crashplan.p12 and run `npm run rotate -- finish`",
    ) +
    formatRotation(report) +
    block("Vault server TLS certificate", report.vaultServer, "replace the server's certificate (outside this stack)") +
    formatShadowing(report.shadowing ?? [], "SHADOWED LOGIN") +
    (report.shadowingNotChecked ? `note: ${report.shadowingNotChecked}\n` : "") +
    (report.ok ? "ok: both certificates are outside the renewal window, and no other cert role accepts the admin certificate\n" : "")
  );
}

function formatRotation(report: StatusReport): string {
  const phase = report.rotation?.phase ?? "idle";
  if (phase === "finishing") {
    return "rotation being finished: the certificate above is the new one and the old one is revoked; run `npm run rotate -- finish` to complete it\n";
  }
  const next = report.nextCertificate;
  if (phase !== "started" || next === undefined) return "";
  return (
    "rotation in progress: next certificate issued, waiting for upload to Code42\n" +
    `next admin certificate (logs in beside the current one)\n  subject    ${next.subject}\n  serial     ${next.serial}\n  not after  ${next.notAfter}\n` +
    `  days left  ${next.daysLeft.toFixed(1)} (${next.secondsLeft} s)\n` +
    "  then: `npm run bundle` writes its crashplan.p12; upload it in the Code42 console and run `npm run rotate -- finish` (or `npm run rotate -- abort`)\n"
  );
}

/** A window in the largest unit that divides it: "30d", "12h", "2m", "90s". */
export function formatWindow(seconds: number): string {
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
