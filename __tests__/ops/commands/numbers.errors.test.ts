import { backupMain } from "../../../ops/commands/backup";
import { loadMain } from "../../../ops/commands/load";
import { serverMain } from "../../../ops/commands/server";
import { capture } from "../../helpers/io";

/*
 * One parser for whole numbers (ops/commands/command.ts wholeNumber) behind every numeric option: spaces
 * around a number and signs are refused, naming the option and the range, with exit 2 before anything runs.
 */

test.each<[string, (io: ReturnType<typeof capture>["io"]) => Promise<number>, string]>([
  [
    "load --users ' 5'",
    (io) => loadMain(["--addr", "https://127.0.0.1:1", "--users", " 5"], io, {}),
    '--users: " 5" has spaces around the number; expected 1 to 100000',
  ],
  [
    "load --users -5",
    (io) => loadMain(["--addr", "https://127.0.0.1:1", "--users", "-5"], io, {}),
    '--users: "-5" is not a whole number; expected 1 to 100000',
  ],
  ["server start --nodes '3 '", (io) => serverMain(["start", "--nodes", "3 "], io), '--nodes: "3 " has spaces around the number'],
  [
    "backup --keep -1",
    (io) =>
      backupMain(["--keep", "-1"], io, () => {
        throw new Error("looked at its surroundings");
      }),
    '--keep: "-1" is not a whole number; expected 1 to 999999',
  ],
])("%s: exit 2, naming the option, the value and the range", async (_, main, message) => {
  const { out, io } = capture();
  expect(await main(io)).toBe(2);
  expect(out.stderr).toContain(message);
  expect(out.stderr).not.toContain("ambiguous");
  expect(out.stdout).toBe("");
});
