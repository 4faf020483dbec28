import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writePrivateFile } from "../common/private-files";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { generateRoot } from "../vault/generate-root";
import { Health, readErrors, readHealth, readInit, readLeader, readRecoveryInit, readSealStatus } from "../vault/readers";
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

/**
 * `operator init` with one key share; keeps the unseal key (an auto-unsealed
 * server: the recovery key) and root token in 0600 files of `dir`.
 */
export async function initialise(dir: string, endpoint: VaultEndpoint, options: { autoUnseal?: boolean } = {}): Promise<void> {
  const shares = options.autoUnseal ? { recovery_shares: 1, recovery_threshold: 1 } : { secret_shares: 1, secret_threshold: 1 };
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/init", body: shares });
  if (answer.status !== 200) throw new Error(`sys/init failed (HTTP ${answer.status}): ${readErrors(answer)}${logTail(dir)}`);
  let files: [string, string][];
  try {
    if (options.autoUnseal) {
      const init = readRecoveryInit(answer);
      files = [
        [LAYOUT.recoveryKey, init.recoveryKey],
        [LAYOUT.rootToken, init.rootToken],
      ];
    } else {
      const init = readInit(answer);
      files = [
        [LAYOUT.unsealKey, init.unsealKey],
        [LAYOUT.rootToken, init.rootToken],
      ];
    }
  } catch (e) {
    // The reader's message names a field, never the body: a malformed success would hold the secrets.
    throw new Error(`sys/init failed: ${(e as Error).message}${logTail(dir)}`);
  }
  for (const [name, value] of files) {
    rmSync(join(dir, name), { force: true });
    writePrivateFile(join(dir, name), value + "\n");
  }
  // A stale env file would carry the previous root token.
  rmSync(join(dir, LAYOUT.env), { force: true });
}

/**
 * Unseals with the key stored in `dir`. When that key no longer opens the server and a restore staged the
 * restored cluster's key (`unseal.key.pending`: the restore stopped after the server took the snapshot), that
 * key is tried: when it opens the server it becomes `unseal.key`, and a new root token replaces the one of
 * the cluster before (void after the restore). A staged key that is not needed is removed.
 */
export async function unseal(dir: string, endpoint: VaultEndpoint, log: (line: string) => void = () => undefined): Promise<void> {
  const keyFile = join(dir, LAYOUT.unsealKey);
  const pendingFile = join(dir, LAYOUT.pendingUnsealKey);
  if (!existsSync(keyFile)) throw new Error(`the server in ${dir} is sealed and ${keyFile} is missing`);
  const key = readFileSync(keyFile, "utf8").trim();
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key } });
  if (answer.status === 200 && !readSealStatus(answer).sealed) {
    if (existsSync(pendingFile)) {
      rmSync(pendingFile, { force: true });
      log(`removed ${pendingFile}: a restore staged it but never loaded its snapshot (${LAYOUT.unsealKey} still opens the server)`);
    }
    return;
  }
  const failure = `sys/unseal failed (HTTP ${answer.status}): ${redact(readErrors(answer), [key])}`;
  if (!existsSync(pendingFile)) throw new Error(`${failure}${logTail(dir)}`);
  await recoverRestored(dir, endpoint, readFileSync(pendingFile, "utf8").trim(), failure, log);
}

/** The server holds a restored snapshot whose restore stopped half-way: unseal with its staged key and finish the server's files. */
async function recoverRestored(dir: string, endpoint: VaultEndpoint, pending: string, failure: string, log: (line: string) => void): Promise<void> {
  const pendingFile = join(dir, LAYOUT.pendingUnsealKey);
  // A key from an earlier attempt may sit in the server's progress; start over.
  await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { reset: true } });
  const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key: pending } });
  if (answer.status !== 200 || readSealStatus(answer).sealed) {
    throw new Error(
      `${failure}; the key a restore staged in ${pendingFile} does not open it either (HTTP ${answer.status}: ${redact(readErrors(answer), [pending])}). ` +
        `Unseal it with the unseal keys of the cluster whose snapshot was restored (bao operator unseal)${logTail(dir)}`,
    );
  }
  log(
    `${LAYOUT.unsealKey} no longer opens the server (a restore loaded another cluster's snapshot and stopped before finishing); unsealed with ${pendingFile}`,
  );
  rmSync(join(dir, LAYOUT.unsealKey), { force: true });
  writePrivateFile(join(dir, LAYOUT.unsealKey), `${pending}\n`);
  rmSync(pendingFile, { force: true });
  await waitUnsealed(endpoint);
  const token = readFileSync(join(dir, LAYOUT.rootToken), "utf8").trim();
  const self = await vaultCall(endpoint, { path: "auth/token/lookup-self", token });
  if (self.status === 200) return;
  const root = await generateRoot(endpoint, [pending], pendingFile);
  rmSync(join(dir, LAYOUT.rootToken), { force: true });
  writePrivateFile(join(dir, LAYOUT.rootToken), `${root}\n`);
  rmSync(join(dir, LAYOUT.env), { force: true });
  log(`the restored cluster's key is now ${LAYOUT.unsealKey}, and ${LAYOUT.rootToken} a new root token (the one from before the restore is void)`);
}

/** Waits until the server answers as unsealed and active, so a token call does not meet a standby or a sealed node. */
async function waitUnsealed(endpoint: VaultEndpoint): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = await health(endpoint).catch(() => undefined);
    if (h && h.initialized && !h.sealed && !h.standby) return;
    if (Date.now() > deadline) throw new Error("timed out after 60 s waiting for the unsealed server to become active");
    await new Promise((ok) => setTimeout(ok, 200));
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
