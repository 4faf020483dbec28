import { existsSync, readFileSync } from "node:fs";
import { ADOPTION_OUTPUT, AdoptionInput, parseAdoptionRecord } from "../../lib/adoption";

/**
 * The adoption record of a local state file, read without the engine (for
 * `main.ts`, which `cdktf synth` runs): `{}` when there is no state or no
 * record, `undefined` when the file cannot be read as a plain state
 * (encrypted with C42_STATE_PASSPHRASE, or not JSON).
 */
export function recordedAdoptionInFile(stateFile: string): { readonly adoption?: AdoptionInput } | undefined {
  if (!existsSync(stateFile)) return {};
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof state !== "object" || state === null || "encrypted_data" in state) return undefined;
  const outputs = (state as { outputs?: Record<string, { value?: unknown }> }).outputs;
  return { adoption: parseAdoptionRecord(outputs?.[ADOPTION_OUTPUT]?.value) };
}
