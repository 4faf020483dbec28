import { unlockMain } from "../../../ops/commands/unlock";
import { Deployment } from "../../../ops/engine/deployment";
import { capture } from "../../helpers/io";

// A wrong command line is refused with the usage and exit 2 before any deployment exists.
const untouchable = (): Deployment => {
  throw new Error("the command made a deployment before checking its command line");
};

test.each<[string[], string]>([
  [[], "LOCK_ID is missing; give the ID the state lock error printed"],
  [["a", "b"], 'unexpected argument "b"'],
  [["--force"], "Unknown option '--force'"],
  [["-lock=false"], "Unknown option"],
  [["x; rm -rf /"], 'LOCK_ID: "x; rm -rf /" is not a lock ID'],
  [[""], 'LOCK_ID: "" is not a lock ID'],
])("unlock %j: exit 2 with the usage", async (argv, message) => {
  const { out, io } = capture();
  expect(await unlockMain(argv, () => untouchable(), io)).toBe(2);
  expect(out.stderr).toContain(message);
  expect(out.stderr).toContain("usage: unlock LOCK_ID");
  expect(out.stdout).toBe("");
});

test("a 100,000-character LOCK_ID is not echoed in full", async () => {
  const { out, io } = capture();
  expect(await unlockMain(["x".repeat(100_000)], () => untouchable(), io)).toBe(2);
  expect(out.stderr).toContain('LOCK_ID: "xxxxxxxx');
  expect(out.stderr).toContain("… (100000 characters) is not a lock ID");
  expect(out.stderr.length).toBeLessThan(2000);
});
