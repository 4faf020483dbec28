import { describeCluster } from "../../lib/cluster-identity-record";
import { Deployment } from "../engine/deployment";
import { rebind } from "../lifecycle/rebind";
import { readClusterIdentity } from "../vault/cluster-identity";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { capabilityNeeds, preflight } from "../vault/preflight";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";

export const REBIND: CommandSpec<Record<string, never>> = {
  name: "rebind",
  synopsis: "",
  summary: "bind the state to the Vault cluster at VAULT_ADDR (after a disaster restore into a new server)",
  details: `  Every command refuses a server of another cluster than the one the state was
  made on. After a disaster restore of the keystore into a server that answers as
  another cluster, this binds the state to it: it plans a refresh (nothing is
  written), refuses when the server lacks any object the state records (then it is
  not a restore of this keystore, and a refresh would drop them from the state),
  and otherwise applies exactly that refresh, which records the new cluster.
  Vault is only read. Exit 0 also when the state belongs to that cluster already.
`,
  options: {},
};

/** The `rebind` command. */
export function rebindMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(REBIND, argv, io, async () => {
    const deployment = makeDeployment();
    await preflight(deployment.env, capabilityNeeds(deployment.config, "read"));
    const live = await readClusterIdentity(endpointFromEnv(deployment.env), vaultToken(deployment.env));
    const outcome = await rebind(deployment, live);
    io.stdout(
      outcome.rebound
        ? `the state ${deployment.stateWhere} now belongs to ${describeCluster(outcome.to)} at ${deployment.env.VAULT_ADDR}` +
            `${outcome.from ? ` (it belonged to ${describeCluster(outcome.from)})` : ""}; check it with: npm run drift\n`
        : `the state ${deployment.stateWhere} belongs to ${describeCluster(outcome.to)} at ${deployment.env.VAULT_ADDR} already; nothing to do\n`,
    );
    return EXIT.ok;
  });
}
