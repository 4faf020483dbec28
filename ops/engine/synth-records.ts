import { existsSync } from "node:fs";
import { join } from "node:path";
import { ADOPTION_OUTPUT, parseAdoptionRecord } from "../../lib/adoption-record";
import { KeystoreConfig } from "../../lib/config";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { CLUSTER_OUTPUT, parseClusterRecord } from "../../lib/cluster-identity-record";
import { recordedRotationPhase } from "./rotation-record";
import type { Deployment, SynthRecords } from "./deployment";
import { readPlainState } from "./state-files";

/**
 * The records of a plain local state file, read without the engine (the fast
 * path of `cdktf synth`); `undefined` when only the engine can read the file
 * (encrypted, or caught mid-write).
 */
export function recordsInPlainFile(stateFile: string): SynthRecords | undefined {
  const state = readPlainState(stateFile);
  if (state === undefined) return undefined;
  return {
    phase: recordedRotationPhase(state.outputs),
    adoption: parseAdoptionRecord(state.outputs[ADOPTION_OUTPUT]?.value),
    stateExisted: existsSync(stateFile),
    cluster: parseClusterRecord(state.outputs[CLUSTER_OUTPUT]?.value),
    where: stateFile,
  };
}

/** Where {@link readSynthRecords} may run the engine. */
export interface SynthRecordsOptions {
  /** Settings and the Vault connection (VAULT_ADDR, else the local server's .local/vault.env). */
  readonly env: NodeJS.ProcessEnv;
  /** The project directory. */
  readonly projectDir: string;
  /** The cdktf output directory the engine is initialized in (the one cdktf then runs the engine in). */
  readonly outdir: string;
  /**
   * A deployment of this checkout already initialized (`cdktf deploy`'s door, ops/lifecycle/cdktf-door.ts): the
   * records are read through it rather than through a second engine init. @default - a new Deployment
   */
  readonly deployment?: Pick<Deployment, "records">;
}

/**
 * The records `main.ts` builds the stack from, read as the npm commands read
 * them: a plain local state from its file, any other (remote backend, or
 * encrypted) through the engine with the commands' own code (Deployment:
 * project lock, init, `state pull`). Fails when the state cannot be read; the
 * caller refuses to synthesize then, rather than build a stack that would undo
 * what the state records.
 */
export async function readSynthRecords(config: KeystoreConfig, options: SynthRecordsOptions): Promise<SynthRecords> {
  if (config.backend.type === "local" && !config.stateEncryption.enabled) {
    const plain = recordsInPlainFile(join(config.stateDir, `${KEYSTORE_STACK}.tfstate`));
    if (plain) return plain;
  }
  if (options.deployment) return options.deployment.records();
  // Loaded only here: the plain local path never pays for the engine driver's modules.
  const { Deployment } = await import("./deployment");
  return new Deployment({ env: options.env, projectDir: options.projectDir, outdir: options.outdir }).records();
}

/**
 * An error as one line: the first line of the message, and when that only
 * announces the engine's output (`tofu init failed (exit 1):`), the engine's
 * first `Error:` line after it.
 */
export function oneLine(message: string): string {
  const lines = message
    .split("\n")
    .map((l) => l.replace(/^[│╷╵]\s?/, "").trim())
    .filter((l) => l !== "");
  const first = lines[0] ?? "unknown error";
  if (!first.endsWith(":")) return first;
  const error = lines.find((l) => /^Error: /.test(l));
  return error ? `${first} ${error}` : first;
}
