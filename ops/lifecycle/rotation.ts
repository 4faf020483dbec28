import { NEXT_ROLE_SUFFIX } from "../../lib/admin-rotation-phase";
import { Deployment } from "../engine/deployment";
import { RotationView, rotationView } from "../engine/rotation-record";
import { revokeAdoptedCertificate } from "./adopt";
import { deploy } from "./deploy";

export { RotationCertificate, RotationView, rotationView } from "../engine/rotation-record";

/** What a `rotate` step did. */
export interface RotationOutcome {
  /** False when the step was refused (nothing was applied); the message says why and what to do. */
  readonly done: boolean;
  /** What happened and what comes next, for people; never a secret. */
  readonly message: string;
  /** Where the rotation stands afterwards. */
  readonly view: RotationView;
}

/**
 * Where a rotation stands: the recorded phase and both certificates' serials
 * and expiries. Reads the state's outputs only (no Vault call).
 */
export async function readRotation(deployment: Deployment): Promise<RotationView> {
  return rotationView(await deployment.outputs());
}

const certLine = (label: string, c: RotationView["current"]) => (c ? `${label} ${c.serial} (expires ${c.notAfter})` : `${label} (none)`);

async function applyPhase(deployment: Deployment, phase: "idle" | "started" | "finishing"): Promise<RotationView> {
  await deployment.rotateTo(phase);
  await deploy(deployment, { autoStartRotation: false });
  return readRotation(deployment);
}

/**
 * Step 1: issue the next certificate and a second login role pinning it
 * (`<certRole.name>-next`, same policies and TTL), while the current one keeps
 * working. A second start changes nothing in Vault: it re-applies the started
 * stack, which completes a start that failed halfway.
 */
export async function startRotation(deployment: Deployment): Promise<RotationOutcome> {
  const { recorded } = await deployment.rotationPhase();
  const role = deployment.config.certRole.name;
  if (recorded === "finishing") {
    return {
      done: false,
      message:
        "a rotation is being finished: the old certificate is already revoked and only the new one logs in; " +
        "run `npm run rotate -- finish` to complete it before starting another\n",
      view: await readRotation(deployment),
    };
  }
  const before = await readRotation(deployment);
  const view = await applyPhase(deployment, "started");
  const next = `${certLine("next certificate", view.next)}\n${certLine("current certificate", view.current)}\n`;
  const steps =
    "then: `npm run bundle` writes its crashplan.p12 and password; upload them in the Code42 console; " +
    "then `npm run rotate -- finish` (or `npm run rotate -- abort` to drop the next certificate)\n";
  if (recorded === "started") {
    return { done: true, message: `a rotation was already in progress; nothing new was issued\n${next}${steps}`, view };
  }
  return {
    done: true,
    message:
      `started: the next certificate is issued and role ${role}${NEXT_ROLE_SUFFIX} lets it log in; ${role} still lets the current one (${before.current?.serial ?? "?"}) log in\n` +
      next +
      steps,
    view,
  };
}

/**
 * Step 2, once Code42 has the new bundle: `crashplanUser` pins the next
 * certificate (the second role pins it all along, so it never stops logging
 * in), the old certificate is revoked, then the second role goes and the next
 * certificate becomes the current one. Two applies; a finish interrupted
 * between them is completed by running finish again.
 */
export async function finishRotation(deployment: Deployment): Promise<RotationOutcome> {
  const { recorded } = await deployment.rotationPhase();
  if (recorded === "idle") {
    return {
      done: false,
      message: "no rotation in progress, nothing to finish: nothing was changed. Start one with `npm run rotate -- start`\n",
      view: await readRotation(deployment),
    };
  }
  const old = (await readRotation(deployment)).current;
  // A hand-made certificate (npm run adopt) is no resource the finish destroys: it is revoked through the API.
  const adopted = recorded === "started" ? (await deployment.adoption())?.adminCertificatePem : undefined;
  if (recorded === "started") await applyPhase(deployment, "finishing");
  // Right after the apply that un-pins it, as the finishing apply revokes a managed certificate.
  if (adopted !== undefined) await revokeAdoptedCertificate(deployment, adopted);
  const view = await applyPhase(deployment, "idle");
  return {
    done: true,
    message:
      `finished: ${certLine("current certificate", view.current)} is the only one that logs in; ` +
      `${recorded === "started" && old ? `the old certificate ${old.serial} is revoked` : "the old certificate was revoked by the first finish"}\n`,
    view,
  };
}

/**
 * Drops a started rotation: the next certificate is revoked, its role removed,
 * the current one untouched. Refused once finish has begun (the old
 * certificate is revoked by then).
 */
export async function abortRotation(deployment: Deployment): Promise<RotationOutcome> {
  const { recorded } = await deployment.rotationPhase();
  if (recorded === "idle") {
    return { done: false, message: "no rotation in progress, nothing to abort: nothing was changed\n", view: await readRotation(deployment) };
  }
  if (recorded === "finishing") {
    return {
      done: false,
      message: "too late to abort: finish has begun and the old certificate is already revoked; run `npm run rotate -- finish` to complete it\n",
      view: await readRotation(deployment),
    };
  }
  const dropped = (await readRotation(deployment)).next;
  const view = await applyPhase(deployment, "idle");
  return {
    done: true,
    message: `aborted: ${certLine("the next certificate", dropped)} is revoked and its role removed; ${certLine("current certificate", view.current)} keeps working\n`,
    view,
  };
}
