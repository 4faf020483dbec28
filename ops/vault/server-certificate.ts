import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect } from "node:tls";
import { VaultEndpoint, explainTransportError } from "./client";

/**
 * The certificate a Vault server presents, read by a TLS handshake verified
 * against its CA. An aborted `signal` ends the handshake (the promise then rejects).
 */
export function serverCertificate(endpoint: VaultEndpoint, signal?: AbortSignal): Promise<X509Certificate> {
  const url = new URL(endpoint.addr);
  if (url.protocol !== "https:") return Promise.reject(new Error(`VAULT_ADDR ${endpoint.addr} is not https://; there is no server certificate to check`));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolvePromise, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ca: endpoint.caPem,
      // SNI takes names only.
      servername: isIP(host) ? undefined : host,
      timeout: 30000,
    });
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerX509Certificate();
      socket.end();
      if (certificate) resolvePromise(certificate);
      else reject(new Error(`${endpoint.addr} presented no certificate`));
    });
    socket.once("timeout", () => socket.destroy(Object.assign(new Error(`timed out connecting to ${endpoint.addr}`), { code: "ETIMEDOUT" })));
    socket.once("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(endpoint.addr, e)));
    signal?.addEventListener("abort", () => socket.destroy(Object.assign(new Error(`aborted connecting to ${endpoint.addr}`), { code: "ABORT_ERR" })), {
      once: true,
    });
  });
}
