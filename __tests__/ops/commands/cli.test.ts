import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS, main } from "../../../ops/commands/cli";
import { serverMain } from "../../../ops/commands/server";
import { capture } from "../../helpers/io";

/*
 * The command line is checked before anything runs: these calls go through
 * the real CLI with the real surroundings, and would touch Vault, the engine
 * or the disk if the parser let them through.
 */

let cwd: string;
let saved: string;
beforeAll(() => {
  saved = process.cwd();
  cwd = mkdtempSync(join(tmpdir(), "c42-cli-test-"));
  process.chdir(cwd);
});
afterAll(() => {
  process.chdir(saved);
  rmSync(cwd, { recursive: true, force: true });
});

const run = async (argv: string[]) => {
  const { out, io } = capture();
  return { code: await main(argv, io), ...out };
};

/** A command line that names each command with something it does not take. */
const names = Object.keys(COMMANDS);
const start = (name: string) => (name === "server" ? ["server", "status"] : [name]);

describe("every command refuses a wrong command line with its usage and exit 2, before anything runs", () => {
  test.each(names)("%s --bogus", async (name) => {
    const r = await run([...start(name), "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^[a-z -]+: Unknown option '--bogus'\nusage: /);
    expect(r.stderr).not.toContain("positional argument");
    expect(r.stderr).toContain(`usage: ${start(name).join(" ")}`);
    expect(r.stdout).toBe("");
  });

  test.each(names)("%s with stray arguments", async (name) => {
    const r = await run([...start(name), "stray-1", "stray-2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unexpected argument/);
    expect(r.stderr).toContain("usage: ");
    expect(r.stdout).toBe("");
  });

  test.each(names)("%s --help prints the usage on stdout and exits 0", async (name) => {
    const r = await run([...start(name), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ${start(name).join(" ")}`));
    expect(r.stderr).toBe("");
  });

  test("deploy --dry-run and deploy -- --dry-run (flags deploy does not have) are refused", async () => {
    for (const argv of [
      ["deploy", "--dry-run"],
      ["deploy", "--dry-run", "--plan-only"],
      ["deploy", "--", "--dry-run"],
      ["synth", "--bogus"],
    ]) {
      const r = await run(argv);
      expect([argv.join(" "), r.code]).toEqual([argv.join(" "), 2]);
      expect(r.stderr).toContain(`usage: ${argv[0]}`);
    }
  });

  test.each([
    [["bundle", "--out", ""], "--out: the path is empty"],
    [["plan", "--out", ""], "--out: the path is empty"],
    [["plan", "--out", "  "], "--out: the path is empty"],
    [["apply-plan", ""], "FILE: the path is empty"],
    [["server", "start", "--dir", ""], "--dir: the path is empty"],
    [["server", "stop", "--dir", ""], "--dir: the path is empty"],
  ])("an empty path is refused: %j", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(readdirSync(cwd)).toEqual([]);
  });

  test("a bad --window is a wrong command line", async () => {
    const r = await run(["status", "--window", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--window: "soon" is not a duration/);
  });

  test("an unknown command, no command and a server without subcommand are refused; help lists every command", async () => {
    expect((await run(["deplyo"])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    const server = await run(["server"]);
    expect(server.code).toBe(2);
    expect(server.stderr).toMatch(/expected a subcommand: start, stop or status/);
    expect((await run(["server", "restart"])).stderr).toMatch(/not "restart"/);
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const name of names) expect(help.stdout).toContain(`  ${name} `);
  });
});

test('server stop --dir on a directory that does not exist is an error, not "stopped"', async () => {
  const missing = join(cwd, "no-such-server");
  const { out, io } = capture();
  expect(await serverMain(["stop", "--dir", missing], io)).toBe(1);
  expect(out.stderr).toBe(`server stop: there is no server directory at ${missing}; nothing to stop (check --dir)\n`);
  expect(out.stdout).toBe("");
  expect(existsSync(missing)).toBe(false);
});

test("plan --out through a symbolic link (planted in a shared directory) is refused before anything runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "c42-cli-link-"));
  try {
    const target = join(dir, "target");
    writeFileSync(target, "untouched\n");
    symlinkSync(target, join(dir, "x.tfplan"));
    const r = await run(["plan", "--out", join(dir, "x.tfplan")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `plan: plan --out: ${join(dir, "x.tfplan")} is a symbolic link; refusing to write through it: give the path of a regular file or a new one\n`,
    );
    expect(readFileSync(target, "utf8")).toBe("untouched\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
