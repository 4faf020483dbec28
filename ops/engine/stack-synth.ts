import { App, TerraformVariable } from "cdktf";
import { KeystoreStack, KeystoreStackProps } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { PLAN_NOTES_VARIABLE } from "./plan-json";

/**
 * Builds the keystore stack, with the variable saved plans carry their notes
 * in, and writes it into `outdir` (`stacks/keystore/cdk.tf.json`); every
 * setting is validated before anything is written. The one module of the
 * commands that loads cdktf, constructs, the providers' bindings and the
 * stack's constructs: Deployment requires it only when the synth cache holds
 * no JSON for the inputs (synth-cache.ts), so that a command whose inputs did
 * not change loads none of them.
 */
export function synthesizeStack(outdir: string, props: KeystoreStackProps): void {
  const app = new App({ outdir });
  const stack = new KeystoreStack(app, KEYSTORE_STACK, props);
  const notes = new TerraformVariable(stack, PLAN_NOTES_VARIABLE, {
    type: "string",
    default: "",
    description: "Notes a saved plan carries for c42-keystore; read by no resource",
  });
  notes.overrideLogicalId(PLAN_NOTES_VARIABLE);
  app.synth();
}
