import { Deployment } from "../engine/deployment";
import { formatDriftReport } from "../engine/drift-report";
import { constructPaths } from "../engine/synthesized";
import { checkDrift } from "../lifecycle/drift";
import { CommandIo, CommandSpec, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

export const DRIFT: CommandSpec<{ json: { type: "boolean"; default: false } }> = {
  name: "drift",
  synopsis: "[--json]",
  summary: "compare Vault with the configuration; exit 0 in sync, 2 on drift, 1 on error",
  details: `  Compares Vault with the configuration without changing either, and names every
  cert role other than certRole.name (and its -next twin) that accepts the admin
  certificate: Code42's nameless login could land there. Such a role is reported
  ("shadow: …", with what to do) and never removed or repaired, since Code42 may
  have made it; listing the roles takes list and read on auth/<certAuth.path>/certs.
  Exit 0 in sync, 2 on drift (\`npm run deploy\` repairs it) or a shadowing role,
  1 on error (2 also for a wrong command line, which prints this usage and nothing on stdout).
  --json  print {"inSync": bool, "drifted": [{"address", "actions", "attributes"}],
          "shadowing": [{"role", "policies", "accepts", "advice"}] (only when there is one)}
`,
  options: { json: { type: "boolean", default: false } },
};

/** The `drift` command: resolves to 0 in sync, 2 on drift, 1 on error. */
export function driftMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(DRIFT, argv, io, async ({ values }) => {
    const deployment = await preflighted(makeDeployment(), "read");
    const report = await checkDrift(deployment);
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDriftReport(report, constructPaths(deployment.stackDir)));
    return report.inSync ? 0 : 2;
  });
}
