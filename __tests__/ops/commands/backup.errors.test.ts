import { BackupSurroundings, backupMain } from "../../../ops/commands/backup";
import { restoreMain } from "../../../ops/commands/restore";
import { verifyBackupMain } from "../../../ops/commands/verify-backup";
import { capture } from "../../helpers/io";

/*
 * A wrong command line is refused with the usage and exit 2 before anything
 * runs: the surroundings throw if a command so much as looks at them.
 */
const untouchable = (): BackupSurroundings => {
  throw new Error("the command looked at its surroundings before checking its command line");
};

type Main = (argv: readonly string[], io: ReturnType<typeof capture>["io"], s: () => BackupSurroundings) => Promise<number>;

test.each<[string, Main, string[], string]>([
  ["backup", backupMain, ["--keep", "0"], "--keep: 0 is out of range; expected a whole number from 1 to 999999"],
  ["backup", backupMain, ["--keep", "-1"], '--keep: "-1" is not a whole number; expected 1 to 999999'],
  ["backup", backupMain, ["--keep", "1 "], '--keep: "1 " has spaces around the number; expected 1 to 999999, without spaces'],
  ["backup", backupMain, ["--keep", " 14"], '--keep: " 14" has spaces around the number'],
  ["backup", backupMain, ["--keep", "+3"], '--keep: "+3" is not a whole number'],
  ["backup", backupMain, ["--keep", "1e3"], '--keep: "1e3" is not a whole number'],
  ["backup", backupMain, ["--keep", "two"], '--keep: "two" is not a whole number'],
  ["backup", backupMain, ["--keep=-3"], '--keep: "-3" is not a whole number'],
  ["backup", backupMain, ["--out", ""], "--out: the path is empty"],
  ["backup", backupMain, ["--unseal-keys", "/k"], "--unseal-keys, --bundle and --skip-login belong to --verify"],
  ["backup", backupMain, ["--verify", "--skip-login", "--bundle", "/b"], "--bundle and --skip-login contradict each other"],
  ["backup", backupMain, ["--bogus"], "Unknown option '--bogus'"],
  ["backup", backupMain, ["stray"], 'unexpected argument "stray"; this command takes none'],
  ["verify-backup", verifyBackupMain, [], "expected the backup's .snap file"],
  ["verify-backup", verifyBackupMain, ["a.snap", "b.snap"], 'unexpected argument "b.snap"'],
  ["verify-backup", verifyBackupMain, ["a.snap", "--unseal-keys"], "Option '--unseal-keys <value>' argument missing"],
  ["verify-backup", verifyBackupMain, ["a.snap", "--unseal-keys", ""], "--unseal-keys: the path is empty"],
  ["restore", restoreMain, [], "expected the backup's .snap file"],
  ["restore", restoreMain, ["a.snap", "--force=yes"], "--force"],
  ["restore", restoreMain, ["a.snap", "--skip-login", "--bundle", "x"], "--bundle and --skip-login contradict each other"],
])("%s %p: exit 2 with the usage", async (name, main, argv, message) => {
  const { out, io } = capture();
  expect(await main(argv, io, untouchable)).toBe(2);
  expect(out.stderr).toContain(message);
  expect(out.stderr).toContain(`usage: ${name} `);
  expect(out.stdout).toBe("");
});

test("a missing bundle for the login check names --bundle and --skip-login, before anything runs", async () => {
  const { out, io } = capture();
  expect(await verifyBackupMain(["a.snap", "--bundle", "/nonexistent-c42"], io, untouchable)).toBe(1);
  expect(out.stderr).toBe(
    "verify-backup: --bundle: /nonexistent-c42/crashplan.p12 does not exist; the login check needs crashplan.p12 and its password file (`npm run bundle` writes them); give their directory with --bundle DIR, or --skip-login\n",
  );
});

test("no message repeats a value that could be a secret: a key given as an argument or where a path belongs", async () => {
  const key = "GTGH4q1XzTUGr6xQ2nNo2UzvcV3xRrwl8fD9WJkVb4q7Cx1M=";
  const token = "hvs.CAESIJ2xk3lTq0vQbJ8mZ7yPp1sRr4Uu5Ww6Xx7Yy8Zz9Aa0";
  for (const [main, argv] of [
    [verifyBackupMain, ["a.snap", key]],
    [restoreMain, ["a.snap", token]],
    [backupMain, [key]],
    [backupMain, ["--keep", key]],
  ] as [Main, string[]][]) {
    const { out, io } = capture();
    expect(await main(argv, io, untouchable)).toBe(2);
    expect(out.stderr).toMatch(/a value of \d+ characters \(not shown: it could be a secret\)/);
    expect(out.stderr).not.toContain(key.slice(0, 10));
    expect(out.stderr).not.toContain(token.slice(4, 14));
  }
});
