import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../ops/deployment";
import { readServerEnv, startServer, stopServer } from "../../ops/server";
import { loadToolchain } from "../../ops/toolchain";
import { VaultAnswer, VaultCall, VaultEndpoint, vaultCall } from "../../ops/vault-http";

/** A real OpenBao server in server mode, TLS on loopback, owned by one test file. */
export interface TestServer {
  /** VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (root). */
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
  /** Calls the API with the root token unless the call names another. */
  call(call: VaultCall): Promise<VaultAnswer>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bao-"));
  await startServer({ dir, baoBinary: loadToolchain().bao });
  const env = readServerEnv(dir);
  const endpoint: VaultEndpoint = { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") };
  return {
    env,
    endpoint,
    call: (call) => vaultCall(endpoint, { token: env.VAULT_TOKEN, ...call }),
    stop: () => stopServer(dir, { purge: true }),
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
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    C42_CACHE: process.env.C42_CACHE,
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
    ...server.env,
    C42_STATE_DIR: join(work, "state"),
    ...settings,
  };
  const deployment = new Deployment({ env, outdir: join(work, "cdktf.out"), projectDir: work });
  return { deployment, work, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/** Expects a successful write (200 with a body or 204 without) and passes the answer on. */
export function ok(answer: VaultAnswer): VaultAnswer {
  expect([200, 204]).toContain(answer.status);
  return answer;
}
