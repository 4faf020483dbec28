import { DESTROY, confirmationText, destroyMain } from "../../../ops/commands/destroy";
import { capture } from "../../helpers/io";

/*
 * The archive keys' options belong together: each is refused with exit 2
 * and the usage before any deployment is made or the server is asked.
 */
describe("destroy refuses options that make no sense without --including-archive-keys", () => {
  const never = () => {
    throw new Error("no deployment may be made for a wrong command line");
  };

  test.each([
    [["--yes"], /--yes belongs to --including-archive-keys/],
    [["--backup-out", "/tmp/x"], /--backup-out belongs to --including-archive-keys/],
    [["--unseal-keys", "/tmp/keys"], /--unseal-keys belongs to --including-archive-keys/],
    [["--bundle", "/tmp/b"], /--bundle belongs to --including-archive-keys/],
    [["--including-archive-keys", "--backup-out", ""], /--backup-out: the path is empty/],
  ])("%j", async (argv, message) => {
    const { out, io } = capture();
    expect(await destroyMain(argv, never, io)).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toContain("usage: destroy");
  });

  test("the typed confirmation holds the key count, and --help names every option", async () => {
    expect(confirmationText(5)).toBe("destroy 5 archive keys");
    const { out, io } = capture();
    expect(await destroyMain(["--help"], never, io)).toBe(0);
    for (const option of Object.keys(DESTROY.options)) expect([option, out.stdout.includes(`--${option}`)]).toEqual([option, true]);
  });
});
