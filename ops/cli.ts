import { parseArgs } from "node:util";
import { KeystoreValidationError } from "../lib";
import { Deployment } from "./deployment";

/** One subcommand: its usage line and what it does. */
interface Command {
  readonly usage: string;
  readonly run: (args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  synth: {
    usage: "synth                      validate the configuration and write cdktf.out/stacks/keystore/cdk.tf.json",
    run: async () => {
      const file = new Deployment().synth();
      process.stdout.write(`synthesized ${file}\n`);
      return 0;
    },
  },
  deploy: {
    usage: "deploy                     synthesize, init against the provider mirror and apply (non-interactive)",
    run: async () => {
      const deployment = new Deployment({ echo: true });
      await deployment.apply();
      process.stdout.write(`deployed to ${deployment.env.VAULT_ADDR}; state in ${deployment.stateFile}\n`);
      return 0;
    },
  },
  destroy: {
    usage: "destroy [--including-root-ca]  remove everything the stack created; the root CA only with the flag",
    run: async (args) => {
      const { values } = parseArgs({ args, options: { "including-root-ca": { type: "boolean", default: false } } });
      const env = { ...process.env };
      if (values["including-root-ca"]) env.C42_ROOT_CA_PREVENT_DESTROY = "false";
      const deployment = new Deployment({ echo: true, env });
      if (deployment.config.rootCa.preventDestroy) {
        process.stderr.write(
          "refusing to destroy: the root CA and its mount are protected (rootCa.preventDestroy).\n" +
            "Destroying them invalidates every certificate they signed, including the one Code42 logs in with.\n" +
            "Run `npm run destroy -- --including-root-ca` if that is what you want.\n",
        );
        return 1;
      }
      await deployment.destroy();
      process.stdout.write("destroyed\n");
      return 0;
    },
  },
};

function usage(): string {
  return "usage: ts-node ops/cli.ts <command> [options]\n\n" + Object.values(COMMANDS).map((c) => `  ${c.usage}`).join("\n") + "\n";
}

/** Runs one command; returns the exit code. Errors are printed without stack traces. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(usage());
    return name === "help" || name === "--help" ? 0 : 1;
  }
  try {
    return await command.run(args);
  } catch (e) {
    const prefix = e instanceof KeystoreValidationError ? "configuration error" : "error";
    process.stderr.write(`${prefix}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
