import { probeBlindSpots, repairBlindSpots } from "../blind-spots";
import { Deployment, TofuResult } from "../engine/deployment";
import { AttributeDrift } from "../engine/drift-report";
import { applyOrRefresh } from "./after-failure";

/** What a deploy did. */
export interface DeployResult {
  /** The engine's apply. */
  readonly apply: TofuResult;
  /** Differences the engine cannot see, written back through the Vault API before the apply. */
  readonly repaired: AttributeDrift[];
}

/**
 * Synthesizes, inits, repairs what the provider cannot see (the blind spots),
 * then applies. When the apply fails, the state is refreshed from Vault
 * (`apply -refresh-only`) so that it does not keep values Vault refused and
 * the next drift check tells the truth. The apply's error is what is thrown,
 * with the settings behind each resource it names.
 */
export async function deploy(deployment: Deployment): Promise<DeployResult> {
  await deployment.ensureInit();
  const repaired = await repairBlindSpots(deployment, await probeBlindSpots(deployment));
  return { apply: await applyOrRefresh(deployment, () => deployment.apply()), repaired };
}
