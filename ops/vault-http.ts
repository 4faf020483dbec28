import { request } from "node:https";
import { readFileSync } from "node:fs";

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
}

/** An answer from the Vault HTTP API. */
export interface VaultAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** Builds an endpoint from VAULT_ADDR and VAULT_CACERT. */
export function endpointFromEnv(env: NodeJS.ProcessEnv): VaultEndpoint {
  if (!env.VAULT_ADDR) throw new Error("VAULT_ADDR is not set");
  return { addr: env.VAULT_ADDR, caPem: env.VAULT_CACERT ? readFileSync(env.VAULT_CACERT, "utf8") : undefined };
}

/** Calls the API. Resolves with the status for any HTTP answer; rejects only on transport errors. */
export function vaultCall(endpoint: VaultEndpoint, call: VaultCall): Promise<VaultAnswer> {
  const url = new URL(`/v1/${call.path}`, endpoint.addr);
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
        // A fresh connection each time: a pooled one would reuse another call's client certificate.
        agent: false,
        timeout: 30000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = undefined;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out calling ${url.pathname}`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}
