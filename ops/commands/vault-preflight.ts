import { Deployment } from "../engine/deployment";
import { otherClusterRefusal, readClusterIdentity } from "../vault/cluster-identity";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { PreflightError, PreflightKind, capabilityNeeds, preflight } from "../vault/preflight";

/**
 * Runs the Vault preflight (server reachable, VAULT_CACERT, VAULT_TOKEN and its
 * capabilities) for a command that drives the engine against the server, then
 * checks that the server belongs to the cluster the state was made on (see
 * {@link assertStateCluster}), and hands the deployment on. Called before
 * anything starts the engine.
 */
export async function preflighted(deployment: Deployment, kind: PreflightKind): Promise<Deployment> {
  await preflight(deployment.env, capabilityNeeds(deployment.config, kind));
  await assertStateCluster(deployment);
  return deployment;
}

/**
 * Refuses, in one line naming both clusters, when VAULT_ADDR answers as
 * another Vault cluster than the one the state records: a refresh there would
 * drop from the state everything that server lacks, the admin key among it.
 * Reads the state (a local plain file directly, else `state pull`, which
 * neither refreshes nor writes it) before any plan or apply. A state that
 * records no cluster yet is bound by its next apply.
 */
export async function assertStateCluster(deployment: Deployment): Promise<void> {
  const env = deployment.env;
  const live = await readClusterIdentity(endpointFromEnv(env), vaultToken(env));
  deployment.useCluster(live);
  const refusal = otherClusterRefusal(env.VAULT_ADDR ?? "", live, await deployment.recordedCluster(), deployment.stateWhere);
  if (refusal) throw new PreflightError(refusal);
}
