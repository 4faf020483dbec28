import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { TofuOutputs } from "./bundle";

/** The bundle Code42 should be given, and which certificate it holds. */
export interface BundleChoice {
  /** Outputs under the names {@link writeBundle} reads, holding the chosen certificate. */
  readonly outputs: TofuOutputs;
  /** `next` while a rotation is started (the certificate to upload), else `current`. */
  readonly which: "current" | "next";
}

/**
 * The certificate Code42 should use next: during a two-phase rotation the
 * next one (its outputs are present exactly then), else the current one.
 */
export function bundleToGive(outputs: TofuOutputs): BundleChoice {
  if (outputs[NEXT_BUNDLE_OUTPUTS.serialNumber] === undefined) return { outputs, which: "current" };
  const chosen: TofuOutputs = {};
  for (const key of Object.keys(BUNDLE_OUTPUTS) as (keyof typeof BUNDLE_OUTPUTS)[]) {
    const value = outputs[NEXT_BUNDLE_OUTPUTS[key]];
    if (value !== undefined) chosen[BUNDLE_OUTPUTS[key]] = value;
  }
  return { outputs: chosen, which: "next" };
}
