import { Deployment } from "../engine/deployment";
import { RotationOutcome, abortRotation, finishRotation, startRotation } from "../lifecycle/rotation";
import { CommandIo, CommandSpec, EXIT, UsageError, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

const STEPS = { start: startRotation, finish: finishRotation, abort: abortRotation } as const;

export const ROTATE: CommandSpec<{ json: { type: "boolean"; default: false } }> = {
  name: "rotate",
  synopsis: "start|finish|abort [--json]",
  summary: "replace the admin certificate with no outage: start, upload the new bundle, finish",
  details: `  start   issue the next admin certificate and a second login role (<certRole.name>-next,
          same policies and TTL) that lets it log in; the current certificate keeps working.
          Then \`npm run bundle\` writes the next certificate's crashplan.p12: upload it to Code42.
          A second start issues nothing new.
  finish  after the upload: <certRole.name> pins the new certificate, the old one is revoked
          and stops logging in, the second role goes. The new certificate logs in throughout.
  abort   drop the next certificate (revoked, its role removed); the current one is untouched.
  --json  print {"done", "message", "view": {"phase", "inProgress", "current", "next"}}
  The engine's progress goes to stderr; stdout has only the result.
  Exit 0 done, 1 refused (finish or abort with no rotation in progress, abort once finish has
  begun) or failed; \`npm run status\` shows where a rotation stands. A deploy inside the renewal
  window starts a rotation by itself (adminCert.rotation two-phase) but never finishes one.
`,
  options: { json: { type: "boolean", default: false } },
  positionals: ["action"],
};

/** The `rotate` command. */
export function rotateMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(ROTATE, argv, io, async ({ values, positionals }) => {
    const action = positionals[0];
    if (action === undefined) throw new UsageError("expected an action: start, finish or abort");
    if (!Object.hasOwn(STEPS, action)) throw new UsageError(`unknown action ${JSON.stringify(action)}; expected start, finish or abort`);
    const outcome: RotationOutcome = await STEPS[action as keyof typeof STEPS](await preflighted(makeDeployment(), "write"));
    if (values.json) io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
    else (outcome.done ? io.stdout : io.stderr)(outcome.message.replace(/^/, outcome.done ? "" : "rotate: "));
    return outcome.done ? EXIT.ok : EXIT.failed;
  });
}
