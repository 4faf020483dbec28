import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cdktfCommandIn } from "../../../ops/lock/cdktf-parent";

const PROJECT = resolve(__dirname, "..", "..", "..");

test("the command in a cdktf CLI's argv, aliases and leading options included", () => {
  const cli = ["/usr/bin/node", "/work/project/node_modules/.bin/cdktf"];
  expect(cdktfCommandIn([...cli, "deploy", "--auto-approve"])).toBe("deploy");
  expect(cdktfCommandIn([...cli, "apply"])).toBe("deploy");
  expect(cdktfCommandIn([...cli, "--log-level", "debug", "plan"])).toBe("diff");
  expect(cdktfCommandIn(["node", "/x/cdktf-cli/bundle/bin/cdktf.js", "synthesize"])).toBe("synth");
  expect(cdktfCommandIn([...cli, "destroy", "keystore"])).toBe("destroy");
  expect(cdktfCommandIn([...cli, "watch"])).toBe("watch");
  expect(cdktfCommandIn([...cli, "get"])).toBeUndefined();
  expect(cdktfCommandIn(["node", "/x/bin/c42-keystore.js", "deploy"])).toBeUndefined();
  expect(cdktfCommandIn(["/bin/sh", "-c", "cdktf deploy"])).toBeUndefined();
});

describe("the cdktf CLI running the app, found through /proc", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "keystore-cdktf-parent-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What cdktfParent() says inside an app started by `command` (run with node). */
  const probe = (argv: string[]): Promise<{ parent: unknown; cliPid: number }> => {
    const app = `node -r ts-node/register -e 'process.stdout.write(JSON.stringify(require("./ops/lock/cdktf-parent").cdktfParent() ?? null))'`;
    // As cdktf-cli's synth-stack.js starts the app: a shell running cdktf.json's "app".
    writeFileSync(
      join(dir, "cdktf"),
      `const out = require("child_process").execSync(${JSON.stringify(app)}, { cwd: ${JSON.stringify(PROJECT)} });\n` +
        `process.stdout.write(JSON.stringify({ parent: JSON.parse(out.toString()), cliPid: process.pid }));\n`,
    );
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, argv, { env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" }, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", fail);
      child.on("close", () => done(JSON.parse(out)));
    });
  };

  test("an app run by `cdktf deploy` finds the CLI (pid, start time, command); one run otherwise finds none", async () => {
    const { parent, cliPid } = await probe([join(dir, "cdktf"), "--log-level", "warn", "deploy", "--auto-approve"]);
    expect(parent).toEqual({ pid: cliPid, command: "deploy", startTicks: expect.any(Number) });
    const direct = await new Promise<string>((done) => {
      const child = spawn(
        process.execPath,
        ["-r", "ts-node/register", "-e", 'process.stdout.write(JSON.stringify(require("./ops/lock/cdktf-parent").cdktfParent() ?? null))'],
        {
          cwd: PROJECT,
          env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => done(out));
    });
    expect(JSON.parse(direct)).toBeNull();
  }, 60_000);
});
