import { existsSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_SERVER_DIR, LOCAL_ENV_FILE } from "../common/paths";
import { writePrivateFile } from "../common/private-files";
import { locateBao } from "../engine/toolchain";
import { serverStatus, startServer, stopServer } from "../server/server";
import { CommandIo, CommandSpec, EXIT, UsageError, nonEmptyPath, runCommand } from "./command";

const DIR_OPTION = { dir: { type: "string" } } as const;
const DIR_HELP = `  --dir DIR  the server's directory (default ${DEFAULT_SERVER_DIR})\n`;

const START: CommandSpec<typeof DIR_OPTION> = {
  name: "server start",
  synopsis: "[--dir DIR]",
  summary: "start (or restart and unseal) a local OpenBao server in production mode over TLS",
  details: `${DIR_HELP}  A missing DIR is created 0700; an existing one must be empty or hold a server,
  and is never chmodded. Secrets inside are 0600 files.
`,
  options: DIR_OPTION,
};

const STOP_OPTIONS = { ...DIR_OPTION, purge: { type: "boolean", default: false } } as const;
const STOP: CommandSpec<typeof STOP_OPTIONS> = {
  name: "server stop",
  synopsis: "[--dir DIR] [--purge]",
  summary: "stop it; --purge also deletes its data, keys and token",
  details: `${DIR_HELP}  --purge    delete the directory (only when it holds nothing but the server's files)\n`,
  options: STOP_OPTIONS,
};

const STATUS: CommandSpec<typeof DIR_OPTION> = {
  name: "server status",
  synopsis: "[--dir DIR]",
  summary: "show whether it runs, is initialised, sealed and active",
  details: DIR_HELP,
  options: DIR_OPTION,
};

/** The `server` command's own usage: its subcommands. */
export const SERVER: CommandSpec<Record<string, never>> = {
  name: "server",
  synopsis: "start|stop|status [options]",
  summary: "the local OpenBao server: start, stop [--purge], status",
  details: [START, STOP, STATUS].map((s) => `  ${`${s.name.replace("server ", "")} ${s.synopsis}`.padEnd(28)} ${s.summary}\n`).join(""),
  options: {},
  positionals: ["start|stop|status"],
};

const dirOf = (value: string | undefined) => resolve(nonEmptyPath("--dir", value) ?? DEFAULT_SERVER_DIR);

/** `server start|stop|status`: resolves to the exit code. */
export function serverMain(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "start":
      return runCommand(START, rest, io, async ({ values }) => {
        const dir = dirOf(values.dir);
        const server = await startServer({ dir, baoBinary: locateBao(), log: (line) => io.stderr(`[server] ${line}\n`) });
        let envFile = server.envFile;
        if (dir === DEFAULT_SERVER_DIR) {
          rmSync(LOCAL_ENV_FILE, { force: true });
          writePrivateFile(LOCAL_ENV_FILE, readFileSync(server.envFile, "utf8"));
          envFile = LOCAL_ENV_FILE;
        }
        io.stdout(`address:  ${server.addr}\nenv file: ${envFile}\n(load it with: set -a; . ${envFile}; set +a)\n`);
        return EXIT.ok;
      });
    case "stop":
      return runCommand(STOP, rest, io, async ({ values }) => {
        const dir = dirOf(values.dir);
        if (!existsSync(dir)) throw new Error(`there is no server directory at ${dir}; nothing to stop (check --dir)`);
        await stopServer(dir, { purge: values.purge });
        if (dir === DEFAULT_SERVER_DIR && values.purge) rmSync(LOCAL_ENV_FILE, { force: true });
        io.stdout(values.purge ? `stopped and removed ${dir}\n` : `stopped (data kept in ${dir})\n`);
        return EXIT.ok;
      });
    case "status":
      return runCommand(STATUS, rest, io, async ({ values }) => {
        const dir = dirOf(values.dir);
        const status = await serverStatus(dir);
        io.stdout(
          [
            `dir:         ${dir}${existsSync(dir) ? "" : " (does not exist)"}`,
            `running:     ${status.running}${status.pid ? ` (pid ${status.pid})` : ""}`,
            `initialized: ${status.initialized}`,
            `sealed:      ${status.sealed}`,
            `active:      ${status.active}`,
            `address:     ${status.addr ?? "-"}`,
          ].join("\n") + "\n",
        );
        return EXIT.ok;
      });
    default:
      return runCommand(SERVER, argv, io, async () => {
        throw new UsageError(`expected a subcommand: start, stop or status${sub === undefined ? "" : `, not ${JSON.stringify(sub)}`}`);
      });
  }
}
