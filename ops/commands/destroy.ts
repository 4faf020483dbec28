import { Deployment } from "../engine/deployment";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

export const DESTROY: CommandSpec<{ "including-root-ca": { type: "boolean"; default: false } }> = {
  name: "destroy",
  synopsis: "[--including-root-ca]",
  summary: "remove everything the stack created; the root CA only with the flag",
  details: `  Without the flag, refuses while the root CA is protected (rootCa.preventDestroy).
  --including-root-ca  destroy the root CA and its mount too (invalidates every certificate they signed)
`,
  options: { "including-root-ca": { type: "boolean", default: false } },
};

/** The `destroy` command; `makeDeployment` receives the environment to use. */
export function destroyMain(argv: readonly string[], makeDeployment: (env: NodeJS.ProcessEnv) => Deployment, io: CommandIo): Promise<number> {
  return runCommand(DESTROY, argv, io, async ({ values }) => {
    const env = { ...process.env };
    if (values["including-root-ca"]) env.C42_ROOT_CA_PREVENT_DESTROY = "false";
    const deployment = makeDeployment(env);
    if (deployment.config.rootCa.preventDestroy) {
      io.stderr(
        "destroy: refusing: the root CA and its mount are protected (rootCa.preventDestroy).\n" +
          "Destroying them invalidates every certificate they signed, including the one Code42 logs in with.\n" +
          "Run `npm run destroy -- --including-root-ca` if that is what you want.\n",
      );
      return EXIT.failed;
    }
    await preflighted(deployment, "write");
    await deployment.destroy();
    io.stdout("destroyed\n");
    return EXIT.ok;
  });
}
