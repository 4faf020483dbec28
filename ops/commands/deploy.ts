import { Deployment } from "../engine/deployment";
import { deploy } from "../lifecycle/deploy";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

export const DEPLOY: CommandSpec<Record<string, never>> = {
  name: "deploy",
  synopsis: "",
  summary: "synthesize, init the engine (OpenTofu or Terraform) and apply (non-interactive)",
  details: `  Synthesizes, inits the engine (the setting \`engine\`; providers from your CLI
  configuration, the toolchain's mirror or the registry), writes back through the Vault
  API what the provider cannot see (the cert auth tune), then applies. Takes no
  options: for a reviewed change use \`plan\` and \`apply-plan\`.
  Inside the admin certificate's renewal window it starts a rotation (issues the
  next certificate beside the current one; see \`rotate\`), never finishes one.
  After a deploy that was interrupted (its engine killed), it takes over what
  that run made in Vault, as \`adopt\` does; objects the state does not record
  and no interrupted run made are refused (run \`adopt\`). Before any CA step
  it checks that the mount holds no issuer yet. Last, it removes the cert roles
  and policies an \`npm run load\` killed by SIGKILL left behind (named
  c42-keystore-load-<12 hex>, with a load run's contents; nothing else).
`,
  options: {},
};

/** The `deploy` command. */
export function deployMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(DEPLOY, argv, io, async () => {
    const deployment = await preflighted(makeDeployment(), "write");
    const engineSwitch = deployment.engineSwitch();
    if (engineSwitch) io.stderr(`${engineSwitch}\n`);
    const { repaired, startedRotation, recovery, loadLeftovers } = await deploy(deployment);
    if (recovery.tookOver.length > 0) {
      io.stderr(
        `deploy: the deploy interrupted at ${recovery.interrupted?.startedAt ?? "an earlier time"} had made ${recovery.tookOver.join(", ")} without recording them; ` +
          "took them over as `npm run adopt` does (imported; its CAs used as they are, none made again) and issued a new admin certificate (the one it had issued died with its key)\n",
      );
    }
    for (const r of loadLeftovers.removed) io.stderr(`deploy: removed ${r}, left by an \`npm run load\` that ended without cleaning up\n`);
    for (const s of loadLeftovers.skipped) io.stderr(`deploy: note: ${s}\n`);
    for (const r of repaired) io.stderr(`deploy: ${r.address}: ${r.attribute} differed in Vault; wrote the configured value through the API\n`);
    const backend = deployment.config.backend.type;
    const state = backend === "local" ? deployment.stateFile : `the ${backend} backend`;
    io.stdout(`deployed to ${deployment.env.VAULT_ADDR}; state in ${state}\n${deployment.describeEngine()}\n`);
    if (startedRotation) {
      io.stdout(
        `started a rotation: the current admin certificate ${startedRotation.currentSerial} expires ${startedRotation.currentNotAfter}, inside the renewal window; ` +
          "it keeps working and the next one is issued beside it. `npm run bundle` writes the next bundle: upload it to Code42, then run `npm run rotate -- finish`\n",
      );
    }
    return EXIT.ok;
  });
}
