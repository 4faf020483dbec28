import { Deployment } from "../engine/deployment";
import { Command, CommandIo, EXIT, processIo } from "./command";

/**
 * Every command of `c42-keystore`, with the real surroundings: process environment, project directory. Each
 * command's module is loaded when it runs (or for the usage list), so that a command loads only what it uses.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  synth: async () => {
    const { SYNTH, synthMain } = await import("./synth");
    return { spec: SYNTH, main: (argv, io) => synthMain(argv, () => new Deployment(), io) };
  },
  deploy: async () => {
    const { DEPLOY, deployMain } = await import("./deploy");
    return { spec: DEPLOY, main: (argv, io) => deployMain(argv, () => new Deployment({ echo: io }), io) };
  },
  drift: async () => {
    const { DRIFT, driftMain } = await import("./drift");
    return { spec: DRIFT, main: (argv, io) => driftMain(argv, () => new Deployment(), io) };
  },
  plan: async () => {
    const { PLAN, planMain } = await import("./plan");
    return { spec: PLAN, main: (argv, io) => planMain(argv, () => new Deployment(), io) };
  },
  adopt: async () => {
    const { ADOPT, adoptMain } = await import("./adopt");
    return { spec: ADOPT, main: (argv, io) => adoptMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) };
  },
  "apply-plan": async () => {
    const { APPLY_PLAN, applyPlanMain } = await import("./apply-plan");
    return { spec: APPLY_PLAN, main: (argv, io) => applyPlanMain(argv, () => new Deployment({ echo: io }), io) };
  },
  status: async () => {
    const { STATUS, statusMain } = await import("./status");
    return { spec: STATUS, main: (argv, io) => statusMain(argv, () => new Deployment(), io) };
  },
  health: async () => {
    const { HEALTH, healthMain } = await import("./health");
    return { spec: HEALTH, main: (argv, io) => healthMain(argv, (signal) => new Deployment({ signal }), io) };
  },
  rebind: async () => {
    const { REBIND, rebindMain } = await import("./rebind");
    return { spec: REBIND, main: (argv, io) => rebindMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) };
  },
  rotate: async () => {
    const { ROTATE, rotateMain } = await import("./rotate");
    return { spec: ROTATE, main: (argv, io) => rotateMain(argv, () => new Deployment({ echo: { stdout: io.stderr, stderr: io.stderr } }), io) };
  },
  bundle: async () => {
    const { BUNDLE, bundleMain } = await import("./bundle");
    return { spec: BUNDLE, main: (argv, io) => bundleMain(argv, () => new Deployment().outputs(), io) };
  },
  server: async () => {
    const { SERVER, serverMain } = await import("./server");
    return { spec: SERVER, main: serverMain };
  },
  demo: async () => {
    const { DEMO, demoMain } = await import("./demo");
    return { spec: DEMO, main: demoMain };
  },
  load: async () => {
    const { LOAD, loadMain } = await import("./load");
    return { spec: LOAD, main: (argv, io) => loadMain(argv, io) };
  },
  backup: async () => {
    const { BACKUP, backupMain } = await import("./backup");
    return { spec: BACKUP, main: (argv, io) => backupMain(argv, io) };
  },
  "verify-backup": async () => {
    const { VERIFY_BACKUP, verifyBackupMain } = await import("./verify-backup");
    return { spec: VERIFY_BACKUP, main: (argv, io) => verifyBackupMain(argv, io) };
  },
  restore: async () => {
    const { RESTORE, restoreMain } = await import("./restore");
    return { spec: RESTORE, main: (argv, io) => restoreMain(argv, io) };
  },
  destroy: async () => {
    const { DESTROY, destroyMain } = await import("./destroy");
    return { spec: DESTROY, main: (argv, io) => destroyMain(argv, (env) => new Deployment({ echo: io, env }), io) };
  },
  unlock: async () => {
    const { UNLOCK, unlockMain } = await import("./unlock");
    return { spec: UNLOCK, main: (argv, io) => unlockMain(argv, () => new Deployment({ echo: io }), io) };
  },
  "ci-policies": async () => {
    const { CI_POLICIES, ciPoliciesMain } = await import("./ci-policies");
    return { spec: CI_POLICIES, main: (argv, io) => ciPoliciesMain(argv, () => new Deployment().config, io) };
  },
  "migrate-state": async () => {
    const { MIGRATE_STATE, migrateStateMain } = await import("./migrate-state");
    return { spec: MIGRATE_STATE, main: (argv, io) => migrateStateMain(argv, (settings) => new Deployment({ env: { ...process.env, ...settings } }), io) };
  },
};

/** The list of commands, for `c42-keystore --help` and a wrong command name (it loads every command's module). */
export async function cliUsage(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const rows = commands.map(({ spec }) => `  ${`${spec.name} ${spec.synopsis}`.padEnd(36)} ${spec.summary}`);
  return (
    `usage: c42-keystore <command> [options]   (npm run <command> -- [options])\n\n${rows.join("\n")}\n\n` +
    "Run `c42-keystore <command> --help` for a command's options.\n" +
    `Exit codes: ${EXIT.ok} done, ${EXIT.failed} failed or refused, ${EXIT.usage} wrong command line (drift: 2 also means drift found).\n`
  );
}

/** Runs one command; resolves to its exit code. */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  const load = name === undefined ? undefined : COMMANDS[name];
  if (load) return (await load()).main(args, io);
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout(await cliUsage());
    return EXIT.ok;
  }
  io.stderr(`${name === undefined ? "c42-keystore: expected a command" : `c42-keystore: unknown command ${JSON.stringify(name)}`}\n${await cliUsage()}`);
  return EXIT.usage;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
