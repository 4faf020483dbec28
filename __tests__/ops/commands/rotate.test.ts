import { rotateMain } from "../../../ops/commands/rotate";
import { Deployment } from "../../../ops/engine/deployment";
import { capture } from "../../helpers/io";

/** A wrong command line is refused before a deployment is even made. */
describe("rotate refuses a wrong command line with its usage and exit 2, before anything runs", () => {
  const never = (): Deployment => {
    throw new Error("the deployment must not be made for a wrong command line");
  };
  const run = async (argv: string[]) => {
    const { out, io } = capture();
    return { code: await rotateMain(argv, never, io), ...out };
  };

  test.each([
    [[], "rotate: expected an action: start, finish or abort\nusage: rotate start|finish|abort [--json]\n"],
    [["begin"], 'rotate: unknown action "begin"; expected start, finish or abort\nusage: rotate start|finish|abort [--json]\n'],
    [["constructor"], 'rotate: unknown action "constructor"; expected start, finish or abort\nusage: rotate start|finish|abort [--json]\n'],
    [["start", "--bogus"], "rotate: Unknown option '--bogus'"],
    [["start", "finish"], 'rotate: unexpected argument "finish"\nusage: rotate'],
    [["--force", "finish"], "rotate: Unknown option '--force'"],
  ])("%j", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stdout).toBe("");
  });

  test("--help lists the three actions and the exit codes", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: rotate start\|finish\|abort \[--json\]\n/);
    for (const word of ["  start ", "  finish ", "  abort ", "Exit 0 done, 1 refused"]) expect(r.stdout).toContain(word);
  });
});
