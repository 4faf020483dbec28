import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../common/private-files";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { readErrors, readLogin, requireSuccess } from "../vault/readers";
import { hclString as q } from "./hcl";
import { LAYOUT, TLS } from "./layout";
import { LocalServer, readServerEnv, startServer, stopServer } from "./server";

/*
 * Auto-unseal through the transit secrets engine of a separate, small OpenBao
 * (the "unsealer"), as the transit seal is meant to be used: the cluster's
 * root key is encrypted by a transit key the cluster never holds, so its
 * nodes unseal themselves on every start, and no unseal key is stored next
 * to them. The unsealer is itself a Shamir-sealed server (in production: a
 * separate, always-on Vault, or a cloud KMS instead).
 */

/** Names in a cluster directory for auto-unseal. */
export const AUTO_UNSEAL_LAYOUT = {
  /** The unsealer's own server directory. */
  unsealer: "transit",
  /** The `seal "transit"` stanza every node's server.hcl holds, with the unsealer's token (0600); a scratch server that verifies a backup takes it too. */
  seal: "seal.hcl",
} as const;

export type AutoUnseal = "transit";
export const AUTO_UNSEAL_KINDS: readonly AutoUnseal[] = ["transit"];

/** The transit mount, key and the token's policy on the unsealer. */
export const TRANSIT = { mount: "transit", key: "c42-autounseal", policy: "c42-autounseal" } as const;

/**
 * The least privilege the seal needs: encrypt and decrypt with its one key,
 * and renew and look up its own token (the seal renews it; no default policy).
 */
export function transitSealPolicy(mount: string = TRANSIT.mount, key: string = TRANSIT.key): string {
  return `# Written by c42-keystore: what an auto-unsealed cluster's transit seal may do, and nothing else.
path "${mount}/encrypt/${key}" {
  capabilities = ["update"]
}
path "${mount}/decrypt/${key}" {
  capabilities = ["update"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
`;
}

/** The seal stanza for an unsealer at `addr` (its CA in `caFile`). The token is a secret: the stanza goes into 0600 files only. */
export function transitSealStanza(options: { readonly addr: string; readonly caFile: string; readonly token: string }): string {
  return `# Written by c42-keystore (ops/server/auto-unseal.ts): the root key is encrypted with transit key ${TRANSIT.key} on ${options.addr}.
seal "transit" {
  address     = ${q(options.addr)}
  token       = ${q(options.token)}
  key_name    = ${q(TRANSIT.key)}
  mount_path  = ${q(`${TRANSIT.mount}/`)}
  tls_ca_cert = ${q(options.caFile)}
}
`;
}

const unsealerDir = (dir: string) => join(dir, AUTO_UNSEAL_LAYOUT.unsealer);

/** Starts the unsealer of the cluster in `dir` (or finds it running), unsealed with its own stored key. */
export function startUnsealer(dir: string, baoBinary: string, log: (line: string) => void): Promise<LocalServer> {
  return startServer({ dir: unsealerDir(dir), baoBinary, log: (line) => log(`[transit unsealer] ${line}`) });
}

/** Stops the unsealer; with `purge`, removes it and the seal stanza. */
export async function stopUnsealer(dir: string, options: { purge?: boolean } = {}): Promise<void> {
  if (existsSync(unsealerDir(dir))) await stopServer(unsealerDir(dir), options);
  if (options.purge) rmSync(join(dir, AUTO_UNSEAL_LAYOUT.seal), { force: true });
}

/**
 * First start of an auto-unsealed cluster: starts the unsealer, enables
 * transit with one key, writes the seal's policy, makes a periodic orphan
 * token with that policy alone, and writes the seal stanza with it (0600).
 * Returns the stanza.
 */
export async function setUpTransitUnsealer(dir: string, baoBinary: string, log: (line: string) => void): Promise<string> {
  const unsealer = await startUnsealer(dir, baoBinary, log);
  const endpoint: VaultEndpoint = { addr: unsealer.addr, caPem: readFileSync(unsealer.caCertFile, "utf8") };
  const root = readServerEnv(unsealer.dir).VAULT_TOKEN;
  const mounted = await vaultCall(endpoint, { method: "POST", path: `sys/mounts/${TRANSIT.mount}`, token: root, body: { type: "transit" } });
  if (!(mounted.status === 204 || mounted.status === 200 || (mounted.status === 400 && /already in use/.test(readErrors(mounted))))) {
    requireSuccess(mounted, `enabling transit on the unsealer`);
  }
  requireSuccess(
    await vaultCall(endpoint, { method: "POST", path: `${TRANSIT.mount}/keys/${TRANSIT.key}`, token: root, body: { type: "aes256-gcm96" } }),
    `creating transit key ${TRANSIT.key}`,
  );
  requireSuccess(
    await vaultCall(endpoint, { method: "PUT", path: `sys/policy/${TRANSIT.policy}`, token: root, body: { policy: transitSealPolicy() } }),
    `writing policy ${TRANSIT.policy}`,
  );
  const created = await vaultCall(endpoint, {
    method: "POST",
    path: "auth/token/create-orphan",
    token: root,
    // Periodic: never expires while the seal renews it; orphan: revoking the unsealer's root token leaves it alone.
    body: { policies: [TRANSIT.policy], no_default_policy: true, period: "768h", display_name: "c42-autounseal", renewable: true },
  });
  requireSuccess(created, "creating the seal's token");
  const token = readLogin(created).clientToken;
  const stanza = transitSealStanza({ addr: unsealer.addr, caFile: join(unsealer.dir, LAYOUT.tls, TLS.caCert), token });
  const file = join(dir, AUTO_UNSEAL_LAYOUT.seal);
  rmSync(file, { force: true });
  writePrivateFile(file, stanza);
  log(`transit unsealer on ${unsealer.addr}: key ${TRANSIT.key}, a token limited to policy ${TRANSIT.policy} in ${file} (0600)`);
  return stanza;
}

/** The seal stanza of the cluster in `dir`, when it auto-unseals. */
export function readSealStanza(dir: string): string | undefined {
  const file = join(dir, AUTO_UNSEAL_LAYOUT.seal);
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}
