import { parseDuration } from "../../lib/duration";
import { probeBlindSpots, repairBlindSpots } from "../blind-spots";
import { Deployment } from "../engine/deployment";
import { TofuResult } from "../engine/engine-run";
import { AttributeDrift } from "../engine/drift-report";
import { applyOrRefresh } from "./after-failure";
import { caStepsToCreate, guardIssuers } from "./issuer-guard";
import { Recovery, journaledApply, recoverBeforeApply } from "./recovery";
import { rotationView } from "../engine/rotation-record";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { LeftoverSweep, removeLoadLeftovers } from "../vault/load-grants";

/** What a deploy did. */
export interface DeployResult {
  /** The engine's apply. */
  readonly apply: TofuResult;
  /** Differences the engine cannot see, written back through the Vault API before the apply. */
  readonly repaired: AttributeDrift[];
  /** Set when this deploy started a two-phase rotation (the current certificate was inside its renewal window). */
  readonly startedRotation?: { readonly currentSerial: string; readonly currentNotAfter: string };
  /** What an interrupted deploy had made and this one took over (see ops/lifecycle/recovery.ts). */
  readonly recovery: Pick<Recovery, "tookOver" | "interrupted">;
  /** Cert roles and policies of `npm run load` runs that ended without cleaning up (SIGKILL), removed by this deploy. */
  readonly loadLeftovers: LeftoverSweep;
}

/** Options of {@link deploy}. */
export interface DeployOptions {
  /**
   * With `adminCert.rotation` `two-phase`: when no rotation is in progress and
   * the current certificate is inside `adminCert.renewBefore`, start one (issue
   * the next certificate beside it). A deploy never finishes a rotation.
   * @default true
   */
  readonly autoStartRotation?: boolean;
  /** The clock. @default the current time */
  readonly now?: () => Date;
}

/** What a deploy does before its apply (see {@link prepareDeploy}). */
export type PreparedDeploy = Omit<DeployResult, "apply" | "recovery" | "loadLeftovers"> & { readonly recovery: Recovery };

/**
 * Everything a deploy does before the engine's apply: synthesizes, inits,
 * takes over what an interrupted deploy made or refuses objects the state does
 * not record (see {@link recoverBeforeApply}), starts a rotation when one is
 * due, refuses a CA step on a mount that already holds an issuer (see
 * {@link guardIssuers}) and repairs what the provider cannot see (the blind
 * spots). `npm run deploy` applies next; `npx cdktf deploy` has the cdktf CLI
 * apply (see cdktf-door.ts).
 */
export async function prepareDeploy(deployment: Deployment, options: DeployOptions = {}): Promise<PreparedDeploy> {
  await deployment.ensureInit();
  const recovery = await recoverBeforeApply(deployment);
  const startedRotation = options.autoStartRotation === false ? undefined : await startIfDue(deployment, options.now?.() ?? new Date());
  await guardIssuers(deployment, caStepsToCreate(deployment, recovery.recorded));
  const repaired = await repairBlindSpots(deployment, await probeBlindSpots(deployment));
  return { repaired, startedRotation, recovery };
}

/**
 * {@link prepareDeploy}, then applies with the deploy journal written (see
 * {@link journaledApply}). When the apply fails, the state is refreshed from Vault
 * (`apply -refresh-only`) so that it does not keep values Vault refused and
 * the next drift check tells the truth. The apply's error is what is thrown,
 * with the settings behind each resource it names. Last, it removes what a
 * killed `npm run load` left (ops/vault/load-grants.ts); that never fails it.
 */
export async function deploy(deployment: Deployment, options: DeployOptions = {}): Promise<DeployResult> {
  const { repaired, startedRotation, recovery } = await prepareDeploy(deployment, options);
  const apply = await applyOrRefresh(deployment, () => journaledApply(deployment, recovery.creates, () => deployment.apply()));
  const loadLeftovers = await removeLoadLeftovers({
    endpoint: endpointFromEnv(deployment.env),
    token: vaultToken(deployment.env),
    certAuthPath: deployment.config.certAuth.path,
    pkiIntPath: deployment.config.pki_int.path,
  });
  return { apply, repaired, startedRotation, recovery: { tookOver: recovery.tookOver, interrupted: recovery.interrupted }, loadLeftovers };
}

/**
 * With two-phase rotation, an idle stack whose current certificate is inside
 * its renewal window: the next apply starts a rotation.
 */
async function startIfDue(deployment: Deployment, now: Date): Promise<DeployResult["startedRotation"]> {
  if (deployment.config.adminCert.rotation !== "two-phase") return undefined;
  const { target } = await deployment.rotationPhase();
  if (target !== "idle") return undefined;
  const current = rotationView(await deployment.outputs()).current;
  if (current === undefined) return undefined;
  const windowSeconds = parseDuration("adminCert.renewBefore", deployment.config.adminCert.renewBefore);
  if (Date.parse(current.notAfter) - now.getTime() > windowSeconds * 1000) return undefined;
  await deployment.rotateTo("started");
  return { currentSerial: current.serial, currentNotAfter: current.notAfter };
}
