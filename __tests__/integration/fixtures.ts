import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { parseEnvFile } from "../../ops/common/env-file";
import { cacheDir, loadToolchain } from "../../ops/engine/toolchain";
import { ClusterNode, startCluster, stopCluster } from "../../ops/server/cluster";
import { readServerEnv, startServer, stopServer } from "../../ops/server/server";
import { VaultCall, VaultEndpoint, vaultCall } from "../../ops/vault/client";

/**
 * An answer as tests read it. Tests compare whole shapes with jest matchers,
 * which fail on a wrong shape by themselves, so the body is left loose here;
 * the code under test reads answers through the typed readers in ops/vault.
 */
export interface TestAnswer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/** Calls the API and hands the answer to a test. */
export function callApi(endpoint: VaultEndpoint, call: VaultCall): Promise<TestAnswer> {
  return vaultCall(endpoint, call);
}

/** The release line of HashiCorp Vault the toolchain builds (scripts/build-vault.sh VAULT_VERSION). */
export const VAULT_RELEASE_LINE = /^1\.21\.\d+$/;

/** How long a HashiCorp Vault test file waits for Vault's background build (a cold build is ~12 min idle). */
export const VAULT_BUILD_WAIT_MS = 45 * 60_000;

/**
 * Waits for the background build `bash scripts/toolchain.sh --for-tests` started when Vault was not cached yet
 * (scripts/build-vault.sh --background; `$C42_CACHE/vault.build` holds `running PID`, then `rc=N`), saying
 * every minute that it waits. Returns at once when no build was started here. Fails, with the build log's
 * last lines, when the build failed or was stopped. For a file's first `beforeAll`, with {@link VAULT_BUILD_WAIT_MS}.
 */
export async function vaultBuilt(testFile: string): Promise<void> {
  const status = join(cacheDir(), "vault.build");
  const log = join(cacheDir(), "logs", "build-vault-background.log");
  const tail = () => (existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n").slice(-15).join("\n") : "(no log)");
  const started = Date.now();
  let said = started;
  for (;;) {
    const [state, value] = existsSync(status) ? readFileSync(status, "utf8").trim().split(/[ =]/) : ["none", ""];
    if (state === "none" || (state === "rc" && value === "0")) return;
    if (state === "rc") throw new Error(`the background build of HashiCorp Vault failed (exit ${value}); its log ${log} ends:\n${tail()}`);
    if (!alive(Number(value))) {
      throw new Error(`the background build of HashiCorp Vault (pid ${value}) is gone without a result; run: bash scripts/build-vault.sh\n${tail()}`);
    }
    if (Date.now() - said >= 60_000) {
      said = Date.now();
      process.stderr.write(`${testFile}: waiting for the background build of HashiCorp Vault (${Math.round((said - started) / 1000)} s; log: ${log})\n`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return Number.isInteger(pid) && pid > 0;
  } catch {
    return false;
  }
}

/**
 * HashiCorp Vault from `scripts/build-vault.sh` (1.21.x, the latest release the Go module proxy serves), which
 * `npm run test:integration` and CI run first. A missing binary fails the test with the command to run; it never
 * skips. The first call writes `vault version` into the test output, so a run names the release it ran on.
 */
export function hashicorpVault(testFile: string): string {
  const file = join(cacheDir(), "vault.env");
  const vault = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")).C42_VAULT : undefined;
  if (!vault || !existsSync(vault)) throw new Error(`HashiCorp Vault is not built (${file} is missing or names no binary); run: bash scripts/build-vault.sh`);
  process.stderr.write(`${testFile}: vault version: ${execFileSync(vault, ["version"], { encoding: "utf8" }).trim()}\n`);
  return vault;
}

/** A real OpenBao (or HashiCorp Vault) server in server mode, TLS on loopback, owned by one test file. */
export interface TestServer {
  /** VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (root). */
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
  /** The server's directory (config, TLS material, data), for tests that stop, restart or reconfigure it. */
  readonly dir: string;
  /** Calls the API with the root token unless the call names another. */
  call(call: VaultCall): Promise<TestAnswer>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** How {@link startTestServer} starts its server. */
export interface TestServerOptions {
  /** The server binary: `bao`, or HashiCorp Vault's `vault`. @default the toolchain's bao */
  readonly binary?: string;
  /** The launcher's file audit device (declared for OpenBao, enabled through the API for Vault). @default true */
  readonly audit?: boolean;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bao-"));
  try {
    await startServer({ dir, baoBinary: options.binary ?? loadToolchain().bao, audit: options.audit });
  } catch (e) {
    await stopServer(dir, { purge: true });
    throw e;
  }
  const env = readServerEnv(dir);
  const endpoint: VaultEndpoint = { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") };
  return {
    env,
    endpoint,
    dir,
    call: (call) => callApi(endpoint, { token: env.VAULT_TOKEN, ...call }),
    // purge keeps a directory it did not create (this one came from mkdtemp): remove it too.
    stop: async () => {
      await stopServer(dir, { purge: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real OpenBao (or HashiCorp Vault) raft cluster on loopback (TLS, production mode), owned by one test file. */
export interface TestCluster extends TestServer {
  /** The cluster directory (`node-1`, … inside). */
  readonly dir: string;
  readonly nodes: readonly ClusterNode[];
  /** VAULT_ADDR of `node`, with the cluster's CA and root token. */
  envFor(node: ClusterNode): Record<string, string>;
  /** Starts the nodes that are down again (a killed node rejoins) and waits for every voter. */
  restart(): Promise<void>;
}

/**
 * Starts a cluster of `nodes` nodes in a temporary directory; `env` points at the node active after the start.
 * `binary`: the server, the toolchain's bao unless given (HashiCorp Vault's `vault`).
 */
export async function startTestCluster(nodes: number, performanceMultiplier = 1, binary?: string): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "c42-cluster-"));
  const start = () => startCluster({ dir, baoBinary: binary ?? loadToolchain().bao, nodes, performanceMultiplier });
  let cluster;
  try {
    cluster = await start();
  } catch (e) {
    await stopCluster(dir, { purge: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const env = readServerEnv(dir);
  const endpoint: VaultEndpoint = { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") };
  return {
    dir,
    nodes: cluster.nodes,
    env,
    endpoint,
    envFor: (node) => ({ ...env, VAULT_ADDR: node.addr }),
    call: (call) => callApi(endpoint, { token: env.VAULT_TOKEN, ...call }),
    restart: async () => void (await start()),
    // The directory came from mkdtemp, so purge leaves it (empty) behind: remove it too.
    stop: () => stopCluster(dir, { purge: true }).then(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/** A deployment in a scratch directory of its own. */
export interface TestDeployment {
  readonly deployment: Deployment;
  /** The scratch directory: cdktf.out, state. */
  readonly work: string;
  cleanup(): void;
}

/** A deployment of the stack onto `server`, with its own cdktf.out and state directory. */
export function testDeployment(server: TestServer, settings: Record<string, string> = {}): TestDeployment {
  const work = mkdtempSync(join(tmpdir(), "c42-deploy-"));
  const deployment = isolatedDeployment(work, server.env, settings);
  return { deployment, work, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/** Expects a successful write (200 with a body or 204 without) and passes the answer on. */
export function ok(answer: TestAnswer): TestAnswer {
  expect([200, 204]).toContain(answer.status);
  return answer;
}
