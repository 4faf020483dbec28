import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalServer, readServerEnv, startServer, stopServer } from "../server/server";

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Runs `body` with a scratch OpenBao (production mode, TLS on loopback, in a
 * new temporary directory), then stops it and deletes the directory: on
 * success, on failure, and on SIGINT/SIGTERM/SIGHUP (then the process exits
 * with 128 + the signal's number).
 */
export async function withScratchServer<T>(
  baoBinary: string,
  log: (line: string) => void,
  body: (server: LocalServer, rootToken: string) => Promise<T>,
  parent: string = tmpdir(),
): Promise<T> {
  const dir = mkdtempSync(join(parent, "c42-scratch-"));
  let cleaning: Promise<void> | undefined;
  // stopServer's purge keeps a directory the server did not create; this one was made here, so it goes too.
  const cleanup = () => (cleaning ??= stopServer(dir, { purge: true }).finally(() => rmSync(dir, { recursive: true, force: true })));
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the scratch server and deleting ${dir}`);
    void cleanup().finally(() => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  try {
    // No audit device: a snapshot whose source declared other ones would keep a server that declares one from becoming active.
    const server = await startServer({ dir, baoBinary, log: (line) => log(`[scratch] ${line}`), audit: false });
    return await body(server, readServerEnv(dir).VAULT_TOKEN);
  } finally {
    for (const sig of SIGNALS) process.off(sig, onSignal);
    await cleanup();
    log(`scratch server stopped and ${dir} deleted`);
  }
}
