import { Deployment } from "../engine/deployment";
import { ADOPT, adoptMain } from "./adopt";
import { APPLY_PLAN, applyPlanMain } from "./apply-plan";
import { BACKUP, backupMain } from "./backup";
import { BUNDLE, bundleMain } from "./bundle";
import { CI_POLICIES, ciPoliciesMain } from "./ci-policies";
import { Command, CommandIo, EXIT, processIo } from "./command";
import { DEMO, demoMain } from "./demo";
import { DEPLOY, deployMain } from "./deploy";
import { DESTROY, destroyMain } from "./destroy";
import { UNLOCK, unlockMain } from "./unlock";
import { DRIFT, driftMain } from "./drift";
import { LOAD, loadMain } from "./load";
import { MIGRATE_STATE, migrateStateMain } from "./migrate-state";
import { HEALTH, healthMain } from "./health";
import { PLAN, planMain } from "./plan";
import { REBIND, rebindMain } from "./rebind";
import { RESTORE, restoreMain } from "./restore";
import { ROTATE, rotateMain } from "./rotate";
import { SERVER, serverMain } from "./server";
import { STATUS, statusMain } from "./status";
import { SYNTH, synthMain } from "./synth";
import { VERIFY_BACKUP, verifyBackupMain } from "./verify-backup";

/** Every command of `c42-keystore`, with the real surroundings: process environment, project directory. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  synth: { spec: SYNTH, main: (argv, io) => synthMain(argv, () => new Deployment(), io) },
  deploy: { spec: DEPLOY, main: (argv, io) => deployMain(argv, () => new Deployment({ echo: io }), io) },
  drift: { spec: DRIFT, main: (argv, io) => driftMain(argv, () => new Deployment(), io) },
  plan: { spec: PLAN, main: (argv, io) => planMain(argv, () => new Deployment(), io) },
  adopt: { spec: ADOPT, main: (argv, io) => adoptMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) },
  "apply-plan": { spec: APPLY_PLAN, main: (argv, io) => applyPlanMain(argv, () => new Deployment({ echo: io }), io) },
  status: { spec: STATUS, main: (argv, io) => statusMain(argv, () => new Deployment(), io) },
  health: { spec: HEALTH, main: (argv, io) => healthMain(argv, (signal) => new Deployment({ signal }), io) },
  rebind: { spec: REBIND, main: (argv, io) => rebindMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) },
  rotate: { spec: ROTATE, main: (argv, io) => rotateMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) },
  bundle: { spec: BUNDLE, main: (argv, io) => bundleMain(argv, () => new Deployment().outputs(), io) },
  server: { spec: SERVER, main: serverMain },
  demo: { spec: DEMO, main: demoMain },
  load: { spec: LOAD, main: (argv, io) => loadMain(argv, io) },
  backup: { spec: BACKUP, main: (argv, io) => backupMain(argv, io) },
  "verify-backup": { spec: VERIFY_BACKUP, main: (argv, io) => verifyBackupMain(argv, io) },
  restore: { spec: RESTORE, main: (argv, io) => restoreMain(argv, io) },
  destroy: { spec: DESTROY, main: (argv, io) => destroyMain(argv, (env) => new Deployment({ echo: io, env }), io) },
  unlock: { spec: UNLOCK, main: (argv, io) => unlockMain(argv, () => new Deployment({ echo: io }), io) },
  "ci-policies": { spec: CI_POLICIES, main: (argv, io) => ciPoliciesMain(argv, () => new Deployment().config, io) },
  "migrate-state": {
    spec: MIGRATE_STATE,
    main: (argv, io) => migrateStateMain(argv, (settings) => new Deployment({ env: { ...process.env, ...settings } }), io),
  },
};

/** The list of commands, for `c42-keystore --help` and a wrong command name. */
export function cliUsage(): string {
  const rows = Object.values(COMMANDS).map(({ spec }) => `  ${`${spec.name} ${spec.synopsis}`.padEnd(36)} ${spec.summary}`);
  return (
    `usage: c42-keystore <command> [options]   (npm run <command> -- [options])\n\n${rows.join("\n")}\n\n` +
    "Run `c42-keystore <command> --help` for a command's options.\n" +
    `Exit codes: ${EXIT.ok} done, ${EXIT.failed} failed or refused, ${EXIT.usage} wrong command line (drift: 2 also means drift found).\n`
  );
}

/** Runs one command; resolves to its exit code. */
export function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command) return command.main(args, io);
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout(cliUsage());
    return Promise.resolve(EXIT.ok);
  }
  io.stderr(`${name === undefined ? "c42-keystore: expected a command" : `c42-keystore: unknown command ${JSON.stringify(name)}`}\n${cliUsage()}`);
  return Promise.resolve(EXIT.usage);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
