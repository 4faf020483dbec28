import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../../lib/config";
import { PROJECT_DIR } from "../common/paths";
import { resolveVaultEnv } from "../engine/deployment";
import { LoadGrant } from "../load/grant";
import { LOAD_BOUNDS, checkLoadAddress, formatLoadReport, runLoad } from "../load/load";
import { LOAD_GRANT_PREFIX } from "../vault/load-grants";
import { vaultToken } from "../vault/client";
import { CommandIo, CommandSpec, EXIT, UsageError, nonEmptyPath, runCommand, asUsage, wholeNumber } from "./command";

const DEFAULTS = { users: 200, readsPerWrite: 10, concurrency: 8, durationSeconds: 60, prefix: "c42-load" } as const;
const b = LOAD_BOUNDS;

const OPTIONS = {
  addr: { type: "string", multiple: true },
  ca: { type: "string" },
  users: { type: "string" },
  "reads-per-write": { type: "string" },
  concurrency: { type: "string" },
  duration: { type: "string" },
  prefix: { type: "string" },
  "storage-dir": { type: "string" },
  "allow-remote": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

export const LOAD: CommandSpec<typeof OPTIONS> = {
  name: "load",
  synopsis: "[--addr URL]... [--users N] [--reads-per-write N] [--concurrency N] [--duration S] [options]",
  summary: "Code42-like load: archive keys written once and read back, mTLS logins with crashplan.p12",
  details: `  Acts as Code42 does, with an identity of its own: with VAULT_TOKEN it issues a client
  certificate for this run alone (<pki_int.path>/issue/<role.name>, valid for the run plus
  5 minutes), writes a policy for <kv.path>/<prefix>/* and a cert role pinning exactly that
  certificate (both named ${LOAD_GRANT_PREFIX}<12 hex>, 60 s tokens), logs in through it over
  mTLS, and logs in again before each token runs out. It never uses the admin certificate
  (crashplan.p12), and its role cannot match Code42's login. When the run ends, on any exit
  path including SIGINT, SIGTERM and SIGHUP, the role and policy are deleted and the
  certificate revoked; a run that could not clean up (SIGKILL) is recognised by name and
  contents and cleaned up by the next \`load\` or \`deploy\`. Nothing else is ever removed.
  Then N users each get a fresh 256-bit archive key as a small JSON document in kv v1
  (<kv.path>/<prefix>/<run id>/user-NNNNNN), written once and read back; every read checks
  the value. Reports throughput, p50/p95/p99 latency per operation, errors by cause, the
  longest gap between acknowledged writes, and the raft storage growth per user. Writes stay
  in Vault (each run under its own run id).
  The token (VAULT_TOKEN, else .local/vault.env's) needs: update on
  <pki_int.path>/issue/<role.name> and <pki_int.path>/revoke; create, read, list and delete on
  sys/policies/acl/* and auth/<certAuth.path>/certs/*.
  --addr URL            a node's address; repeat for a cluster: requests go to one node and
                        move to the next when it stops answering (default VAULT_ADDR).
                        Must be https on a loopback host (127.x.x.x, ::1, localhost)
  --allow-remote        accept addresses that are not loopback: only for a server you run
  --ca FILE             CA of the servers' certificates (default VAULT_CACERT)
  --users N             simulated Code42 users, one key each (default ${DEFAULTS.users}, ${b.users.min}..${b.users.max})
  --reads-per-write N   reads of written keys after each write: the mix (default ${DEFAULTS.readsPerWrite}, ${b.readsPerWrite.min}..${b.readsPerWrite.max})
  --concurrency N       requests in flight (default ${DEFAULTS.concurrency}, ${b.concurrency.min}..${b.concurrency.max})
  --duration S          stop after S seconds even if users remain (default ${DEFAULTS.durationSeconds}, ${b.durationSeconds.min}..${b.durationSeconds.max})
  --prefix NAME         kv sub-path the keys go under (default ${DEFAULTS.prefix})
  --storage-dir DIR     a raft data directory of the target (a local server's DIR/data, a
                        cluster's DIR/node-1/data) to measure bytes per user (default: not measured)
  --json                print the report as JSON
  Exit 0 when every key was written, every read matched and the run's grant was removed;
  1 otherwise (the report says why); 128+N when stopped by signal N (after cleaning up).
`,
  options: OPTIONS,
};

function count(option: string, value: string | undefined, def: number, bound: { min: number; max: number }): number {
  return value === undefined ? def : wholeNumber(option, value, bound);
}

/** `file` when it exists; else an error naming the option and what to give. */
function existing(option: string, file: string, hint: string): string {
  if (!existsSync(file)) throw new Error(`${option}: ${file} does not exist; ${hint}`);
  return file;
}

/** Signals that end a run: each removes the run's grant before the process exits. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The `load` command. */
export function loadMain(argv: readonly string[], io: CommandIo, givenEnv: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommand(LOAD, argv, io, async ({ values }) => {
    const users = count("--users", values.users, DEFAULTS.users, b.users);
    const readsPerWrite = count("--reads-per-write", values["reads-per-write"], DEFAULTS.readsPerWrite, b.readsPerWrite);
    const concurrency = count("--concurrency", values.concurrency, DEFAULTS.concurrency, b.concurrency);
    const durationSeconds = count("--duration", values.duration, DEFAULTS.durationSeconds, b.durationSeconds);
    const prefix = values.prefix ?? DEFAULTS.prefix;
    if (!/^[a-z0-9][a-z0-9-]{0,47}$/.test(prefix))
      throw new UsageError(`--prefix: ${JSON.stringify(prefix)} is not a name; expected lower-case letters, digits and -, at most 48`);
    const env = values.addr ? givenEnv : resolveVaultEnv(givenEnv, PROJECT_DIR);
    const addrs = values.addr ?? (env.VAULT_ADDR ? [env.VAULT_ADDR] : []);
    if (addrs.length === 0) throw new UsageError("--addr: no address; give --addr or set VAULT_ADDR");
    const origins = addrs.map((a) => asUsage(() => checkLoadAddress(values.addr ? "--addr" : "VAULT_ADDR", a, values["allow-remote"])));
    const caFile = nonEmptyPath("--ca", values.ca) ?? env.VAULT_CACERT;
    const storageDir = nonEmptyPath("--storage-dir", values["storage-dir"]);
    if (storageDir !== undefined) existing("--storage-dir", join(resolve(storageDir), "vault.db"), "give a raft data directory (a local server's DIR/data)");

    const config = loadConfig({ env });
    const caPem = caFile ? readFileSync(existing(values.ca ? "--ca" : "VAULT_CACERT", caFile, "the PEM file of the servers' CA"), "utf8") : undefined;
    const adminToken = vaultToken(env);
    io.stderr(
      `[load] ${users} users, ${readsPerWrite} reads per write, concurrency ${concurrency}, at most ${durationSeconds} s, against ${origins.join(", ")}\n`,
    );
    let announceGrant: (grant: LoadGrant | undefined) => void = () => undefined;
    const grantReady = new Promise<LoadGrant | undefined>((ready) => (announceGrant = ready));
    let stopping = false;
    const stop = (signal: (typeof STOP_SIGNALS)[number]) => {
      if (stopping) return;
      stopping = true;
      io.stderr(`[load] ${signal}: stopping; removing the run's certificate, policy and cert role\n`);
      // The grant may still be in the making: wait for it (or for its failure, which cleans up itself).
      void grantReady
        .then((grant) => grant?.release() ?? [])
        .then((problems) => {
          for (const p of problems) io.stderr(`[load] ${p}\n`);
          process.exit(128 + constants.signals[signal]);
        });
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
    try {
      const run = runLoad({
        endpoints: origins.map((addr) => ({ addr, caPem })),
        adminToken,
        kvPath: config.kv.path,
        certAuthPath: config.certAuth.path,
        pkiIntPath: config.pki_int.path,
        issuingRole: config.role.name,
        prefix,
        users,
        readsPerWrite,
        concurrency,
        durationMs: durationSeconds * 1000,
        storageDir: storageDir === undefined ? undefined : resolve(storageDir),
        onGrant: announceGrant,
      });
      void run.then(
        () => announceGrant(undefined),
        () => announceGrant(undefined),
      );
      const { report } = await run;
      if (stopping) await new Promise(() => undefined); // the signal handler exits once the grant is gone
      for (const r of report.leftoversRemoved) io.stderr(`[load] removed ${r}, left by a load run that ended without cleaning up\n`);
      for (const p of report.cleanupProblems)
        io.stderr(`[load] ${p}: remove it by hand, or let the next \`load\` or \`deploy\` do it once its certificate expires\n`);
      io.stdout(values.json ? JSON.stringify(report, null, 2) + "\n" : formatLoadReport(report));
      return report.usersWritten === users && report.wrongReads === 0 && report.cleanupProblems.length === 0 ? EXIT.ok : EXIT.failed;
    } finally {
      for (const s of STOP_SIGNALS) process.off(s, stop);
    }
  });
}
