/**
 * Where a two-phase rotation of the admin certificate stands.
 * - `idle`: one certificate, pinned by the login role (`crashplanUser`).
 * - `started`: the next certificate is issued and pinned by a second role
 *   (`crashplanUser-next`, same policies and TTL); both log in.
 * - `finishing`: the current certificate is revoked and gone; both roles pin
 *   the next one. The next apply moves it into the current slot.
 */
export const ROTATION_PHASES = ["idle", "started", "finishing"] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

/** How a deploy inside the renewal window renews the admin certificate (`adminCert.rotation`). */
export const ROTATION_MODES = ["two-phase", "one-step"] as const;
export type RotationMode = (typeof ROTATION_MODES)[number];

/** The output that records the phase in the state, so every later synth (any machine, any backend) knows it. */
export const ROTATION_OUTPUT = "admin_rotation_phase";

/** The suffix of the second login role's name while a rotation is in progress. */
export const NEXT_ROLE_SUFFIX = "-next";

/** The phase to build, and the phase the state records (the last apply's). */
export interface RotationInput {
  /** The phase to synthesize. */
  readonly phase: RotationPhase;
  /**
   * The phase recorded in the state. From `finishing` to `idle`, the next
   * slot's certificate and password move to the current slot's addresses
   * (`moved` blocks: no change in Vault).
   * @default the same as `phase`
   */
  readonly recorded?: RotationPhase;
}
