import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { locateBao, serverStatus, startServer, stopServer, writePrivateFile } from "./server";

/** The repository root (this file lives in `<root>/ops`). */
const REPO_DIR = resolve(__dirname, "..");
/** Where `npm run server:start` keeps its server unless told otherwise. */
export const DEFAULT_SERVER_DIR = join(REPO_DIR, ".local", "server");
/** The copy of the default server's env file that the deploy commands read. */
export const LOCAL_ENV_FILE = join(REPO_DIR, ".local", "vault.env");

const USAGE = `usage: ts-node ops/server-main.ts <command> [--dir DIR]

  start  [--dir DIR]           start (or restart and unseal) a local OpenBao server in production mode over TLS
  stop   [--dir DIR] [--purge] stop it; --purge also deletes its data, keys and token
  status [--dir DIR]           show whether it runs, is initialised, sealed and active

DIR defaults to ${DEFAULT_SERVER_DIR}
`;

/** Runs one command; returns the exit code. Errors are printed without stack traces. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { dir: { type: "string" }, purge: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!command || !["start", "stop", "status"].includes(command) || extra.length > 0 || (values.purge && command !== "stop")) {
    process.stderr.write(USAGE);
    return 1;
  }
  const dir = resolve(values.dir ?? DEFAULT_SERVER_DIR);
  const isDefault = dir === DEFAULT_SERVER_DIR;
  try {
    switch (command) {
      case "start": {
        const server = await startServer({ dir, baoBinary: locateBao(), log: (line) => process.stderr.write(`[server] ${line}\n`) });
        let envFile = server.envFile;
        if (isDefault) {
          rmSync(LOCAL_ENV_FILE, { force: true });
          writePrivateFile(LOCAL_ENV_FILE, readFileSync(server.envFile, "utf8"));
          envFile = LOCAL_ENV_FILE;
        }
        process.stdout.write(`address:  ${server.addr}\nenv file: ${envFile}\n(load it with: set -a; . ${envFile}; set +a)\n`);
        return 0;
      }
      case "stop": {
        await stopServer(dir, { purge: values.purge });
        if (isDefault && values.purge) rmSync(LOCAL_ENV_FILE, { force: true });
        process.stdout.write(values.purge ? `stopped and removed ${dir}\n` : `stopped (data kept in ${dir})\n`);
        return 0;
      }
      case "status": {
        const status = await serverStatus(dir);
        process.stdout.write(
          [
            `dir:         ${dir}${existsSync(dir) ? "" : " (does not exist)"}`,
            `running:     ${status.running}${status.pid ? ` (pid ${status.pid})` : ""}`,
            `initialized: ${status.initialized}`,
            `sealed:      ${status.sealed}`,
            `active:      ${status.active}`,
            `address:     ${status.addr ?? "-"}`,
          ].join("\n") + "\n",
        );
        return 0;
      }
    }
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
