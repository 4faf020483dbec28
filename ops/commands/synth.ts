import { Deployment } from "../engine/deployment";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";

export const SYNTH: CommandSpec<Record<string, never>> = {
  name: "synth",
  synopsis: "",
  summary: "validate the configuration and write cdktf.out/stacks/keystore/cdk.tf.json",
  details: "  Validates every setting, then synthesizes the stack. Touches neither Vault nor the state.\n",
  options: {},
};

/** The `synth` command. */
export function synthMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(SYNTH, argv, io, async () => {
    const deployment = makeDeployment();
    await deployment.holdLock();
    io.stdout(`synthesized ${deployment.synth()}\n`);
    return EXIT.ok;
  });
}
