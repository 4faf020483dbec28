import { Deployment } from "../engine/deployment";
import { assertStateCluster } from "../lifecycle/cluster-check";
import { PreflightKind, capabilityNeeds, preflight } from "../vault/preflight";

/**
 * Runs the Vault preflight (server reachable, VAULT_CACERT, VAULT_TOKEN and its
 * capabilities) for a command that drives the engine against the server, then
 * checks that the server belongs to the cluster the state was made on
 * (ops/lifecycle/cluster-check.ts), and hands the deployment on. Called before
 * anything starts a plan or an apply.
 */
export async function preflighted(deployment: Deployment, kind: PreflightKind): Promise<Deployment> {
  await preflight(deployment.env, capabilityNeeds(deployment.config, kind));
  await assertStateCluster(deployment);
  return deployment;
}
