import { App } from "cdktf";
import { KEYSTORE_STACK, KeystoreStack, KeystoreValidationError, loadConfig } from "./lib";

// Build the whole construct tree (which validates every setting) before
// synthesizing, so a bad value writes nothing.
try {
  const app = new App();
  new KeystoreStack(app, KEYSTORE_STACK, { config: loadConfig() });
  app.synth();
} catch (e) {
  if (e instanceof KeystoreValidationError) {
    process.stderr.write(`configuration error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
