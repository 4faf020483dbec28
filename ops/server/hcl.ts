import { join } from "node:path";
import { TLS } from "./layout";

/** An HCL string literal: JSON string literals are valid HCL strings, so any path is quoted safely. */
export const hclString = (s: string) => JSON.stringify(s);

/**
 * The TLS listener on loopback and the addresses a server or cluster node
 * announces, with the certificate and key from `tlsDir`. Shared by the
 * single server and every cluster node, so both listen the same way.
 */
export function listenerStanza(tlsDir: string, apiPort: number, clusterPort: number): string {
  return `listener "tcp" {
  address         = "127.0.0.1:${apiPort}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_cert_file   = ${hclString(join(tlsDir, TLS.cert))}
  tls_key_file    = ${hclString(join(tlsDir, TLS.key))}
  tls_min_version = "tls12"
}

api_addr      = "https://127.0.0.1:${apiPort}"
cluster_addr  = "https://127.0.0.1:${clusterPort}"`;
}
