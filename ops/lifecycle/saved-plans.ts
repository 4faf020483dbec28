import { existsSync } from "node:fs";
import { BlindSpotDrift, probeBlindSpots, repairBlindSpots } from "../blind-spots";
import { errorMessage } from "../common/errors";
import { assertOwnTarget, ensureParentDir } from "../common/private-files";
import { Deployment } from "../engine/deployment";
import { AttributeDrift } from "../engine/drift-report";
import { PlanJson, changedAttributes, pendingChanges } from "../engine/plan-json";
import { comparePlans, currentStateStamp, engineMessage, formatPlanSummary, isStale, planStateStamp } from "../engine/saved-plans";
import { applyOrRefresh } from "./after-failure";
import { planJson } from "./drift";
import { caStepsInPlan, guardIssuers } from "./issuer-guard";
import { journaledApply, unrecordedParts } from "./recovery";

/** The message `apply-plan` refuses with when Vault moved since the plan. */
export const SERVER_CHANGED = "the server changed since this plan was made; re-plan";

/** What a saved plan carries besides the engine's plan: the blind-spot repairs it promises. */
interface PlanNotes {
  readonly blindSpots: AttributeDrift[];
}

function readNotes(plan: PlanJson): PlanNotes {
  const text = Deployment.planNotes(plan);
  if (text === "") return { blindSpots: [] };
  const parsed: unknown = JSON.parse(text);
  const list = typeof parsed === "object" && parsed !== null && "blindSpots" in parsed ? parsed.blindSpots : undefined;
  if (!Array.isArray(list)) return { blindSpots: [] };
  return {
    blindSpots: list.filter((d): d is AttributeDrift => typeof d?.address === "string" && typeof d?.attribute === "string"),
  };
}

const sameSpot = (a: AttributeDrift, b: AttributeDrift) => a.address === b.address && a.attribute === b.attribute;

/**
 * Writes a saved plan to `file` (0600; its directory is created 0700 when
 * missing, an existing one is left as it is) and returns its summary. The
 * state is not touched. Differences the engine cannot see are recorded in the
 * plan, and apply-plan repairs exactly those through the Vault API.
 */
export async function writeSavedPlan(deployment: Deployment, file: string): Promise<string> {
  ensureParentDir(file, "plan --out");
  assertOwnTarget(file, "plan --out");
  await deployment.ensureInit();
  const blind = await probeBlindSpots(deployment);
  const notes: PlanNotes = { blindSpots: blind.map(({ address, attribute }) => ({ address, attribute })) };
  await deployment.planToFile(file, blind.length > 0 ? JSON.stringify(notes) : "");
  const plan = await deployment.showPlan(file);
  const repairs = blind.map((d) => `  update ${d.address} (${d.attribute}; written through the Vault API: the engine cannot see it)\n`).join("");
  const summary = formatPlanSummary(plan);
  return repairs === "" ? summary : `${summary === "no changes\n" ? "" : summary}${repairs}`;
}

/** What became of an `apply-plan`. */
export type ApplyPlanOutcome = { readonly applied: true } | { readonly applied: false; readonly reason: "stale" | "server-changed"; readonly message: string };

/**
 * Applies a saved plan, but only one that still describes the server.
 * 1. A stale plan (the state moved since it was made) goes straight to the
 *    engine, which refuses it; its message is returned. An encrypted plan
 *    hides its state stamp: it is still refused, by step 2 or the engine.
 * 2. The engine applies a plan made before an out-of-band change in Vault
 *    blindly (the state did not move), so a fresh plan is made first; when its
 *    changes differ from the saved plan's (see {@link comparePlans}), or Vault
 *    has a change no plan can see that the saved plan did not record, nothing
 *    is applied.
 * 3. A plan that would make a root or intermediate on a mount that already
 *    holds an issuer is refused (see {@link guardIssuers}).
 * 4. Otherwise the recorded blind-spot repairs are written, then the plan is
 *    applied with the deploy journal written (see {@link journaledApply}: after
 *    an interrupted apply, the next `deploy` takes over what it made); when
 *    Vault refuses it, the state is refreshed (see {@link applyOrRefresh}).
 */
export async function applySavedPlan(deployment: Deployment, file: string): Promise<ApplyPlanOutcome> {
  if (!existsSync(file)) throw new Error(`no saved plan at ${file}; make one with \`npm run plan\``);
  const saved = await deployment.showPlan(file);
  if (isStale(await planStateStamp(file), await currentStateStamp(deployment))) {
    try {
      await deployment.applyPlan(file);
    } catch (e) {
      return {
        applied: false,
        reason: "stale",
        message: `the engine refused the saved plan: ${engineMessage(errorMessage(e))}\nthe state changed since this plan was made; re-plan`,
      };
    }
    return { applied: true };
  }
  const differences = comparePlans(saved, await planJson(deployment));
  const recorded = readNotes(saved).blindSpots;
  const savedChanges = pendingChanges(saved);
  const toRepair: BlindSpotDrift[] = [];
  for (const drift of await probeBlindSpots(deployment)) {
    const change = savedChanges.get(drift.address);
    const setByPlan = change !== undefined && changedAttributes(change).includes(drift.attribute.split(".")[0]);
    if (recorded.some((r) => sameSpot(r, drift))) toRepair.push(drift);
    else if (!setByPlan) differences.push(`${drift.address}: ${drift.attribute} differs in Vault and the saved plan does not set it`);
  }
  if (differences.length > 0) {
    return { applied: false, reason: "server-changed", message: `${SERVER_CHANGED}:\n${differences.map((d) => `  ${d}\n`).join("")}nothing was applied` };
  }
  await guardIssuers(deployment, caStepsInPlan(deployment, saved));
  await repairBlindSpots(deployment, toRepair);
  const creates = unrecordedParts(deployment, await deployment.stateResources(), await deployment.adoption());
  await applyOrRefresh(deployment, () => journaledApply(deployment, creates, () => deployment.applyPlan(file)));
  return { applied: true };
}
