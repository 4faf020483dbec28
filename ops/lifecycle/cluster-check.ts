import { existsSync } from "node:fs";
import { Deployment } from "../engine/deployment";
import { otherClusterRefusal, readClusterIdentity } from "../vault/cluster-identity";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { PreflightError } from "../vault/preflight";

/**
 * Refuses, in one line naming both clusters, when VAULT_ADDR answers as
 * another Vault cluster than the one the state records: a refresh there would
 * drop from the state everything that server lacks, the admin key among it.
 * Reads the state (a local plain file directly, else `state pull`, which
 * neither refreshes nor writes it) before any plan or apply, and tells the
 * deployment the cluster, so that its next apply records its id and name. A
 * state that records no cluster yet is bound by its next apply.
 */
export async function assertStateCluster(deployment: Deployment): Promise<void> {
  const env = deployment.env;
  const live = await readClusterIdentity(endpointFromEnv(env), vaultToken(env));
  deployment.useCluster(live);
  // A local state that does not exist yet records no cluster, and reading it (init) would create the state
  // directory: `adopt --inspect` and a refused adopt must write nothing.
  if (deployment.config.backend.type === "local" && !existsSync(deployment.stateFile)) return;
  const refusal = otherClusterRefusal(env.VAULT_ADDR ?? "", live, await deployment.recordedCluster(), deployment.stateWhere);
  if (refusal) throw new PreflightError(refusal);
}
