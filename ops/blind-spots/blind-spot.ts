import { Deployment } from "../engine/deployment";
import { AttributeDrift } from "../engine/drift-report";

/**
 * Something the Vault provider cannot see: a value Vault holds that the
 * provider never reads back, so no plan shows it changed and no apply undoes
 * the change. One implementation per quirk; deploy, drift and apply-plan use
 * them all through the registry in `index.ts`.
 */
export interface BlindSpot {
  /** A few words for messages, e.g. "cert auth tune". */
  readonly name: string;
  /**
   * Asks Vault what it really holds and compares it with the configuration.
   * Returns where they differ (address and attribute, never values); nothing
   * when they agree or the object does not exist (then the plan itself shows
   * it missing). Needs a synthesized stack.
   */
  probe(deployment: Deployment): Promise<AttributeDrift[]>;
  /**
   * Writes the configured value to Vault through its API. The state already
   * holds that value (that is the blind spot), so state and Vault agree again
   * without touching the state.
   */
  repair(deployment: Deployment, drift: AttributeDrift): Promise<void>;
}
