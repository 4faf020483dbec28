// Benchmark helpers (`npm run bench`): fresh private servers, the TLS login check, and Code42's recipe typed
// into the CLI one command at a time (the manual baseline). Nothing here fails on a slow machine; it fails only
// when a path did not produce a working keystore.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../lib/config";
import { readServerEnv, startServer, stopServer } from "../ops/server/server";
import { VaultCall, VaultEndpoint, vaultCall } from "../ops/vault/client";
import { readErrors, readLogin } from "../ops/vault/readers";
import { RECIPE_FILES, buildKeystoreByHand } from "./manual-recipe";

/** One private server: its directory and the VAULT_* connection (root token). */
export interface BenchServer {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
  readonly startMs: number;
}

// The settings and their seed names come from the same table the stack reads,
// so the manual path builds exactly what the stack declares.
export const SEED = loadConfig({ env: {}, cwd: __dirname });

export const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Runs `body` with a fresh private server (production mode, TLS, raft) that is stopped and purged on every path. */
export async function withServer<T>(bao: string, body: (server: BenchServer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bench-bao-"));
  try {
    const start = process.hrtime.bigint();
    await startServer({ dir, baoBinary: bao });
    const startMs = elapsedMs(start);
    const env = readServerEnv(dir);
    return await body({ dir, env, startMs, endpoint: { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") } });
  } finally {
    await stopServer(dir, { purge: true });
    // The purge keeps a directory the server did not create (mkdtemp made this one): remove it too.
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TLS client-certificate login; true when it returns a token carrying the policy. Revokes the token again. */
export async function certLogin(endpoint: VaultEndpoint, identity: Pick<VaultCall, "clientCert" | "pfx">): Promise<boolean> {
  const answer = await vaultCall(endpoint, { method: "PUT", path: `auth/${SEED.certAuth.path}/login`, ...identity });
  if (answer.status !== 200) {
    log(`  login failed: HTTP ${answer.status} ${readErrors(answer)}`);
    return false;
  }
  const login = readLogin(answer);
  await vaultCall(endpoint, { method: "PUT", path: "auth/token/revoke-self", token: login.clientToken });
  const ok = login.policies.includes(SEED.policy.name.toLowerCase()) && login.leaseDuration > 0;
  if (!ok) log(`  login returned policies ${login.policies.join(", ")} and TTL ${login.leaseDuration}s`);
  return ok;
}

/** What the manual recipe measured. */
export interface RecipeTiming {
  readonly ms: number;
  readonly invocations: number;
  readonly loginOk: boolean;
}

/**
 * The manual baseline: Code42's recipe typed into the CLI one command at a
 * time (17 `bao` commands and `openssl pkcs12 -export`). The CLI reads the
 * address, CA and root token from its environment only, and every file
 * holding a key stays in a 0700 directory removed afterwards. The time does
 * not include the login with the resulting crashplan.p12 that proves it works.
 */
export async function runRecipe(server: BenchServer, bao: string): Promise<RecipeTiming> {
  // mkdtemp makes it 0700.
  const work = mkdtempSync(join(tmpdir(), "c42-bench-manual-"));
  try {
    const start = process.hrtime.bigint();
    const { invocations, password } = await buildKeystoreByHand({ bao, vaultEnv: server.env, dir: work, seed: SEED });
    const ms = elapsedMs(start);

    // Honest baseline: the bundle the admin would upload must log in, as Code42 does.
    const loginOk = await certLogin(server.endpoint, { pfx: { pfx: readFileSync(join(work, RECIPE_FILES.p12)), passphrase: password } });
    return { ms, invocations, loginOk };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
