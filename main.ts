import { join } from "node:path";
import { App } from "cdktf";
import { KEYSTORE_STACK, KeystoreStack, KeystoreValidationError, loadConfig } from "./lib";
import { recordedRotationPhaseInFile } from "./ops/engine/rotation-record";

// Build the whole construct tree (which validates every setting) before
// synthesizing, so a bad value writes nothing.
try {
  const config = loadConfig();
  // `cdktf deploy` must build the stack of the rotation phase the state records, or it would undo a rotation in
  // progress. The npm commands ask the engine (any backend); here only a plain local state can be read.
  const phase = config.backend.type === "local" ? recordedRotationPhaseInFile(join(config.stateDir, `${KEYSTORE_STACK}.tfstate`)) : undefined;
  if (phase === undefined) {
    process.stderr.write(
      "note: cdktf synth cannot read the admin certificate's rotation phase from this state (remote or encrypted); " +
        "while a rotation is in progress use `npm run deploy` or `c42-keystore`, since `cdktf deploy` would abort it\n",
    );
  }
  const app = new App();
  new KeystoreStack(app, KEYSTORE_STACK, { config, rotation: phase === undefined ? undefined : { phase } });
  app.synth();
} catch (e) {
  if (e instanceof KeystoreValidationError) {
    process.stderr.write(`configuration error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
