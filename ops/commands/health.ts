import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { KeystoreValidationError } from "../../lib/errors";
import { parseDuration } from "../../lib/duration";
import { P12_FILE, PASSWORD_FILE } from "../bundle/bundle";
import { errorMessage } from "../common/errors";
import { assertFileTarget } from "../common/private-files";
import { DEFAULT_BUNDLE_DIR } from "../common/paths";
import { Deployment } from "../engine/deployment";
import { ProbeContext } from "../health/checks";
import { formatHuman, formatJson, formatPrometheus } from "../health/format";
import { runProbe } from "../health/probe";
import { HealthReport, NAGIOS_EXIT } from "../health/report";
import { writeAtomically } from "../health/textfile";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { DEFAULT_BACKUP_DIR } from "./backup";
import { CommandIo, CommandSpec, UsageError, nonEmptyPath, runCommand } from "./command";

const FORMATS: Readonly<Record<string, (report: HealthReport) => string>> = { human: formatHuman, json: formatJson, prometheus: formatPrometheus };

export const HEALTH: CommandSpec<{
  json: { type: "boolean"; default: false };
  format: { type: "string" };
  out: { type: "string" };
  bundle: { type: "string" };
  p12: { type: "string" };
  "password-file": { type: "string" };
  backups: { type: "string" };
  drift: { type: "boolean"; default: false };
}> = {
  name: "health",
  synopsis: "[--json | --format human|json|prometheus] [--out FILE] [--bundle DIR | --p12 FILE --password-file FILE] [--backups DIR] [--drift]",
  summary: "can Code42 use the keystore now? TLS, seal, raft, audit, a real login; Nagios exit codes",
  details: `  Runs every check at once, each bounded by health.checkTimeout (10s): the
  server's TLS certificate (trusted by VAULT_CACERT, days left), initialised /
  unsealed / active node, raft voters and failure tolerance, an audit device,
  a real mTLS login with crashplan.p12 (revoked again) and the admin
  certificate's days left. sys/audit and the raft state need VAULT_TOKEN;
  without it they are UNKNOWN. Certificates: WARN inside health.certWarnBefore
  (30d), CRIT inside health.certCritBefore (7d).
  --json                 the report as JSON (same as --format json)
  --format FORMAT        human (default), json, or prometheus (textfile-collector format)
  --out FILE             write the output to FILE atomically (0644: it holds no secret)
                         and print only the first line
  --bundle DIR           directory of ${P12_FILE} and ${PASSWORD_FILE} (default ${DEFAULT_BUNDLE_DIR})
  --p12 FILE             the bundle itself (default DIR/${P12_FILE})
  --password-file FILE   its password file (default DIR/${PASSWORD_FILE}, or FILE.password with --p12 FILE)
  --backups DIR          grade the newest backup there: WARN past health.backupMaxAge (26h)
                         (default ${DEFAULT_BACKUP_DIR}, checked only when it exists)
  --drift                also run the drift check (needs the state and a token that may plan;
                         bounded by health.driftTimeout, 10m)
  Exit codes (Nagios): 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (also: the probe could not run,
  e.g. a configuration error); 2 also for a wrong command line, with this usage.
`,
  options: {
    json: { type: "boolean", default: false },
    format: { type: "string" },
    out: { type: "string" },
    bundle: { type: "string" },
    p12: { type: "string" },
    "password-file": { type: "string" },
    backups: { type: "string" },
    drift: { type: "boolean", default: false },
  },
};

/**
 * The `health` command. `makeDeployment` gives the configuration and the
 * Vault connection; with `--drift` it is called again with a signal that
 * stops the engine. Resolves to the Nagios exit code.
 */
export function healthMain(
  argv: readonly string[],
  makeDeployment: (signal?: AbortSignal) => Deployment,
  io: CommandIo,
  now: () => Date = () => new Date(),
): Promise<number> {
  return runCommand(HEALTH, argv, io, async ({ values }) => {
    const format = values.format ?? (values.json ? "json" : "human");
    if (!(format in FORMATS)) throw new UsageError(`--format: ${JSON.stringify(format)} is not a format; expected human, json or prometheus`);
    if (values.json && format !== "json") throw new UsageError(`--json cannot be combined with --format ${format}; give one of them`);
    const dir = nonEmptyPath("--bundle", values.bundle) ?? DEFAULT_BUNDLE_DIR;
    const p12File = resolve(nonEmptyPath("--p12", values.p12) ?? join(dir, P12_FILE));
    // Beside the bundle, as `bundle` writes it: DIR/crashplan.p12.password, or FILE.password for --p12 FILE.
    const passwordFile = resolve(nonEmptyPath("--password-file", values["password-file"]) ?? (values.p12 ? `${p12File}.password` : join(dir, PASSWORD_FILE)));
    const out = nonEmptyPath("--out", values.out);
    const backupsOption = nonEmptyPath("--backups", values.backups);
    // The default directory is checked only when it exists: backups may well be taken on another host.
    const backupsDir = backupsOption !== undefined ? resolve(backupsOption) : existsSync(DEFAULT_BACKUP_DIR) ? DEFAULT_BACKUP_DIR : undefined;

    if (out !== undefined) {
      // Before the probe runs: a FIFO, a device or a directory at --out is refused, never replaced.
      try {
        assertFileTarget(resolve(out), "health --out");
      } catch (e) {
        io.stderr(`health: ${errorMessage(e)}\n`);
        io.stdout(`KEYSTORE UNKNOWN - the probe did not run: ${errorMessage(e)}\n`);
        return NAGIOS_EXIT.UNKNOWN;
      }
    }

    let context: ProbeContext;
    let driftTimeoutMs: number;
    let backupMaxAgeSeconds: number;
    try {
      const deployment = makeDeployment();
      const health = deployment.config.health;
      context = {
        endpoint: endpointFromEnv(deployment.env),
        adminToken: optionalToken(deployment.env),
        config: deployment.config,
        p12File,
        passwordFile,
        warnSeconds: parseDuration("health.certWarnBefore", health.certWarnBefore),
        critSeconds: parseDuration("health.certCritBefore", health.certCritBefore),
        checkTimeoutMs: parseDuration("health.checkTimeout", health.checkTimeout) * 1000,
        now,
      };
      driftTimeoutMs = parseDuration("health.driftTimeout", health.driftTimeout) * 1000;
      backupMaxAgeSeconds = parseDuration("health.backupMaxAge", health.backupMaxAge);
    } catch (e) {
      // A probe that cannot run reports UNKNOWN, as monitoring systems expect, not a failure of the keystore.
      io.stderr(`health: ${e instanceof KeystoreValidationError ? "configuration error: " : ""}${errorMessage(e)}\n`);
      io.stdout(`KEYSTORE UNKNOWN - the probe could not run: ${errorMessage(e)}\n`);
      return NAGIOS_EXIT.UNKNOWN;
    }

    const report = await runProbe({
      context,
      backups: backupsDir === undefined ? undefined : { dir: backupsDir, maxAgeSeconds: backupMaxAgeSeconds, now },
      drift: values.drift ? { makeDeployment: (signal) => makeDeployment(signal), timeoutMs: driftTimeoutMs } : undefined,
    });
    const text = FORMATS[format](report);
    if (out === undefined) {
      io.stdout(text);
    } else {
      try {
        await writeAtomically(resolve(out), text);
      } catch (e) {
        io.stderr(`health: cannot write ${resolve(out)}: ${errorMessage(e)}\n`);
        return NAGIOS_EXIT.UNKNOWN;
      }
      io.stdout(`${formatHuman(report).split("\n")[0]} (wrote ${resolve(out)})\n`);
    }
    return report.exitCode;
  });
}

/** The admin token when one is set; the probe runs without one. */
function optionalToken(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return vaultToken(env);
  } catch {
    return undefined;
  }
}
