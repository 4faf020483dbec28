import { Deployment } from "../engine/deployment";
import { shown } from "../common/secret-values";
import { CommandIo, CommandSpec, EXIT, UsageError, runCommand } from "./command";

export const UNLOCK: CommandSpec<Record<string, never>> = {
  name: "unlock",
  synopsis: "LOCK_ID",
  summary: "release the state lock a crashed run left on a remote backend (the ID its error printed)",
  details: `  Runs the engine's force-unlock for LOCK_ID, the ID that a "another run holds
  the state lock" error printed. Only when no other deploy or plan is running
  against this state: releasing a live run's lock lets two runs write the
  state at once. The local and pg backends release their locks by themselves
  when the holder dies; s3, gcs, azurerm, consul and http may keep them.
`,
  options: {},
  positionals: ["LOCK_ID"],
};

// Lock IDs are UUIDs on most backends and numbers on some; nothing else is passed to the engine.
const LOCK_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The `unlock` command. */
export function unlockMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(UNLOCK, argv, io, async ({ positionals }) => {
    const [id] = positionals;
    if (id === undefined) throw new UsageError("LOCK_ID is missing; give the ID the state lock error printed");
    if (!LOCK_ID.test(id)) throw new UsageError(`LOCK_ID: ${shown(id)} is not a lock ID; expected the ID the state lock error printed, e.g. 9b2c4a1e-…`);
    const deployment = makeDeployment();
    await deployment.ensureInit();
    await deployment.tofuOk(["force-unlock", "-force", "-no-color", id]);
    io.stdout(`released the state lock ${id}\n`);
    return EXIT.ok;
  });
}
