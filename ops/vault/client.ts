import { existsSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where and how to reach a Vault-API server over TLS. */
export interface VaultEndpoint {
  /** e.g. "https://127.0.0.1:8200" */
  readonly addr: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem?: string;
}

/** One call to the Vault HTTP API. */
export interface VaultCall {
  readonly method?: "GET" | "PUT" | "POST" | "DELETE" | "LIST";
  /** API path without `/v1/`, e.g. "sys/mounts". */
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
  /** TLS client certificate and key (PEM), for `auth/cert/login`. */
  readonly clientCert?: { readonly cert: string; readonly key: string };
  /** PKCS#12 client identity, as Code42 presents it. */
  readonly pfx?: { readonly pfx: Buffer; readonly passphrase: string };
  /** Ends the call when aborted (the call then rejects). @default - only the 30 s idle timeout */
  readonly signal?: AbortSignal;
  /**
   * A keep-alive agent, for many token calls in a row (a TLS handshake each would dominate). Never together
   * with `clientCert` or `pfx`: a pooled connection keeps the identity it was opened with.
   * @default - a fresh connection per call
   */
  readonly agent?: Agent;
}

/** An answer from the Vault HTTP API; read its body through a reader in `readers.ts`. */
export interface VaultAnswer {
  readonly status: number;
  readonly json: unknown;
}

/** The endpoint could not be reached, or did not prove who it is; the message names the variable to fix. */
export class VaultConnectionError extends Error {
  /** Node's error code (`ECONNREFUSED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …). */
  public readonly code: string | undefined;
  /** Node's own words for it ("self-signed certificate in certificate chain"). */
  public readonly detail: string;

  public constructor(message: string, code: string | undefined, detail = "") {
    super(message);
    this.name = "VaultConnectionError";
    this.code = code;
    this.detail = detail;
  }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "ETIMEOUT"]);
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/;
/** The certificate is trusted but names another host: the fix is VAULT_ADDR, not VAULT_CACERT. */
const NAME_MISMATCH = /ALTNAME|HOSTNAME/;

/** True for an error that says nothing answered at the address (refused, unknown host, timed out, reset). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof VaultConnectionError && error.code !== undefined && UNREACHABLE.has(error.code);
}

/** True for an error that says the server's certificate was not verified (unknown CA, wrong name, expired). */
export function isUntrusted(error: unknown): error is VaultConnectionError {
  return error instanceof VaultConnectionError && error.code !== undefined && UNTRUSTED.test(error.code);
}

/** Turns a transport error into one that says which variable to check and how. */
export function explainTransportError(addr: string, error: NodeJS.ErrnoException): VaultConnectionError {
  const code = error.code;
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new VaultConnectionError(
      `cannot reach Vault at ${addr} (${error.message}): check VAULT_ADDR (scheme, host and port) and that the server is running and reachable from here`,
      code,
      error.message,
    );
  }
  if (code !== undefined && NAME_MISMATCH.test(code)) {
    return new VaultConnectionError(
      `TLS handshake with ${addr} failed: ${error.message} (${code}): VAULT_ADDR names a host the server's certificate does not hold; use a name or address from the certificate`,
      code,
      error.message,
    );
  }
  if (code !== undefined && UNTRUSTED.test(code)) {
    return new VaultConnectionError(
      `TLS handshake with ${addr} failed: ${error.message} (${code}): the server's certificate is not trusted; set VAULT_CACERT to the PEM file of the CA that signed it`,
      code,
      error.message,
    );
  }
  return new VaultConnectionError(
    `calling Vault at ${addr} failed (${code ?? "no code"}): ${error.message}; check VAULT_ADDR and VAULT_CACERT`,
    code,
    error.message,
  );
}

/** An answer's body as the readers take it: JSON, nothing for an empty body, or `{ raw }` for text that is not JSON. */
export function parseAnswerBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

/** Builds an endpoint from VAULT_ADDR and VAULT_CACERT. */
export function endpointFromEnv(env: NodeJS.ProcessEnv): VaultEndpoint {
  if (!env.VAULT_ADDR) throw new Error("VAULT_ADDR is not set: set it to the server's https:// address, or start the local server with `npm run server:start`");
  checkVaultAddr(env.VAULT_ADDR);
  const caFile = env.VAULT_CACERT;
  if (caFile && !existsSync(caFile))
    throw new Error(`VAULT_CACERT names ${caFile}, which does not exist: set it to the PEM file of the CA that signed the server's certificate`);
  return { addr: env.VAULT_ADDR, caPem: caFile ? readFileSync(caFile, "utf8") : undefined };
}

/**
 * Fails unless `addr` is an https:// URL: every call here is TLS (the keystore's tokens and keys never
 * cross a network in clear), so http:// is refused by name instead of by Node's "Protocol not supported".
 */
export function checkVaultAddr(addr: string, variable = "VAULT_ADDR"): void {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new Error(`${variable}=${addr} is not a URL; expected the server's address, e.g. https://vault.example.com:8200`);
  }
  if (url.protocol === "http:")
    throw new Error(
      `${variable}=${addr} uses http://; the keystore's commands talk to Vault only over TLS (tokens, unseal keys and archive keys cross this connection): ` +
        "set it to the server's https:// address (and VAULT_CACERT to the CA that signed its certificate)",
    );
  if (url.protocol !== "https:") throw new Error(`${variable}=${addr} is not an https:// address; expected e.g. https://vault.example.com:8200`);
}

/**
 * The token the Vault provider would use: VAULT_TOKEN, else the CLI's token
 * file. Never logged.
 */
export function vaultToken(env: NodeJS.ProcessEnv): string {
  if (env.VAULT_TOKEN) return env.VAULT_TOKEN;
  const file = join(env.HOME ?? homedir(), ".vault-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new Error("no Vault token: set VAULT_TOKEN (or log in with the Vault CLI, which writes ~/.vault-token)");
}

/**
 * Calls the API. Resolves with the status for any HTTP answer; rejects only
 * on transport errors, with a {@link VaultConnectionError}.
 */
export function vaultCall(endpoint: VaultEndpoint, call: VaultCall): Promise<VaultAnswer> {
  const url = new URL(`/v1/${call.path}`, endpoint.addr);
  if (url.protocol !== "https:") {
    return Promise.reject(
      new VaultConnectionError(
        `cannot call Vault at ${endpoint.addr}: it is not an https:// address, and every call here is TLS; give the server's https:// address`,
        "ERR_INVALID_PROTOCOL",
      ),
    );
  }
  const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: call.method ?? "GET",
        ca: endpoint.caPem,
        cert: call.clientCert?.cert,
        key: call.clientCert?.key,
        pfx: call.pfx?.pfx,
        passphrase: call.pfx?.passphrase,
        headers: {
          ...(call.token ? { "X-Vault-Token": call.token } : {}),
          ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}),
        },
        // A fresh connection each time unless the caller pools token calls: a pooled one would reuse another call's client certificate.
        agent: call.clientCert || call.pfx ? false : (call.agent ?? false),
        timeout: 30000,
        signal: call.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: parseAnswerBody(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error(`timed out calling ${url.pathname}`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(endpoint.addr, e)));
    if (payload) req.write(payload);
    req.end();
  });
}
