import { adoptMain } from "../../../ops/commands/adopt";
import { Deployment } from "../../../ops/engine/deployment";
import { capture } from "../../helpers/io";

/** A wrong command line, or no way to confirm, is refused before a deployment is even made. */
describe("adopt refuses a wrong command line (exit 2) and an unconfirmable run (exit 1) before anything runs", () => {
  const never = (): Deployment => {
    throw new Error("the deployment must not be made");
  };
  const noAnswer = { interactive: false, ask: async () => true };
  const run = async (argv: string[]) => {
    const { out, io } = capture();
    return { code: await adoptMain(argv, never, io, noAnswer), ...out };
  };

  test.each([
    [["--bogus"], "adopt: Unknown option '--bogus'"],
    [["--yes", "now"], 'adopt: unexpected argument "now"; this command takes none\nusage: adopt [--inspect] [--yes] [--take-over-pki]\n'],
    [["--yes=no"], "adopt: Option '--yes' does not take an argument"],
  ])("%j", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stdout).toBe("");
  });

  test("without a terminal and without --yes: refused, naming --yes, nothing inspected or changed", async () => {
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "adopt: asks for confirmation on a terminal, and stdin is not one; pass --yes to apply without asking (or --inspect to look only). Nothing was changed\n",
    );
    expect(r.stdout).toBe("");
  });

  test("--help says what is taken over, what is never replaced, and the exit codes", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: adopt \[--inspect\] \[--yes\] \[--take-over-pki\]\n/);
    for (const words of ["never generated, re-signed or replaced", "--inspect", "--yes", "--take-over-pki", "Exit 0 adopted"])
      expect(r.stdout).toContain(words);
  });
});
