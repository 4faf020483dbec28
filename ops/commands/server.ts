import { existsSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_SERVER_DIR, LOCAL_ENV_FILE } from "../common/paths";
import { writePrivateFile } from "../common/private-files";
import { locateBao } from "../engine/toolchain";
import {
  DEFAULT_PERFORMANCE_MULTIPLIER,
  MAX_NODES,
  checkNodeCount,
  checkPerformanceMultiplier,
  clusterStatus,
  isClusterDir,
  readClusterMeta,
  startCluster,
  stopCluster,
} from "../server/cluster";
import { AUTO_UNSEAL_KINDS, AutoUnseal } from "../server/auto-unseal";
import { DEFAULT_LB_ROUTE, LB_ROUTES, LbRoute } from "../server/load-balancer";
import { serverStatus, startServer, stopServer } from "../server/server";
import { CommandIo, CommandSpec, EXIT, UsageError, asUsage, nonEmptyPath, runCommand, wholeNumber } from "./command";

const DIR_OPTION = { dir: { type: "string" } } as const;
const DIR_HELP = `  --dir DIR  the server's directory (default ${DEFAULT_SERVER_DIR})\n`;

const START_OPTIONS = {
  ...DIR_OPTION,
  nodes: { type: "string" },
  "performance-multiplier": { type: "string" },
  "load-balancer": { type: "boolean", default: false },
  "lb-route": { type: "string" },
  "auto-unseal": { type: "string" },
} as const;
const START: CommandSpec<typeof START_OPTIONS> = {
  name: "server start",
  synopsis: "[--dir DIR] [--nodes N] [--performance-multiplier M] [--load-balancer [--lb-route active|all]] [--auto-unseal transit]",
  summary: "start (or restart and unseal) a local OpenBao server or raft cluster in production mode over TLS",
  details: `${DIR_HELP}  --nodes N  1 (default): one server; 3 or 5: a raft cluster on 127.0.0.1, each node
             with its own directory (DIR/node-1, …), ports, log and TLS listener, joined
             through retry_join; waits until autopilot counts N healthy voters (odd, at most ${MAX_NODES})
  --performance-multiplier M
             cluster only: raft's timing multiplier, 1 to 10 (default ${DEFAULT_PERFORMANCE_MULTIPLIER}). Heartbeat and
             election timeouts scale with it: 1 elects a new leader ~2-3 s after the active
             node dies; OpenBao's own default 5 takes ~10 s but tolerates a loaded machine or
             slow network without needless elections. Fixed at the first start.
  --load-balancer
             cluster only: also start HAProxy (the system's haproxy; apt-get install haproxy) on
             127.0.0.1 in front of the nodes: TCP passthrough, TLS end to end, health checks on
             each node's /v1/sys/health over TLS with the certificate verified. vault.env's
             VAULT_ADDR (and so publicUrl) is then its address. Kept on every later start.
  --lb-route active|all
             which nodes the load balancer sends traffic to (default ${DEFAULT_LB_ROUTE}): active, the
             active node only; all, every unsealed node, standbys forwarding. Fixed at its first start.
  --auto-unseal transit
             cluster only, first start: the nodes unseal themselves with a transit key of a separate
             small OpenBao (DIR/transit, itself unsealed with its own stored key); its token, limited
             to encrypt/decrypt with that key, is in DIR/seal.hcl (0600). No unseal key is stored:
             DIR/recovery.key (0600) is what backups and generate-root take instead.
  A missing DIR is created 0700; an existing one must be empty or hold a server (or a cluster),
  and is never chmodded. Secrets inside are 0600 files. Every server and node declares a file
  audit device (DIR/audit.log, a node's DIR/node-N/audit.log, 0600). Starting a cluster again starts the nodes that are down
  (a killed node rejoins) and unseals them. A single server that a restore left sealed (it took
  another cluster's snapshot and stopped before finishing) is unsealed with the key the restore
  staged in DIR/unseal.key.pending, which then becomes unseal.key, with a new root token.
`,
  options: START_OPTIONS,
};

const STOP_OPTIONS = { ...DIR_OPTION, purge: { type: "boolean", default: false } } as const;
const STOP: CommandSpec<typeof STOP_OPTIONS> = {
  name: "server stop",
  synopsis: "[--dir DIR] [--purge]",
  summary: "stop it (every node of a cluster); --purge also deletes its data, keys and token",
  details: `${DIR_HELP}  --purge    delete the directory (only when it holds nothing but the server's files)\n`,
  options: STOP_OPTIONS,
};

const STATUS_OPTIONS = { ...DIR_OPTION, json: { type: "boolean", default: false } } as const;
const STATUS: CommandSpec<typeof STATUS_OPTIONS> = {
  name: "server status",
  synopsis: "[--dir DIR] [--json]",
  summary: "show whether it runs, is initialised, sealed and active; a cluster: one line per node and autopilot's health",
  details: `${DIR_HELP}  --json     print the status as JSON (a cluster: nodes with addr, pid, role; autopilot)
  A cluster prints one line per node (address, pid, role: active, standby, sealed, stopped, …),
  then autopilot's view: healthy, voters, failure tolerance (read with the root token in DIR).
`,
  options: STATUS_OPTIONS,
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

/** An integer option's value; a usage error names the option, the value and what is expected. */
function integerOption(option: string, value: string | undefined, check: (option: string, n: number) => number): number | undefined {
  if (value === undefined) return undefined;
  return asUsage(() => check(option, wholeNumber(option, value, { min: 0, max: 999 })));
}

/** `server start|stop|status`: resolves to the exit code. */
export function serverMain(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "start":
      return runCommand(START, rest, io, async ({ values }) => {
        const dir = dirOf(values.dir);
        const nodes = integerOption("--nodes", values.nodes, checkNodeCount);
        const performanceMultiplier = integerOption("--performance-multiplier", values["performance-multiplier"], checkPerformanceMultiplier);
        const route = values["lb-route"];
        if (route !== undefined && !LB_ROUTES.includes(route as LbRoute)) throw new UsageError(`--lb-route: ${JSON.stringify(route)}; expected active or all`);
        if (route !== undefined && !values["load-balancer"]) throw new UsageError("--lb-route: only with --load-balancer");
        const autoUnseal = values["auto-unseal"];
        if (autoUnseal !== undefined && !AUTO_UNSEAL_KINDS.includes(autoUnseal as AutoUnseal)) {
          throw new UsageError(`--auto-unseal: ${JSON.stringify(autoUnseal)}; expected transit`);
        }
        const log = (line: string) => io.stderr(`[server] ${line}\n`);
        let server: { addr: string; envFile: string };
        if ((nodes ?? 1) > 1 || isClusterDir(dir)) {
          const cluster = await startCluster({
            dir,
            baoBinary: locateBao(),
            nodes: nodes ?? readClusterMeta(dir).nodes,
            performanceMultiplier,
            loadBalancer: values["load-balancer"] ? { route: route as LbRoute | undefined } : undefined,
            autoUnseal: autoUnseal as AutoUnseal | undefined,
            log,
          });
          server = { addr: cluster.loadBalancer?.addr ?? cluster.active.addr, envFile: cluster.envFile };
          io.stdout(cluster.nodes.map((n) => `${n.nodeId}:  ${n.addr}\n`).join(""));
          if (cluster.loadBalancer)
            io.stdout(`load balancer: ${cluster.loadBalancer.addr} (haproxy pid ${cluster.loadBalancer.pid}, route ${cluster.loadBalancer.route})\n`);
        } else {
          if (performanceMultiplier !== undefined) throw new UsageError("--performance-multiplier: only a cluster (--nodes 3 or 5) takes it");
          if (values["load-balancer"]) throw new UsageError("--load-balancer: only a cluster (--nodes 3 or 5) takes it");
          if (autoUnseal !== undefined) throw new UsageError("--auto-unseal: only a cluster (--nodes 3 or 5) takes it");
          server = await startServer({ dir, baoBinary: locateBao(), log });
        }
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
        await (isClusterDir(dir) ? stopCluster(dir, { purge: values.purge }) : stopServer(dir, { purge: values.purge }));
        if (dir === DEFAULT_SERVER_DIR && values.purge) rmSync(LOCAL_ENV_FILE, { force: true });
        io.stdout(values.purge ? `stopped and removed ${dir}\n` : `stopped (data kept in ${dir})\n`);
        return EXIT.ok;
      });
    case "status":
      return runCommand(STATUS, rest, io, async ({ values }) => {
        const dir = dirOf(values.dir);
        if (isClusterDir(dir)) {
          const cluster = await clusterStatus(dir);
          if (values.json) {
            io.stdout(JSON.stringify({ dir, ...cluster }, null, 2) + "\n");
            return EXIT.ok;
          }
          const a = cluster.autopilot;
          const lb = cluster.loadBalancer;
          const checks = lb?.backends?.map((b) => `${b.name} ${b.status}`).join(", ");
          io.stdout(
            (lb
              ? `load balancer  ${lb.addr}  pid ${lb.pid ?? "-"}  ${lb.pid === undefined ? "stopped" : `route ${lb.route}, checks: ${checks ?? "no answer on the stats socket"}`}\n`
              : "") +
              cluster.nodes.map((n) => `${n.nodeId}  ${n.addr}  pid ${n.pid ?? "-"}  ${n.role}\n`).join("") +
              (a
                ? `autopilot: ${a.healthy ? "healthy" : "UNHEALTHY"}, leader ${a.leader}, ${a.voters.length} voters (${a.voters.join(", ")}), failure tolerance ${a.failureTolerance}\n`
                : `autopilot: unknown (${cluster.autopilotError ?? "no answer"})\n`),
          );
          return EXIT.ok;
        }
        const status = await serverStatus(dir);
        if (values.json) {
          io.stdout(JSON.stringify({ dir, ...status }, null, 2) + "\n");
          return EXIT.ok;
        }
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
