import { resolve } from "node:path";
import { DEFAULT_PLAN_FILE } from "../common/paths";
import { assertOwnTarget } from "../common/private-files";
import { Deployment } from "../engine/deployment";
import { writeSavedPlan } from "../lifecycle/saved-plans";
import { CommandIo, CommandSpec, EXIT, nonEmptyPath, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

export const PLAN: CommandSpec<{ out: { type: "string" } }> = {
  name: "plan",
  synopsis: "[--out FILE]",
  summary: `write a saved plan (default ${DEFAULT_PLAN_FILE}, 0600: it holds secrets)`,
  details: `  Synthesizes, inits the engine and writes a saved plan
  (default ${DEFAULT_PLAN_FILE}). The file is created 0600; a missing directory is
  created 0700, an existing one is used as it is (never chmodded). The plan embeds
  the state, private keys included: keep it private and short-lived. Changes
  neither Vault nor the state.
`,
  options: { out: { type: "string" } },
};

/** The `plan` command: resolves to 0 when the plan is written, 1 on error. */
export function planMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(PLAN, argv, io, async ({ values }) => {
    const out = resolve(process.cwd(), nonEmptyPath("--out", values.out) ?? DEFAULT_PLAN_FILE);
    // A file name that cannot be written is refused before the server is asked anything.
    assertOwnTarget(out, "plan --out");
    const deployment = await preflighted(makeDeployment(), "read");
    await deployment.requireState();
    const summary = await writeSavedPlan(deployment, out);
    io.stdout(`wrote ${out} (0600; it holds secrets)\n${summary}apply exactly this plan with: npm run apply-plan -- ${out}\n`);
    return EXIT.ok;
  });
}
