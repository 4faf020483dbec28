import { Deployment } from "../engine/deployment";
import { AttributeDrift } from "../engine/drift-report";
import { auditDevice } from "./audit-device";
import { BlindSpot } from "./blind-spot";
import { certAuthTune } from "./cert-auth-tune";

export { BlindSpot } from "./blind-spot";
export { AUDIT_DEVICE_ADDRESS, AUDIT_DEVICE_ATTRIBUTE } from "./audit-device";
export { CERT_AUTH_TUNE_ATTRIBUTE } from "./cert-auth-tune";

/** Every quirk of the provider this project knows about. A new one is one file and one entry here. */
export const BLIND_SPOTS: readonly BlindSpot[] = [certAuthTune, auditDevice];

/** A difference one blind spot found, with the blind spot that can repair it. */
export interface BlindSpotDrift extends AttributeDrift {
  readonly blindSpot: BlindSpot;
}

/** Probes every blind spot; needs a synthesized stack. */
export async function probeBlindSpots(deployment: Deployment): Promise<BlindSpotDrift[]> {
  const found: BlindSpotDrift[] = [];
  for (const blindSpot of BLIND_SPOTS) {
    for (const drift of await blindSpot.probe(deployment)) found.push({ address: drift.address, attribute: drift.attribute, blindSpot });
  }
  return found;
}

/** Repairs what {@link probeBlindSpots} found; returns the repaired differences, without the blind spots. */
export async function repairBlindSpots(deployment: Deployment, drifts: readonly BlindSpotDrift[]): Promise<AttributeDrift[]> {
  const repaired: AttributeDrift[] = [];
  for (const drift of drifts) {
    await drift.blindSpot.repair(deployment, drift);
    repaired.push({ address: drift.address, attribute: drift.attribute });
  }
  return repaired;
}
