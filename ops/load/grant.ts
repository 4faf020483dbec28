import { X509Certificate, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { colonHex } from "../common/serial";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { LOAD_GRANT_PREFIX, loadPolicyText } from "../vault/load-grants";
import { isRecord } from "../vault/json";
import { requireSuccess } from "../vault/readers";

/** How long the run's certificate outlives the run's own time limit: logins near the end, and the cleanup. */
export const CERTIFICATE_MARGIN_SECONDS = 300;

/** Where and with what a load run makes its own access. */
export interface LoadGrantOptions {
  readonly endpoint: VaultEndpoint;
  /** The operator's token (VAULT_TOKEN): issues the certificate and writes the policy and the role. Never logged. */
  readonly adminToken: string;
  readonly kvPath: string;
  readonly certAuthPath: string;
  /** The PKI mount and role that issue the run's certificate (pki_int, cpRole). */
  readonly pkiIntPath: string;
  readonly issuingRole: string;
  /** The kv sub-path the policy grants: `<kvPath>/<prefix>/*`. */
  readonly prefix: string;
  /** TTL of the tokens the role issues. */
  readonly tokenTtlSeconds: number;
  /** The run's time limit; the certificate lives this plus {@link CERTIFICATE_MARGIN_SECONDS}. */
  readonly runSeconds: number;
}

/** The TLS identity of a load run: a certificate of its own, never the admin certificate. The key is a secret. */
export interface LoadIdentity {
  readonly cert: string;
  readonly key: string;
}

/**
 * The access a load run makes for itself, as Code42 makes its own through
 * crashplanPolicy, but with a client certificate of its own: a policy for
 * `<kv>/<prefix>/*`, a certificate issued for the run alone (short-lived,
 * common name = the grant's name), and a cert role pinning exactly that
 * certificate. A role that pins a leaf matches only that leaf (serial and
 * issuer), so no login with the admin certificate, named or nameless, can land
 * on it. {@link release} removes all three; a run that could not call it is
 * recognised by name and contents (ops/vault/load-grants.ts) and removed by
 * the next `load` or `deploy`.
 */
export class LoadGrant {
  /** `c42-keystore-load-<12 hex>`: the policy's name, the role's name and the certificate's common name. */
  public readonly name: string;
  /** The serial of the run's certificate, once issued: revoked on release. */
  private serial?: string;
  private released?: Promise<string[]>;
  private identityInUse?: LoadIdentity;

  private constructor(private readonly options: LoadGrantOptions) {
    this.name = `${LOAD_GRANT_PREFIX}${randomBytes(6).toString("hex")}`;
  }

  /** Makes the grant; on any failure removes what it made and throws. */
  public static async open(options: LoadGrantOptions): Promise<LoadGrant> {
    const grant = new LoadGrant(options);
    try {
      await grant.make();
    } catch (e) {
      await grant.release();
      throw e;
    }
    return grant;
  }

  /** The run's certificate and key. */
  public get identity(): LoadIdentity {
    if (!this.identityInUse) throw new Error(`load grant ${this.name} has no certificate`);
    return this.identityInUse;
  }

  /** The role to log in through, by name. */
  public get roleName(): string {
    return this.name;
  }

  private async make(): Promise<void> {
    const o = this.options;
    const call = (method: "PUT" | "POST", path: string, body: unknown) => vaultCall(o.endpoint, { method, path, token: o.adminToken, body });
    const certificateSeconds = o.runSeconds + CERTIFICATE_MARGIN_SECONDS;
    const until = new Date(Date.now() + certificateSeconds * 1000);
    // The policy first and the role last: a role whose policy is gone is then always a leftover.
    const policy = loadPolicyText({ pid: process.pid, host: hostname(), until }, o.kvPath, o.prefix);
    requireSuccess(await call("PUT", `sys/policies/acl/${this.name}`, { policy }), `writing the load's policy ${this.name} with VAULT_TOKEN`);

    const issuePath = `${o.pkiIntPath}/issue/${o.issuingRole}`;
    const issued = requireSuccess(
      await call("POST", issuePath, { common_name: this.name, ttl: `${certificateSeconds}s`, exclude_cn_from_sans: true }),
      `issuing the load's own client certificate at ${issuePath} with VAULT_TOKEN`,
    );
    const data = isRecord(issued.json) && isRecord(issued.json.data) ? issued.json.data : {};
    if (typeof data.certificate !== "string" || typeof data.private_key !== "string") throw new Error(`${issuePath} answered without a certificate and key`);
    this.serial = colonHex(new X509Certificate(data.certificate).serialNumber);
    this.identityInUse = { cert: data.certificate, key: data.private_key };

    requireSuccess(
      await call("PUT", `auth/${o.certAuthPath}/certs/${this.name}`, {
        certificate: data.certificate,
        display_name: this.name,
        token_policies: [this.name],
        token_ttl: o.tokenTtlSeconds,
        token_max_ttl: o.tokenTtlSeconds,
        allowed_common_names: [this.name],
      }),
      `writing the load's cert role ${this.name} with VAULT_TOKEN`,
    );
  }

  /**
   * Removes the role, the policy, and revokes the certificate. Idempotent
   * (a second call waits for the first). Resolves with what could not be
   * done, each naming the object; never throws.
   */
  public release(): Promise<string[]> {
    this.released ??= this.removeAll();
    return this.released;
  }

  private async removeAll(): Promise<string[]> {
    const o = this.options;
    const problems: string[] = [];
    const step = async (what: string, method: "DELETE" | "POST", path: string, body?: unknown) => {
      try {
        const answer = await vaultCall(o.endpoint, { method, path, token: o.adminToken, body, signal: AbortSignal.timeout(15_000) });
        if (answer.status !== 404) requireSuccess(answer, what);
      } catch (e) {
        problems.push((e as Error).message);
      }
    };
    // Attempted whether or not the write was acknowledged: an answer lost in transit may hide a role that exists.
    await step(`deleting the load's cert role ${this.name}`, "DELETE", `auth/${o.certAuthPath}/certs/${this.name}`);
    await step(`deleting the load's policy ${this.name}`, "DELETE", `sys/policies/acl/${this.name}`);
    if (this.serial) await step(`revoking the load's certificate ${this.serial}`, "POST", `${o.pkiIntPath}/revoke`, { serial_number: this.serial });
    return problems;
  }
}
