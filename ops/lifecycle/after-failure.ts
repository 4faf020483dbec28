import { errorMessage } from "../common/errors";
import { Deployment } from "../engine/deployment";
import { EngineError } from "../engine/engine-run";
import { settingsBehind } from "../engine/synthesized";

/**
 * Runs an apply. When it fails, the state can hold values Vault refused
 * (measured with the Vault provider: an update refused with 403 stays in the
 * state), so the state is refreshed from Vault (`apply -refresh-only`, which
 * changes nothing in Vault) and the next drift check tells the truth. The
 * apply's error is rethrown with the settings behind each resource it names
 * and what became of the state. An apply the engine refused while planning
 * applied nothing and needs no refresh.
 */
export async function applyOrRefresh<T>(deployment: Deployment, apply: () => Promise<T>): Promise<T> {
  try {
    return await apply();
  } catch (applyError) {
    let after = "the state was refreshed from Vault, so `drift` shows what is really there";
    if (applyError instanceof EngineError && applyError.planningFailed) {
      // A refusal at plan time (the stack's own conditions among them) applied nothing: the state is as it was.
      after = "the engine refused the plan, so nothing was applied and the state is as it was";
    } else {
      try {
        await deployment.refreshState({ afterFailedRun: true });
      } catch (refreshError) {
        after = `refreshing the state from Vault failed too, so \`drift\` may show changes that never happened: ${errorMessage(refreshError)}`;
      }
    }
    const behind = settingsBehind(deployment.stackDir, errorMessage(applyError));
    throw new Error(`${errorMessage(applyError)}\n${behind ? `${behind}\n` : ""}${after}`);
  }
}
