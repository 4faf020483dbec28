import { LocalBackend, TerraformStack, Testing } from "cdktf";
import { RotationPhase } from "../../lib/admin-rotation-phase";
import { KeystoreValidationError } from "../../lib/errors";
import { StateRecords } from "../../lib/state-records";

function inScope(build: (scope: Parameters<Parameters<typeof Testing.synthScope>[0]>[0]) => void): () => string {
  return () => Testing.synthScope(build);
}

describe("StateRecords refuses", () => {
  test("a relative local state path (the engine runs in cdktf.out/stacks/keystore)", () => {
    const run = inScope(
      (scope) => new StateRecords(scope, "stateRecords", { backend: new LocalBackend(TerraformStack.of(scope), { path: "state/keystore.tfstate" }) }),
    );
    expect(run).toThrow(KeystoreValidationError);
    expect(run).toThrow(
      /^stateDir: "state\/keystore\.tfstate" is not an absolute path; expected one, since the engine reads the state from cdktf\.out\/stacks\/keystore \(at .*stateRecords\)$/,
    );
  });

  test("a phase that is not a rotation phase", () => {
    const run = inScope(
      (scope) =>
        new StateRecords(scope, "stateRecords", {
          backend: new LocalBackend(TerraformStack.of(scope), { path: "/s/keystore.tfstate" }),
          rotation: { phase: "paused" as RotationPhase },
        }),
    );
    expect(run).toThrow(/^rotation\.phase: "paused" is not a rotation phase; expected one of idle, started, finishing/);
  });

  test("an output name that is not one", () => {
    expect(() => StateRecords.recorded("x) || true || (y", "")).toThrow(/^StateRecords\.recorded output: "x\) \|\| true \|\| \(y" is not an output name/);
  });

  test("a check without a condition or message", () => {
    const run = inScope((scope) =>
      new StateRecords(scope, "stateRecords", { backend: new LocalBackend(TerraformStack.of(scope), { path: "/s/keystore.tfstate" }) }).addCheck({
        condition: " ",
        errorMessage: "m",
      }),
    );
    expect(run).toThrow(/^StateRecords\.addCheck: .* has an empty condition or error message; expected both/);
  });
});
