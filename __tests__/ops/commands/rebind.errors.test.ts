import { rebindMain } from "../../../ops/commands/rebind";
import { Deployment } from "../../../ops/engine/deployment";
import { capture } from "../../helpers/io";

// rebind takes no argument: anything on its command line is refused with the usage and exit 2, before a
// deployment exists (so before Vault or the state is read).
const untouchable = (): Deployment => {
  throw new Error("the command made a deployment before checking its command line");
};

test.each<[string[], string]>([
  [["--force"], "Unknown option '--force'"],
  [["--yes"], "Unknown option '--yes'"],
  [["https://127.0.0.1:8200"], 'unexpected argument "https://127.0.0.1:8200"'],
  [["-target=vault_mount.x"], "Unknown option"],
])("rebind %j: exit 2 with the usage", async (argv, message) => {
  const { out, io } = capture();
  expect(await rebindMain(argv, () => untouchable(), io)).toBe(2);
  expect(out.stderr).toContain(message);
  expect(out.stderr).toContain("usage: rebind");
  expect(out.stdout).toBe("");
});
