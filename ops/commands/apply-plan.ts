import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_PLAN_FILE } from "../common/paths";
import { Deployment } from "../engine/deployment";
import { applySavedPlan } from "../lifecycle/saved-plans";
import { CommandIo, CommandSpec, EXIT, nonEmptyPath, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

export const APPLY_PLAN: CommandSpec<Record<string, never>> = {
  name: "apply-plan",
  synopsis: "[FILE]",
  summary: "apply exactly a saved plan; refused when the state or the server moved since it was made",
  details: `  Applies exactly a saved plan (default ${DEFAULT_PLAN_FILE}). Refuses a plan
  whose state has moved on (the engine's check) and a plan made before a change
  in Vault (a fresh plan must agree with it). Exit 0 applied, 1 refused or failed.
`,
  options: {},
  positionals: ["FILE"],
};

/** The `apply-plan` command: resolves to 0 when applied, 1 when refused or failed. */
export function applyPlanMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(APPLY_PLAN, argv, io, async ({ positionals }) => {
    const file = resolve(process.cwd(), nonEmptyPath("FILE", positionals[0]) ?? DEFAULT_PLAN_FILE);
    const deployment = makeDeployment();
    // A missing plan file is reported as such (by applySavedPlan) before the server is asked anything.
    if (existsSync(file)) await preflighted(deployment, "write");
    const outcome = await applySavedPlan(deployment, file);
    if (!outcome.applied) {
      io.stderr(`apply-plan: refused: ${outcome.message}\n`);
      return EXIT.failed;
    }
    io.stdout(`applied ${file}\n`);
    return EXIT.ok;
  });
}
