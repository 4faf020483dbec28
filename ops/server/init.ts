import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../common/private-files";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { Health, readErrors, readHealth, readInit, readLeader, readSealStatus } from "../vault/readers";
import { LAYOUT, TLS, logTail } from "./layout";

/** `sys/health` of the server at `endpoint`; needs no token. */
export async function health(endpoint: VaultEndpoint): Promise<Health> {
  return readHealth(await vaultCall(endpoint, { path: "sys/health" }));
}

/** Whether the server at `endpoint` is the raft leader. */
export async function isLeader(endpoint: VaultEndpoint): Promise<boolean> {
  const answer = await vaultCall(endpoint, { path: "sys/leader" });
  return answer.status === 200 && readLeader(answer).isSelf;
}

/** `operator init` with one key share; keeps the unseal key and root token in 0600 files of `dir`. */
export async function initialise(dir: string, endpoint: VaultEndpoint): Promise<void> {
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/init", body: { secret_shares: 1, secret_threshold: 1 } });
  if (answer.status !== 200) throw new Error(`sys/init failed (HTTP ${answer.status}): ${readErrors(answer)}${logTail(dir)}`);
  let init;
  try {
    init = readInit(answer);
  } catch (e) {
    // The reader's message names a field, never the body: a malformed success would hold the secrets.
    throw new Error(`sys/init failed: ${(e as Error).message}${logTail(dir)}`);
  }
  for (const [name, value] of [
    [LAYOUT.unsealKey, init.unsealKey],
    [LAYOUT.rootToken, init.rootToken],
  ] as const) {
    rmSync(join(dir, name), { force: true });
    writePrivateFile(join(dir, name), value + "\n");
  }
  // A stale env file would carry the previous root token.
  rmSync(join(dir, LAYOUT.env), { force: true });
}

/** Unseals with the key stored in `dir`. */
export async function unseal(dir: string, endpoint: VaultEndpoint): Promise<void> {
  const keyFile = join(dir, LAYOUT.unsealKey);
  if (!existsSync(keyFile)) throw new Error(`the server in ${dir} is sealed and ${keyFile} is missing`);
  const key = readFileSync(keyFile, "utf8").trim();
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key } });
  if (answer.status !== 200 || readSealStatus(answer).sealed) {
    throw new Error(`sys/unseal failed (HTTP ${answer.status}): ${redact(readErrors(answer), [key])}${logTail(dir)}`);
  }
}

/** Writes `vault.env` (VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN), 0600. */
export function writeEnvFile(dir: string, addr: string): void {
  const tokenFile = join(dir, LAYOUT.rootToken);
  if (!existsSync(tokenFile)) throw new Error(`${tokenFile} is missing; cannot write ${LAYOUT.env}`);
  const token = readFileSync(tokenFile, "utf8").trim();
  const text = `VAULT_ADDR=${addr}\nVAULT_CACERT=${join(dir, LAYOUT.tls, TLS.caCert)}\nVAULT_TOKEN=${token}\n`;
  writePrivateFile(join(dir, LAYOUT.env), text);
}

function redact(text: string, secrets: string[]): string {
  return secrets.filter((s) => s.length > 0).reduce((t, s) => t.split(s).join("<redacted>"), text);
}
