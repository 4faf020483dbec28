import { VaultAnswer, VaultConnectionError, VaultEndpoint, vaultCall } from "../vault/client";
import { readErrors, readLogin } from "../vault/readers";

/** Renew this long before the token runs out, so that no request carries a token expiring in flight. */
export const RENEW_MARGIN_MS = 5_000;

/** The addresses a client may use, and which one it uses now: it moves on when a node stops answering. */
export class Endpoints {
  private current = 0;

  public constructor(public readonly all: readonly VaultEndpoint[]) {
    if (all.length === 0) throw new Error("no address to send load to");
  }

  public get now(): VaultEndpoint {
    return this.all[this.current];
  }

  /** The configured endpoint at `url`'s origin, if any. */
  public find(url: string): VaultEndpoint | undefined {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return undefined;
    }
    return this.all.find((e) => new URL(e.addr).origin === origin);
  }

  /** Uses `endpoint` from now on (a redirect named it the active node). */
  public moveTo(endpoint: VaultEndpoint): void {
    const i = this.all.indexOf(endpoint);
    if (i >= 0) this.current = i;
  }

  /** Moves to the next address, unless another request already moved away from `failed`. */
  public failed(failed: VaultEndpoint): void {
    if (this.all[this.current] === failed) this.current = (this.current + 1) % this.all.length;
  }
}

/** Whether an answer or error means "this node cannot serve now; try another": transport errors, 5xx (sealed, standby without a leader). */
export function isNodeFailure(outcome: VaultAnswer | unknown): boolean {
  if (outcome instanceof VaultConnectionError) return true;
  const status = (outcome as VaultAnswer | undefined)?.status;
  return typeof status === "number" && status >= 500;
}

/** A certificate login failed (refused, or no address answered). */
export class LoginError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "LoginError";
  }
}

/** The PKCS#12 bundle Code42 holds: the file and its password. Secrets: never logged. */
export interface Code42Identity {
  readonly pfx: Buffer;
  readonly passphrase: string;
}

/** A TLS client identity: a PKCS#12 bundle, or a PEM certificate and key (the load's own). Secrets: never logged. */
export type ClientIdentity = Code42Identity | { readonly cert: string; readonly key: string };

/**
 * Code42's side of the keystore: one client identity (the bundle), one token
 * at a time from a certificate login through a named cert role, logged in
 * again shortly before the token's lease (60 s) runs out or when Vault says
 * it is no longer valid. Concurrent callers share one login in flight.
 */
export class Code42Session {
  private token?: string;
  private expiresAt = 0;
  private pending?: Promise<string>;
  /** Every login attempt, with how long it took and whether it succeeded. */
  public readonly logins: { ms: number; ok: boolean; error?: string }[] = [];

  public constructor(
    private readonly endpoints: Endpoints,
    private readonly identity: ClientIdentity,
    private readonly certAuthPath: string,
    private readonly role: string,
  ) {}

  /** A valid token, logging in when there is none or it is about to run out. */
  public async current(): Promise<string> {
    if (this.token && Date.now() < this.expiresAt - RENEW_MARGIN_MS) return this.token;
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets `token` (Vault refused it), so the next {@link current} logs in again. */
  public invalidate(token: string): void {
    if (this.token === token) this.token = undefined;
  }

  /** Logs in once through the role, trying each address in turn; throws the last failure. */
  public async login(): Promise<string> {
    let last = "";
    for (let i = 0; i < this.endpoints.all.length; i++) {
      const endpoint = this.endpoints.now;
      const started = Date.now();
      let outcome: VaultAnswer | unknown;
      try {
        outcome = await vaultCall(endpoint, {
          method: "POST",
          path: `auth/${this.certAuthPath}/login`,
          body: { name: this.role },
          ...("pfx" in this.identity
            ? { pfx: { pfx: this.identity.pfx, passphrase: this.identity.passphrase } }
            : { clientCert: { cert: this.identity.cert, key: this.identity.key } }),
        });
      } catch (e) {
        if (!(e instanceof VaultConnectionError)) throw e;
        outcome = e;
      }
      const ms = Date.now() - started;
      // A 307 comes from a standby that cannot forward while the cluster elects a leader: try the next address.
      const redirected = !(outcome instanceof VaultConnectionError) && (outcome as VaultAnswer).status === 307;
      if (!isNodeFailure(outcome) && !redirected) {
        const answer = outcome as VaultAnswer;
        if (answer.status !== 200) {
          this.logins.push({ ms, ok: false, error: `HTTP ${answer.status}` });
          throw new LoginError(`certificate login through auth/${this.certAuthPath} role ${this.role} failed: HTTP ${answer.status} ${readErrors(answer)}`);
        }
        const login = readLogin(answer);
        this.logins.push({ ms, ok: true });
        this.token = login.clientToken;
        this.expiresAt = started + login.leaseDuration * 1000;
        return login.clientToken;
      }
      last = outcome instanceof Error ? outcome.message : `HTTP ${(outcome as VaultAnswer).status}`;
      this.logins.push({ ms, ok: false, error: outcome instanceof VaultConnectionError ? (outcome.code ?? "transport") : last });
      this.endpoints.failed(endpoint);
    }
    throw new LoginError(`certificate login failed on every address: ${last}`);
  }
}
