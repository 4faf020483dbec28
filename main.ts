import { dirname, resolve } from "node:path";
import { App } from "cdktf";
import { KEYSTORE_STACK, KeystoreStack, KeystoreValidationError, loadConfig } from "./lib";
import { cdktfEngine, cdktfEngineMismatch } from "./ops/engine/engine";
import { engineRecordFile, readEngineRecord } from "./ops/engine/engine-record";
import { oneLine, readSynthRecords } from "./ops/engine/synth-records";
import { throughCdktfDoor } from "./ops/lifecycle/cdktf-door";
import { PROJECT_DIR } from "./ops/common/paths";
import { resolveVaultEnv } from "./ops/engine/deployment";
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
  // The project lock for the cdktf CLI running this app; for `cdktf deploy`, what `npm run deploy` does before its
  // apply (the cluster check first: ops/lifecycle/cdktf-door.ts).
  const door = await throughCdktfDoor(config);
  // On stdout: the cdktf CLI shows the app's stderr only when it fails.
  for (const note of door.notes) process.stdout.write(`cdktf ${door.command}: ${note}\n`);
  // The stack of the rotation phase, adoption and cluster the state records, read as the npm commands read them
  // (any backend, encrypted or not): a stack built without them would undo a rotation or regenerate adopted CAs.
  let records;
  try {
    const outdir = resolve(process.env.CDKTF_OUTDIR ?? "cdktf.out");
    // The checkout cdktf-door took the project lock for (re-entrant: the same directory).
    // For a deploy, through the door's deployment: one engine init, not two.
    records = await readSynthRecords(config, { env: process.env, projectDir: dirname(outdir), outdir, deployment: door.deployment });
  } catch (e) {
    process.stderr.write(
      `error: nothing was synthesized: the rotation phase and adoption record cannot be read from the state: ${oneLine((e as Error).message)}\n`,
    );
    process.exit(1);
  }
  // `cdktf diff` has no preflight: a state of another cluster is refused here, before the engine refreshes it there
  // (and the stack's own check refuses it inside the engine, for a JSON synthesized elsewhere).
  const cluster = await clusterForSynth(resolveVaultEnv(process.env, PROJECT_DIR), records.cluster, records.where);
  if (cluster.refusal) {
    process.stderr.write(`${cluster.refusal}\n`);
    process.exit(1);
  }
  const app = new App();
  new KeystoreStack(app, KEYSTORE_STACK, {
    config,
    rotation: { phase: records.phase },
    adoption: records.adoption,
    stateExisted: records.stateExisted,
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
