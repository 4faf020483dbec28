import { join } from "node:path";
import { App } from "cdktf";
import { KEYSTORE_STACK, KeystoreStack, KeystoreValidationError, loadConfig } from "./lib";
import { recordedAdoptionInFile } from "./ops/engine/adoption-record";
import { cdktfEngine, cdktfEngineMismatch } from "./ops/engine/engine";
import { engineRecordFile, readEngineRecord } from "./ops/engine/engine-record";
import { recordedRotationPhaseInFile } from "./ops/engine/rotation-record";
import { throughCdktfDoor } from "./ops/lifecycle/cdktf-door";
import { PROJECT_DIR } from "./ops/common/paths";
import { resolveVaultEnv } from "./ops/engine/deployment";
import { readPlainState } from "./ops/engine/state-files";
import { clusterForSynth } from "./ops/vault/cluster-identity";

// Build the whole construct tree (which validates every setting) before
// synthesizing, so a bad value writes nothing.
async function main(): Promise<void> {
  const config = loadConfig();
  // cdktf runs the engine TERRAFORM_BINARY_NAME names; it must not move a state another engine wrote unasked.
  const cdktfTarget = cdktfEngine(process.env);
  const stateEngine = readEngineRecord(engineRecordFile(config.stateDir, KEYSTORE_STACK));
  if (cdktfTarget && stateEngine && cdktfTarget.kind !== stateEngine.kind && config.engine !== cdktfTarget.kind) {
    process.stderr.write(`${cdktfEngineMismatch(stateEngine, cdktfTarget)}\n`);
    process.exit(1);
  }
  // `cdktf diff/deploy` have no preflight: a state of another cluster is refused here, before anything reads or refreshes it there.
  const stateFile = join(config.stateDir, `${KEYSTORE_STACK}.tfstate`);
  const plain = config.backend.type === "local" ? readPlainState(stateFile) : undefined;
  const cluster = await clusterForSynth(resolveVaultEnv(process.env, PROJECT_DIR), plain?.outputs ?? {}, stateFile);
  if (cluster.refusal) {
    process.stderr.write(`${cluster.refusal}\n`);
    process.exit(1);
  }
  // The project lock for the cdktf CLI running this app; for `cdktf deploy`, what `npm run deploy` does before its apply.
  const door = await throughCdktfDoor(config);
  // On stdout: the cdktf CLI shows the app's stderr only when it fails.
  for (const note of door.notes) process.stdout.write(`cdktf ${door.command}: ${note}\n`);
  // `cdktf deploy` must build the stack of the rotation phase the state records, or it would undo a rotation in
  // progress. The npm commands ask the engine (any backend); here only a plain local state can be read.
  const phase = config.backend.type === "local" ? recordedRotationPhaseInFile(stateFile) : undefined;
  if (phase === undefined) {
    process.stderr.write(
      "note: cdktf synth cannot read the admin certificate's rotation phase from this state (remote or encrypted); " +
        "while a rotation is in progress use `npm run deploy` or `c42-keystore`, since `cdktf deploy` would abort it\n",
    );
  }
  // An adopted keystore (npm run adopt) must be built around its existing CAs, or a deploy would generate new ones.
  const adopted = config.backend.type === "local" ? recordedAdoptionInFile(stateFile) : undefined;
  if (adopted === undefined) {
    process.stderr.write(
      "note: cdktf synth cannot read the adoption record from this state (remote or encrypted); " +
        "for an adopted keystore (npm run adopt) use `npm run deploy` or `c42-keystore`, never `cdktf deploy`\n",
    );
  }
  const app = new App();
  new KeystoreStack(app, KEYSTORE_STACK, {
    config,
    rotation: phase === undefined ? undefined : { phase },
    adoption: adopted?.adoption,
    cluster: cluster.toRecord,
    // The JSON for the engine cdktf will run (state encryption is refused under Terraform, as the npm commands do).
    engine: cdktfEngine(process.env),
  });
  app.synth();
}

main().catch((e: unknown) => {
  if (e instanceof KeystoreValidationError) {
    process.stderr.write(`configuration error: ${e.message}\n`);
  } else {
    // A refusal before anything was applied (the project lock, a protection of the deploy): its message, no stack trace.
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  }
  process.exit(1);
});
