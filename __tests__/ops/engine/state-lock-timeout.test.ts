import { withStateLockTimeout } from "../../../ops/engine/engine-run";

describe("withStateLockTimeout gives the engine's state lock the lockTimeout", () => {
  test.each([
    [
      ["apply", "-input=false", "-auto-approve"],
      ["apply", "-lock-timeout=300s", "-input=false", "-auto-approve"],
    ],
    [
      ["plan", "-detailed-exitcode"],
      ["plan", "-lock-timeout=300s", "-detailed-exitcode"],
    ],
    [
      ["destroy", "-auto-approve"],
      ["destroy", "-lock-timeout=300s", "-auto-approve"],
    ],
    [
      ["import", "a.b", "cert"],
      ["import", "-lock-timeout=300s", "a.b", "cert"],
    ],
    [
      ["state", "rm", "a.b"],
      ["state", "rm", "-lock-timeout=300s", "a.b"],
    ],
  ])("%j", (args, expected) => {
    expect(withStateLockTimeout(args, 300)).toEqual(expected);
  });

  test.each([[["init", "-input=false"]], [["output", "-json"]], [["show", "-json", "plan"]], [["state", "list"]], [["version"]]])(
    "%j takes no lock and is left alone",
    (args) => {
      expect(withStateLockTimeout(args, 300)).toEqual(args);
    },
  );
});
