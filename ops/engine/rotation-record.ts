import { ROTATION_OUTPUT, ROTATION_PHASES, RotationPhase } from "../../lib/admin-rotation-phase";
import { BUNDLE_OUTPUTS, BundleOutputNames, NEXT_BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";

/**
 * The rotation phase recorded in a stack's outputs (`tofu output -json`): the
 * last apply's. A state without the output (a fresh one, or one written
 * before rotations existed) is `idle`.
 */
export function recordedRotationPhase(outputs: Readonly<Record<string, { readonly value: unknown }>>): RotationPhase {
  const value = outputs[ROTATION_OUTPUT]?.value;
  if (value === undefined || value === null) return "idle";
  const phase = ROTATION_PHASES.find((p) => p === value);
  if (phase === undefined) {
    throw new Error(`output ${ROTATION_OUTPUT} holds ${JSON.stringify(value)}; expected one of ${ROTATION_PHASES.join(", ")} (was the state edited by hand?)`);
  }
  return phase;
}

/** One admin certificate as the outputs name it. */
export interface RotationCertificate {
  /** Serial number as Vault writes it (`1a:2b:…`). */
  readonly serial: string;
  /** Expiry, ISO 8601. */
  readonly notAfter: string;
}

/** Where a two-phase rotation stands, from the outputs alone (no Vault call, no secret). */
export interface RotationView {
  /** The recorded phase. */
  readonly phase: RotationPhase;
  /** True while a rotation is started or finishing: a command that replaces certificates should wait. */
  readonly inProgress: boolean;
  /** The certificate `crashplanUser` pins (in `finishing`, already the new one). */
  readonly current?: RotationCertificate;
  /** The next certificate, while `started`: the one Code42 should be given. */
  readonly next?: RotationCertificate;
}

/**
 * Where a rotation stands, read from `tofu output -json` (e.g.
 * `rotationView(await deployment.outputs())`): for the status report, the
 * project lock and the health probe.
 */
export function rotationView(outputs: Readonly<Record<string, { readonly value: unknown }>>): RotationView {
  const phase = recordedRotationPhase(outputs);
  const certificate = (names: BundleOutputNames): RotationCertificate | undefined => {
    const serial = outputs[names.serialNumber]?.value;
    const expiration = outputs[names.expiration]?.value;
    if (typeof serial !== "string" || typeof expiration !== "number") return undefined;
    return { serial, notAfter: new Date(expiration * 1000).toISOString() };
  };
  return { phase, inProgress: phase !== "idle", current: certificate(BUNDLE_OUTPUTS), next: certificate(NEXT_BUNDLE_OUTPUTS) };
}
