import { Deployment } from "../engine/deployment";
import { checkDrift } from "../lifecycle/drift";
import { CheckOutcome } from "./report";

/**
 * Runs the drift check (`npm run drift`: a plan, plus what the provider cannot
 * see) on a deployment whose engine runs stop when `signal` fires. Drift is
 * WARN (Code42 can still log in; `npm run deploy` repairs it); a check that
 * could not run is UNKNOWN.
 */
export async function driftOutcome(makeDeployment: (signal: AbortSignal) => Deployment, signal: AbortSignal): Promise<CheckOutcome> {
  const report = await checkDrift(makeDeployment(signal));
  const values = { drift: report.inSync ? 0 : 1, drifted_resources: report.drifted.length };
  if (report.inSync) return { state: "OK", reason: "Vault matches the configuration", values };
  const names = report.drifted.map((d) => d.address);
  const shown = names.length > 5 ? [...names.slice(0, 5), `${names.length - 5} more`] : names;
  const shadows = (report.shadowing ?? []).map((s) => s.role);
  const drifted =
    names.length > 0 ? `${names.length} resource${names.length === 1 ? "" : "s"} drifted (${shown.join(", ")}): \`npm run deploy\` repairs it` : "";
  const shadowed =
    shadows.length > 0
      ? `cert role${shadows.length === 1 ? "" : "s"} ${shadows.join(", ")} also accept${shadows.length === 1 ? "s" : ""} the admin certificate: see \`npm run drift\``
      : "";
  return { state: "WARN", reason: [drifted, shadowed].filter((r) => r !== "").join("; "), values };
}
