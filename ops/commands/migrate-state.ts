import { Deployment } from "../engine/deployment";
import { describeLocation } from "../engine/state-location";
import { migrateState } from "../lifecycle/migrate-state";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";

export const MIGRATE_STATE: CommandSpec<{ fresh: { type: "boolean"; default: false } }> = {
  name: "migrate-state",
  synopsis: "[--fresh]",
  summary: "move the state to where the configuration now puts it (stateDir, backend.*), with a backup",
  details: `  After a change of where the state lives (stateDir/C42_STATE_DIR, backend.type,
  a backend option), deploy and the other commands stop and name this command.
  It keeps a 0600 copy of the old state in .local/state-backups/ first, moves the
  state with the engine's init -migrate-state -force-copy, and checks that the new
  location holds as many resources. The old location is left as it was. Refused,
  with nothing changed, when the new location already holds a state. The old
  location's credentials (PG_CONN_STR, AWS_*, ...) must still be in the environment.
  With C42_STATE_PASSPHRASE set on a state that is not encrypted yet, it also
  encrypts it (a local state in place, any on its way to a new location).
  --fresh  do not move the old state: start with none at the new location. That
           state knows nothing of the objects already in Vault (mounts, CAs, keys):
           the next deploy tries to create them again and fails where they exist.
`,
  options: { fresh: { type: "boolean", default: false } },
};

/**
 * The `migrate-state` command; `makeDeployment` builds the deployment with
 * `settings` (C42_* variables) over the environment's.
 */
export function migrateStateMain(argv: readonly string[], makeDeployment: (settings: Record<string, string>) => Deployment, io: CommandIo): Promise<number> {
  return runCommand(MIGRATE_STATE, argv, io, async ({ values }) => {
    let deployment = makeDeployment({});
    const e = deployment.config.stateEncryption;
    // Reading a plain state with a passphrase set needs the plain fallback; what is written is encrypted all the same.
    if (e.enabled && !e.rotating && !e.migrateFromPlain) deployment = makeDeployment({ C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true" });
    const r = await migrateState(deployment, { fresh: values.fresh });
    const plain = r.backupInPlainText ? ", in plain text although the state is encrypted: delete it once the new location is checked" : "";
    const backup = r.backup ? `the old state is backed up in ${r.backup} (0600${plain})` : "the old location held no state, so there is no backup";
    if (r.encryptedInPlace) {
      io.stdout(`encrypted the state at ${describeLocation(r.to)} (${r.resources} resources); ${backup}\n`);
    } else if (r.fresh) {
      io.stdout(
        `the state is now at ${describeLocation(r.to)}, started fresh (${r.resources} resources there); ${backup}. ` +
          `The ${r.oldResources} resources the old state tracked are still in Vault, unknown to this state: the next deploy tries to create them again\n`,
      );
    } else {
      io.stdout(
        `moved the state from ${describeLocation(r.from)} to ${describeLocation(r.to)} (${r.resources} resources); ${backup}. ` +
          "The old location is left as it was: remove it once you have checked the new one (it holds the admin private key)\n",
      );
    }
    return EXIT.ok;
  });
}
