import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../../lib/config";
import { P12_FILE, PASSWORD_FILE } from "../bundle/bundle";
import { readPkcs12 } from "../bundle/pkcs12";
import { DEFAULT_BUNDLE_DIR } from "../common/paths";
import { LOAD_BOUNDS, checkLoadAddress, formatLoadReport, runLoad } from "../load/load";
import { CommandIo, CommandSpec, EXIT, UsageError, asUsage, nonEmptyPath, runCommand, wholeNumber } from "./command";

const DEFAULTS = { users: 200, readsPerWrite: 10, concurrency: 8, durationSeconds: 60, prefix: "c42-load" } as const;
const b = LOAD_BOUNDS;

const OPTIONS = {
  addr: { type: "string", multiple: true },
  ca: { type: "string" },
  bundle: { type: "string" },
  "password-file": { type: "string" },
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
  details: `  Acts as Code42 does: logs in with the PKCS#12 bundle through the deployed cert role (the
  admin token, crashplanPolicy), writes a policy for <kv.path>/<prefix>/* and a cert role for
  the bundle's certificate (<prefix>-keys, <prefix>-client, 60 s tokens), logs in through it,
  and logs in again before each token runs out. Then N users each get a fresh 256-bit archive
  key as a small JSON document in kv v1 (<kv.path>/<prefix>/<run id>/user-NNNNNN), written
  once and read back; every read checks the value. Reports throughput, p50/p95/p99 latency
  per operation, errors by cause, the longest gap between acknowledged writes, and the raft
  storage growth per user. Writes stay in Vault (each run under its own run id).
  --addr URL            a node's address; repeat for a cluster: requests go to one node and
                        move to the next when it stops answering (default VAULT_ADDR).
                        Must be https on a loopback host (127.x.x.x, ::1, localhost)
  --allow-remote        accept addresses that are not loopback: only for a server you run
  --ca FILE             CA of the servers' certificates (default VAULT_CACERT)
  --bundle FILE         the PKCS#12 bundle (default ${DEFAULT_BUNDLE_DIR}/${P12_FILE})
  --password-file FILE  its password (default: the bundle's ${PASSWORD_FILE} next to it)
  --users N             simulated Code42 users, one key each (default ${DEFAULTS.users}, ${b.users.min}..${b.users.max})
  --reads-per-write N   reads of written keys after each write: the mix (default ${DEFAULTS.readsPerWrite}, ${b.readsPerWrite.min}..${b.readsPerWrite.max})
  --concurrency N       requests in flight (default ${DEFAULTS.concurrency}, ${b.concurrency.min}..${b.concurrency.max})
  --duration S          stop after S seconds even if users remain (default ${DEFAULTS.durationSeconds}, ${b.durationSeconds.min}..${b.durationSeconds.max})
  --prefix NAME         kv sub-path and name of the policy and role it writes (default ${DEFAULTS.prefix})
  --storage-dir DIR     a raft data directory of the target (a local server's DIR/data, a
                        cluster's DIR/node-1/data) to measure bytes per user (default: not measured)
  --json                print the report as JSON
  Exit 0 when every key was written and every read matched; 1 otherwise (the report says why).
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

/** The `load` command. */
export function loadMain(argv: readonly string[], io: CommandIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommand(LOAD, argv, io, async ({ values }) => {
    const users = count("--users", values.users, DEFAULTS.users, b.users);
    const readsPerWrite = count("--reads-per-write", values["reads-per-write"], DEFAULTS.readsPerWrite, b.readsPerWrite);
    const concurrency = count("--concurrency", values.concurrency, DEFAULTS.concurrency, b.concurrency);
    const durationSeconds = count("--duration", values.duration, DEFAULTS.durationSeconds, b.durationSeconds);
    const prefix = values.prefix ?? DEFAULTS.prefix;
    if (!/^[a-z0-9][a-z0-9-]{0,47}$/.test(prefix))
      throw new UsageError(`--prefix: ${JSON.stringify(prefix)} is not a name; expected lower-case letters, digits and -, at most 48`);
    const addrs = values.addr ?? (env.VAULT_ADDR ? [env.VAULT_ADDR] : []);
    if (addrs.length === 0) throw new UsageError("--addr: no address; give --addr or set VAULT_ADDR");
    const origins = addrs.map((a) => asUsage(() => checkLoadAddress(values.addr ? "--addr" : "VAULT_ADDR", a, values["allow-remote"])));
    const caFile = nonEmptyPath("--ca", values.ca) ?? env.VAULT_CACERT;
    const bundle = resolve(nonEmptyPath("--bundle", values.bundle) ?? `${DEFAULT_BUNDLE_DIR}/${P12_FILE}`);
    const passwordFile = resolve(nonEmptyPath("--password-file", values["password-file"]) ?? resolve(bundle, "..", PASSWORD_FILE));
    const storageDir = nonEmptyPath("--storage-dir", values["storage-dir"]);
    if (storageDir !== undefined) existing("--storage-dir", join(resolve(storageDir), "vault.db"), "give a raft data directory (a local server's DIR/data)");

    const config = loadConfig({ env });
    const caPem = caFile ? readFileSync(existing(values.ca ? "--ca" : "VAULT_CACERT", caFile, "the PEM file of the servers' CA"), "utf8") : undefined;
    const pfx = readFileSync(existing("--bundle", bundle, "write it with npm run bundle"));
    const passphrase = readFileSync(existing("--password-file", passwordFile, "npm run bundle writes it next to the bundle"), "utf8").trimEnd();
    const contents = await readPkcs12(pfx, passphrase);
    io.stderr(
      `[load] ${users} users, ${readsPerWrite} reads per write, concurrency ${concurrency}, at most ${durationSeconds} s, against ${origins.join(", ")}\n`,
    );
    const { report } = await runLoad({
      endpoints: origins.map((addr) => ({ addr, caPem })),
      identity: { pfx, passphrase },
      certificatePem: contents.certificatePem,
      kvPath: config.kv.path,
      certAuthPath: config.certAuth.path,
      adminRole: config.certRole.name,
      prefix,
      users,
      readsPerWrite,
      concurrency,
      durationMs: durationSeconds * 1000,
      storageDir: storageDir === undefined ? undefined : resolve(storageDir),
    });
    io.stdout(values.json ? JSON.stringify(report, null, 2) + "\n" : formatLoadReport(report));
    return report.usersWritten === users && report.wrongReads === 0 ? EXIT.ok : EXIT.failed;
  });
}
