import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { KeystoreConfig } from "../../lib/config";
import { colonHex } from "../common/serial";
import { sleep } from "../server/process";
import { readCertificatePem, readKvPresent, readList, readSealDetails, SealDetails } from "../vault/backup-readers";
import { generateRoot } from "../vault/generate-root";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { readErrors, readHealth, readLogin, requireSuccess } from "../vault/readers";
import { BackupCheckError } from "./errors";
import { BackupManifest } from "./manifest";

/*
 * What a backup records about the keystore, and the checks that a restored
 * server holds it: archive keys under the kv mount, the CA chain, the admin
 * certificate on the cert login role, and a login with crashplan.p12.
 */

/** Where the keystore's objects live, from the configuration. */
export interface KeystorePaths {
  readonly kvMount: string;
  /** Absent with an external root CA (no root in Vault). */
  readonly pkiMount?: string;
  readonly pkiIntMount: string;
  readonly certAuthMount: string;
  readonly certRole: string;
}

export function keystorePaths(config: KeystoreConfig): KeystorePaths {
  return {
    kvMount: config.kv.path,
    pkiMount: config.rootCa.external ? undefined : config.pki.path,
    pkiIntMount: config.pki_int.path,
    certAuthMount: config.certAuth.path,
    certRole: config.certRole.name,
  };
}

/** How deep the kv listing goes and how many paths it accepts: bounds, not expectations. */
export const MAX_KV_DEPTH = 32;
export const MAX_KV_KEYS = 1_000_000;
/** Parallel requests for listing and reading keys. */
const CONCURRENCY = 16;

/** Every secret's path under a kv version 1 mount (relative to it), sorted. */
export async function listKvKeys(endpoint: VaultEndpoint, token: string, mount: string): Promise<string[]> {
  return withAgent((agent) => listWith(endpoint, token, mount, agent));
}

/** A keep-alive agent for a burst of token calls, destroyed afterwards. */
async function withAgent<T>(fn: (agent: Agent) => Promise<T>): Promise<T> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    return await fn(agent);
  } finally {
    agent.destroy();
  }
}

async function listWith(endpoint: VaultEndpoint, token: string, mount: string, agent: Agent): Promise<string[]> {
  const keys: string[] = [];
  let folders = [""];
  for (let depth = 0; folders.length > 0; depth++) {
    if (depth > MAX_KV_DEPTH) throw new Error(`${mount}/ is nested deeper than ${MAX_KV_DEPTH} folders; refusing to list further`);
    const next: string[] = [];
    await eachLimited(folders, async (folder) => {
      const path = `${mount}/${folder}`;
      const answer = await vaultCall(endpoint, { method: "LIST", path, token, agent });
      if (answer.status !== 404) requireSuccess(answer, `LIST ${path}`);
      for (const entry of readList(answer, `LIST ${path}`)) (entry.endsWith("/") ? next : keys).push(folder + entry);
      if (keys.length > MAX_KV_KEYS) throw new Error(`${mount}/ holds more than ${MAX_KV_KEYS} secrets; refusing to list further`);
    });
    folders = next;
  }
  return keys.sort();
}

/** The serial (`1a:2b:…`) and expiry of a PEM certificate. */
export function certificateFacts(pem: string): { serial: string; notAfter: string } {
  const certificate = new X509Certificate(pem);
  return { serial: colonHex(certificate.serialNumber), notAfter: new Date(certificate.validTo).toISOString() };
}

/** `<mount>/cert/ca`'s serial, or undefined when the mount has no CA. */
export async function caSerial(endpoint: VaultEndpoint, mount: string, token?: string): Promise<string | undefined> {
  const answer = await vaultCall(endpoint, { path: `${mount}/cert/ca`, token });
  if (answer.status !== 200 && answer.status !== 404) requireSuccess(answer, `GET ${mount}/cert/ca`);
  const pem = readCertificatePem(answer, `${mount}/cert/ca`);
  return pem && certificateFacts(pem).serial;
}

/** The certificate the cert login role holds, or undefined when the role is missing. */
export async function roleCertificate(endpoint: VaultEndpoint, token: string, paths: KeystorePaths): Promise<{ serial: string; notAfter: string } | undefined> {
  const path = `auth/${paths.certAuthMount}/certs/${paths.certRole}`;
  const answer = await vaultCall(endpoint, { path, token });
  if (answer.status !== 200 && answer.status !== 404) requireSuccess(answer, `GET ${path}`);
  const pem = readCertificatePem(answer, path);
  return pem ? certificateFacts(pem) : undefined;
}

/** `sys/seal-status` (no token). */
export async function sealStatus(endpoint: VaultEndpoint): Promise<SealDetails> {
  const answer = await vaultCall(endpoint, { path: "sys/seal-status" });
  if (answer.status !== 200) throw new Error(`sys/seal-status failed: HTTP ${answer.status} ${readErrors(answer)}`);
  return readSealDetails(answer);
}

/** Thrown by a probe of {@link waitUntil} to stop waiting at once (other probe errors count as "not yet"). */
export class StopWaiting extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "StopWaiting";
  }
}

/** Polls `probe` every 200 ms until it returns a value or `timeoutMs` passes; probe errors count as "not yet", except {@link StopWaiting}. */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`);
    await sleep(200);
  }
}

/** Waits until the server is unsealed and active (sys/health 200). */
export async function waitActive(endpoint: VaultEndpoint, timeoutMs = 60_000): Promise<void> {
  await waitUntil("the server to be unsealed and active", timeoutMs, async () => {
    const answer = await vaultCall(endpoint, { path: "sys/health" });
    const h = readHealth(answer);
    return answer.status === 200 && !h.sealed && !h.standby ? true : undefined;
  });
}

/**
 * Unseals with `keys` (from `source`, named in messages). Wrong keys are
 * refused with exit 4 and the server's reason; the keys are never echoed.
 */
export async function unsealWith(endpoint: VaultEndpoint, keys: readonly string[], source: string, clusterId: string): Promise<void> {
  let status = await sealStatus(endpoint);
  for (const [i, key] of keys.entries()) {
    if (!status.sealed) break;
    const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/unseal", body: { key } });
    if (answer.status !== 200) {
      const reason = keys.reduce((text, k) => text.split(k).join("<key>"), readErrors(answer));
      throw new BackupCheckError(
        "unseal-keys",
        `key ${i + 1} from ${source} does not unseal the snapshot of cluster ${clusterId}: ${reason}. ` +
          `A snapshot opens only with the unseal keys of the cluster it was taken from; check that these are that cluster's keys`,
      );
    }
    status = readSealDetails(answer);
  }
  if (status.sealed) {
    throw new BackupCheckError(
      "unseal-keys",
      `${source} gave ${keys.length} unseal key(s) and the snapshot of cluster ${clusterId} needs ${status.threshold} (progress ${status.progress}/${status.threshold}); give at least ${status.threshold} different keys`,
    );
  }
}

/**
 * A root token made with the unseal keys (`sys/generate-root`), as an operator
 * does after a restore: the tokens in a snapshot may be gone or expired. The
 * caller revokes it when done. Never log it. Refused keys are exit 4.
 */
export function generateRootToken(endpoint: VaultEndpoint, keys: readonly string[], source: string): Promise<string> {
  return generateRoot(endpoint, keys, source, (message) => new BackupCheckError("unseal-keys", message));
}

/** Revokes a token; a failure is ignored (the token dies with a scratch server anyway). */
export async function revokeSelf(endpoint: VaultEndpoint, token: string): Promise<void> {
  try {
    await vaultCall(endpoint, { method: "POST", path: "auth/token/revoke-self", token });
  } catch {
    // best effort
  }
}

/** crashplan.p12 and its password, as Code42 presents them. Secrets. */
export interface LoginBundle {
  readonly file: string;
  readonly pfx: Buffer;
  readonly passphrase: string;
}

/** What a restored server was found to hold. */
export interface ContentReport {
  readonly keysChecked: number;
  readonly caIntermediate: string;
  readonly caRoot?: string;
  readonly adminSerial: string;
  readonly login: "ok" | "skipped";
}

/**
 * Checks that the server holds what the manifest lists: every archive key
 * reads back, the CA certificates and the login role's certificate have the
 * recorded serials, and (unless `bundle` is undefined) crashplan.p12 logs in.
 * Fails with exit 5 naming what is missing.
 */
export async function checkContents(
  endpoint: VaultEndpoint,
  token: string,
  manifest: BackupManifest,
  bundle: LoginBundle | undefined,
  log: (line: string) => void,
): Promise<ContentReport> {
  const problems: string[] = [];
  const missing: string[] = [];
  await withAgent((agent) =>
    eachLimited(manifest.kv.keys, async (key) => {
      const answer = await vaultCall(endpoint, { path: `${manifest.kv.mount}/${key}`, token, agent });
      if (!readKvPresent(answer)) missing.push(`${key} (HTTP ${answer.status})`);
    }),
  );
  if (missing.length > 0) {
    problems.push(
      `${missing.length} of ${manifest.kv.count} archive keys under ${manifest.kv.mount}/ do not read back: ${missing.sort().slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`,
    );
  } else {
    log(`all ${manifest.kv.count} archive keys under ${manifest.kv.mount}/ read back`);
  }

  const intermediate = await caSerial(endpoint, manifest.ca.intermediateMount, token);
  if (intermediate !== manifest.ca.intermediate) {
    problems.push(`the intermediate CA on ${manifest.ca.intermediateMount}/ is ${intermediate ?? "missing"}; the manifest records ${manifest.ca.intermediate}`);
  }
  let root: string | undefined;
  if (manifest.ca.rootMount && manifest.ca.root) {
    root = await caSerial(endpoint, manifest.ca.rootMount, token);
    if (root !== manifest.ca.root) problems.push(`the root CA on ${manifest.ca.rootMount}/ is ${root ?? "missing"}; the manifest records ${manifest.ca.root}`);
  }
  const admin = manifest.adminCertificate;
  const role = await roleCertificate(endpoint, token, {
    kvMount: manifest.kv.mount,
    pkiIntMount: manifest.ca.intermediateMount,
    certAuthMount: admin.certAuthMount,
    certRole: admin.role,
  });
  if (role?.serial !== admin.serial) {
    problems.push(
      `the login role auth/${admin.certAuthMount}/certs/${admin.role} holds ${role ? `certificate ${role.serial}` : "no certificate"}; the manifest records ${admin.serial}`,
    );
  }
  if (problems.length === 0) log(`CA chain (intermediate ${intermediate}${root ? `, root ${root}` : ""}) and admin certificate ${admin.serial} are there`);

  let login: "ok" | "skipped" = "skipped";
  if (bundle) {
    const answer = await vaultCall(endpoint, {
      method: "POST",
      path: `auth/${admin.certAuthMount}/login`,
      body: { name: admin.role },
      pfx: { pfx: bundle.pfx, passphrase: bundle.passphrase },
    });
    if (answer.status === 200) {
      await revokeSelf(endpoint, readLogin(answer).clientToken);
      login = "ok";
      log(`${bundle.file} logs in (auth/${admin.certAuthMount}/login as ${admin.role})`);
    } else {
      problems.push(
        `${bundle.file} does not log in: HTTP ${answer.status} ${readErrors(answer)}` +
          ` (the snapshot's admin certificate is ${admin.serial}; a bundle made after a later rotation does not match an older snapshot)`,
      );
    }
  }
  if (problems.length > 0) throw new BackupCheckError("content", problems.join("; "));
  return { keysChecked: manifest.kv.count, caIntermediate: manifest.ca.intermediate, caRoot: root, adminSerial: admin.serial, login };
}

/** Runs `fn` over `items`, at most {@link CONCURRENCY} at a time; the first failure stops the rest. */
async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
