import { Deployment } from "../engine/deployment";
import { PreflightKind, capabilityNeeds, preflight } from "../vault/preflight";

/**
 * Runs the Vault preflight (server reachable, VAULT_CACERT, VAULT_TOKEN and its
 * capabilities) for a command that drives the engine against the server, then
 * hands the deployment on. Called before anything starts the engine.
 */
export async function preflighted(deployment: Deployment, kind: PreflightKind): Promise<Deployment> {
  await preflight(deployment.env, capabilityNeeds(deployment.config, kind));
  return deployment;
}
