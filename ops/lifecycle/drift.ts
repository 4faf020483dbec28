import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeBlindSpots } from "../blind-spots";
import { Deployment } from "../engine/deployment";
import { DriftReport, buildDriftReport, withShadowing } from "../engine/drift-report";
import { PlanJson } from "../engine/plan-json";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { findShadowingRoles, loginCertificates } from "./shadowing";

/**
 * Plans into a private temporary directory and returns the plan's JSON. The
 * plan file embeds the state, private keys included: mkdtemp makes the
 * directory 0700, and it is removed before this returns.
 */
export async function planJson(deployment: Deployment): Promise<PlanJson> {
  const dir = mkdtempSync(join(tmpdir(), "c42-plan-"));
  try {
    const file = join(dir, "keystore.tfplan");
    await deployment.planToFile(file);
    return await deployment.showPlan(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The plan a drift check reads: the JSON of a saved plan when the plan holds a
 * change or drift, else an empty plan (in sync, the usual answer: `show -json`
 * would list only no-ops, so its engine start is spared). The plan file is
 * handled as in {@link planJson}.
 */
async function driftPlanJson(deployment: Deployment): Promise<PlanJson> {
  const dir = mkdtempSync(join(tmpdir(), "c42-plan-"));
  try {
    const file = join(dir, "keystore.tfplan");
    const { changesOrDrift } = await deployment.planForDrift(file);
    return changesOrDrift ? await deployment.showPlan(file) : {};
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Synthesizes, inits, plans and asks Vault what the plan cannot see, and
 * which other cert roles accept the admin certificate (see shadowing.ts).
 * Changes nothing.
 */
export async function checkDrift(deployment: Deployment): Promise<DriftReport> {
  await deployment.requireState();
  // The probe first: it is one API call, and when Vault cannot be reached its error names the variable to fix.
  const blind = await probeBlindSpots(deployment);
  const report = buildDriftReport(await driftPlanJson(deployment), blind);
  const certificates = loginCertificates(await deployment.outputs());
  try {
    return withShadowing(report, await findShadowingRoles(endpointFromEnv(deployment.env), vaultToken(deployment.env), deployment.config, certificates));
  } catch (e) {
    // A token that may plan but not list the cert roles: the drift verdict stands, and the gap is said.
    if (!/HTTP 403/.test((e as Error).message)) throw e;
    return {
      ...report,
      shadowingNotChecked:
        `other cert roles were not checked for accepting the admin certificate: ${(e as Error).message.split("\n")[0]}; ` +
        `give the token list and read on auth/${deployment.config.certAuth.path}/certs`,
    };
  }
}
