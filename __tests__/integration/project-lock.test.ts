import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { lockDir } from "../../ops/lock/held-locks";
import { TestServer, startTestServer } from "./fixtures";

/*
 * Issue 17: commands in one checkout take turns. Each command runs in a
 * process of its own, as two shells or a cron job and a person would run them,
 * on one project directory (cdktf.out and state inside it).
 */

const PROJECT = resolve(__dirname, "..", "..");

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** Resolves once the process has loaded and waits for `go`. */
  readonly ready: Promise<void>;
  /** Runs the command. */
  go(): void;
}

const DRIVER = `
const { isolatedDeployment } = require("./ops/engine/scratch");
const { processIo } = require("./ops/commands/command");
const mains = {
  deploy: require("./ops/commands/deploy").deployMain,
  drift: require("./ops/commands/drift").driftMain,
  unlock: require("./ops/commands/unlock").unlockMain,
};
const [command, ...args] = process.argv.slice(1);
const pick = (re) => Object.fromEntries(Object.entries(process.env).filter(([k]) => re.test(k)));
const make = () => isolatedDeployment(process.env.LOCK_TEST_WORK, pick(/^VAULT_/), pick(/^C42_(?!CACHE)/), { echo: command === "deploy" });
// Loaded: say so, and run the command when the test says "go" (start-up time out of the race).
process.stderr.write("ready\\n");
process.stdin.once("data", () => mains[command](args, make, processIo).then((code) => process.exit(code)));
`;

describe("one command at a time per checkout (project lock)", () => {
  let server: TestServer;
  let work: string;
  const children: ChildProcess[] = [];

  /** Starts `command` in its own process group (so a kill reaches the engine too). */
  const start = (
    command: "deploy" | "drift" | "unlock",
    settings: Record<string, string> = {},
    args: string[] = [],
    at: { server: TestServer; work: string } = { server, work },
  ): Running => {
    const child = spawn(process.execPath, ["-r", "ts-node/register", "-e", DRIVER, command, ...args], {
      cwd: PROJECT,
      detached: true,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        C42_CACHE: process.env.C42_CACHE,
        TS_NODE_TRANSPILE_ONLY: "1",
        CHECKPOINT_DISABLE: "1",
        LOCK_TEST_WORK: at.work,
        ...at.server.env,
        C42_STATE_DIR: join(at.work, "state"),
        ...settings,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (onReady = r));
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => {
      if (stderr === "" && d.toString().startsWith("ready\n")) {
        onReady();
        stderr = d.toString().slice("ready\n".length);
      } else stderr += d.toString();
    });
    const done = new Promise<Finished>((finish) => child.on("close", (code, signal) => finish({ code, signal, stdout, stderr })));
    return { child, done, ready, go: () => child.stdin!.end("go\n") };
  };

  /** Starts both, runs `first`, and `second` once `first` holds the lock. */
  const overlap = async (first: Running, second: Running, at = work) => {
    await Promise.all([first.ready, second.ready]);
    first.go();
    await until("the first command to hold the lock", () => existsSync(lockFile(at)));
    second.go();
  };
  /** Starts one and runs it at once. */
  const run = async (command: "deploy" | "drift" | "unlock", settings: Record<string, string> = {}, args: string[] = []) => {
    const one = start(command, settings, args);
    await one.ready;
    one.go();
    return one;
  };

  /** Waits (bounded) until `check` holds. */
  const until = async (what: string, check: () => boolean, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const lockFile = (at = work) => join(lockDir(at), "project.lock");
  const issuerCount = async (mount: string) => ((await server.call({ method: "LIST", path: `${mount}/issuers` })).json.data.keys as string[]).length;

  beforeAll(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "c42-lock-"));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, "SIGKILL");
    rmSync(work, { recursive: true, force: true });
    await server?.stop();
  });

  test("two deploys at once: the second waits its turn, then finds nothing to change", async () => {
    const first = start("deploy");
    const second = start("deploy");
    await overlap(first, second);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect({ first: a.code, second: b.code }).toEqual({ first: 0, second: 0 });
    expect(b.stderr).toMatch(/waiting for deploy \(pid \d+, since [0-9T:.-]+Z\) to finish; up to 300s/);
    expect(b.stdout).toMatch(/No changes\.|0 added, 0 changed, 0 destroyed/);
    for (const run of [a, b]) expect(run.stdout + run.stderr).not.toMatch(/Inconsistent dependency lock file|Error acquiring the state lock/);
    expect(existsSync(lockFile())).toBe(false);
    expect({ pki: await issuerCount("pki"), pki_int: await issuerCount("pki_int") }).toEqual({ pki: 1, pki_int: 2 });
    console.log(`second deploy waited, then: ${b.stdout.match(/Apply complete![^\n]*/)?.[0] ?? "no apply line"}`);
  });

  test("with a short lockTimeout the second command fails in one line naming the holder", async () => {
    // The holder is a cold deploy on a server and checkout of its own: it holds the lock for seconds, while a
    // no-op deploy (under a second since init is skipped) could end before the late command's 1 s wait does.
    const cold = { server: await startTestServer(), work: mkdtempSync(join(tmpdir(), "c42-lock-cold-")) };
    try {
      const first = start("deploy", {}, [], cold);
      const late = start("deploy", { C42_LOCK_TIMEOUT: "1s" }, [], cold);
      await overlap(first, late, cold.work);
      const holder = JSON.parse(readFileSync(lockFile(cold.work), "utf8")) as { pid: number };
      const second = await late.done;
      expect(second.code).toBe(1);
      const lines = second.stderr.trim().split("\n");
      expect(lines[lines.length - 1]).toMatch(
        new RegExp(
          `^deploy: another command holds the project lock: deploy \\(pid ${holder.pid} on .*, since .*\\); waited [12]s\\. Let it finish, or raise lockTimeout`,
        ),
      );
      expect(second.stdout + second.stderr).not.toMatch(/Inconsistent dependency lock file/);
      expect((await first.done).code).toBe(0);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, "SIGKILL");
      await cold.server.stop();
      rmSync(cold.work, { recursive: true, force: true });
    }
  });

  test("drift started during a deploy waits for it and reports no false drift", async () => {
    const deploy = start("deploy");
    const driftRun = start("drift");
    await overlap(deploy, driftRun);
    const drift = await driftRun.done;
    expect((await deploy.done).code).toBe(0);
    expect(drift.stderr).toMatch(/waiting for deploy \(pid \d+/);
    expect({ code: drift.code, out: drift.stdout.trim() }).toEqual({ code: 0, out: expect.stringMatching(/in sync/) });
    expect(existsSync(lockFile())).toBe(false);
  });

  test("a deploy killed with SIGKILL leaves a lock that the next command takes over, saying so", async () => {
    const killed = await run("deploy");
    await until("the deploy to hold the lock", () => existsSync(lockFile()));
    const holder = JSON.parse(readFileSync(lockFile(), "utf8")) as { pid: number };
    process.kill(-killed.child.pid!, "SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");
    expect(existsSync(lockFile())).toBe(true);
    const next = await (await run("deploy")).done;
    expect(next.stderr).toMatch(
      new RegExp(`the project lock was left by deploy \\(pid ${holder.pid}, since .*\\), which is no longer running; taking it over`),
    );
    expect(next.code).toBe(0);
    expect(existsSync(lockFile())).toBe(false);
    const drift = await (await run("drift")).done;
    expect(drift.code).toBe(0);
  });

  test("unlock hands a lock ID to the engine's force-unlock and reports what the engine says", async () => {
    const result = await (await run("unlock", {}, ["9b2c4a1e-5f7d-4c3b-8a2e-1d0f9e8c7b6a"])).done;
    // The local backend's lock dies with its holder, so there is nothing to release: the engine says so.
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^unlock: tofu force-unlock failed/m);
    expect(result.stderr).toMatch(/Failed to unlock state: LocalState not locked/);
    expect(existsSync(lockFile())).toBe(false);
    expect((await (await run("drift")).done).code).toBe(0);
  });
});
