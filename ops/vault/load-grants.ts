import { X509Certificate } from "node:crypto";
import { hostname } from "node:os";
import { colonHex } from "../common/serial";
import { readCertRoleNamed, listCertRoleNames } from "./cert-roles";
import { VaultEndpoint, vaultCall } from "./client";
import { readListKeys, readPolicy, requireSuccess } from "./readers";

/*
 * What `npm run load` writes into Vault for the length of one run, and how
 * the leftovers of a run that could not clean up (SIGKILL, power loss) are
 * told apart from everything else: a fixed name pattern, and contents that
 * only a load run writes. Nothing that fails either test is ever removed.
 */

/** Every temporary object of a load run is named `c42-keystore-load-<12 hex digits>`: its policy and its cert role. */
export const LOAD_GRANT_PREFIX = "c42-keystore-load-";
const LOAD_GRANT_NAME = /^c42-keystore-load-[0-9a-f]{12}$/;

/** The first line of a load run's policy, followed by its owner. */
export const LOAD_POLICY_MARKER = "# c42-keystore load grant: temporary, removed when its run ends";

/** Whether `name` has the form of a load run's temporary objects. */
export function isLoadGrantName(name: string): boolean {
  return LOAD_GRANT_NAME.test(name);
}

/** Who made a load grant, and until when it may be used. */
export interface LoadGrantOwner {
  readonly pid: number;
  readonly host: string;
  /** When its certificate expires: after this nothing can use it. */
  readonly until: Date;
}

/** The policy text of a load grant: the marker, its owner, then `<kv>/<prefix>/*`. */
export function loadPolicyText(owner: LoadGrantOwner, kvPath: string, prefix: string): string {
  return (
    `${LOAD_POLICY_MARKER}\n# owner: pid ${owner.pid} on ${owner.host}, until ${owner.until.toISOString()}\n` +
    `path "${kvPath}/${prefix}/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`
  );
}

/** The owner a load grant's policy names, or undefined when the text is not one a load run wrote. */
export function readLoadPolicyOwner(text: string): LoadGrantOwner | undefined {
  const lines = text.split("\n");
  if (lines[0] !== LOAD_POLICY_MARKER) return undefined;
  const m = /^# owner: pid (\d{1,10}) on (\S{1,255}), until (\S+)$/.exec(lines[1] ?? "");
  if (!m) return undefined;
  const until = new Date(m[3]);
  if (Number.isNaN(until.getTime())) return undefined;
  return { pid: Number(m[1]), host: m[2], until };
}

/** Whether a process of this machine is running (signal 0 probes without sending anything). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A grant is left over once its certificate has expired, or when its run was on this machine and has ended. */
export function isLeftOver(owner: LoadGrantOwner, now: Date, alive: (pid: number) => boolean = pidAlive, host: string = hostname()): boolean {
  if (owner.until.getTime() <= now.getTime()) return true;
  return owner.host === host && owner.pid !== process.pid && !alive(owner.pid);
}

/** What {@link removeLoadLeftovers} did. */
export interface LeftoverSweep {
  /** `cert role <name>` and `policy <name>`, for each object removed. */
  readonly removed: string[];
  /** Why the sweep could not look (e.g. the token may not list the roles); empty when it did. */
  readonly skipped: string[];
}

/** Where a sweep looks. */
export interface LeftoverPlace {
  readonly endpoint: VaultEndpoint;
  /** A token that may list and delete cert roles and ACL policies. Never logged. */
  readonly token: string;
  readonly certAuthPath: string;
  /** The PKI mount that issued the run's certificate: it is revoked there when still valid. */
  readonly pkiIntPath: string;
  readonly now?: () => Date;
}

/**
 * Removes the cert roles and policies of load runs that ended without
 * cleaning up. A role or policy is removed only when its name has the load
 * pattern and its contents are a load run's (the policy starts with
 * {@link LOAD_POLICY_MARKER}; the role trusts one certificate whose common
 * name is its own name and grants only its own policy), and its run is over
 * ({@link isLeftOver}); a role whose policy is gone is over too (a run writes
 * its policy first and removes it last). Never throws for a refusal: what it
 * could not do is in `skipped`.
 */
export async function removeLoadLeftovers(place: LeftoverPlace): Promise<LeftoverSweep> {
  const { endpoint, token } = place;
  const now = (place.now ?? (() => new Date()))();
  const removed: string[] = [];
  const skipped: string[] = [];
  const policies = new Map<string, LoadGrantOwner>();
  try {
    const names = readListKeys(await vaultCall(endpoint, { method: "LIST", path: "sys/policies/acl", token }), "sys/policies/acl").filter(isLoadGrantName);
    for (const name of names) {
      const answer = await vaultCall(endpoint, { path: `sys/policies/acl/${name}`, token });
      if (answer.status === 404) continue;
      const owner = readLoadPolicyOwner(readPolicy(requireSuccess(answer, `reading sys/policies/acl/${name}`)));
      if (owner) policies.set(name, owner);
    }
    const roles = (await listCertRoleNames(endpoint, token, place.certAuthPath)).filter(isLoadGrantName);
    for (const name of roles) {
      const role = await readCertRoleNamed(endpoint, token, place.certAuthPath, name);
      if (!role || role.displayName !== name || role.policies.length !== 1 || role.policies[0] !== name) continue;
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(role.certificate);
      } catch {
        continue;
      }
      if (certificate.subject !== `CN=${name}` || certificate.ca) continue;
      const owner = policies.get(name);
      if (owner && !isLeftOver(owner, now)) continue;
      requireSuccess(await vaultCall(endpoint, { method: "DELETE", path: `auth/${place.certAuthPath}/certs/${name}`, token }), `deleting cert role ${name}`);
      removed.push(`cert role ${name}`);
      if (new Date(certificate.validTo).getTime() > now.getTime()) {
        // Best effort: the certificate expires soon anyway, and its role, the only door it opened, is gone.
        await vaultCall(endpoint, {
          method: "POST",
          path: `${place.pkiIntPath}/revoke`,
          token,
          body: { serial_number: colonHex(certificate.serialNumber) },
        }).catch(() => undefined);
      }
    }
    for (const [name, owner] of policies) {
      if (!isLeftOver(owner, now)) continue;
      requireSuccess(await vaultCall(endpoint, { method: "DELETE", path: `sys/policies/acl/${name}`, token }), `deleting policy ${name}`);
      removed.push(`policy ${name}`);
    }
  } catch (e) {
    skipped.push(`looking for leftovers of load runs failed: ${(e as Error).message}`);
  }
  return { removed, skipped };
}
