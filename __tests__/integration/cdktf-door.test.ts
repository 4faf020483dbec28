import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { driftMain } from "../../ops/commands/drift";
import { parseEnvFile } from "../../ops/common/env-file";
import { deployJournalFile, readDeployJournal } from "../../ops/engine/deploy-journal";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { cacheDir } from "../../ops/engine/toolchain";
import { lockDir } from "../../ops/lock/held-locks";
import { capture } from "../helpers/io";
import { TestServer, startTestServer } from "./fixtures";
import { ProcessGroups, Running, killGroup, processesInGroup, until } from "./process-groups";

/*
 * Issue 23: `npx cdktf deploy` gets `npm run deploy`'s protections through the
 * app it runs (main.ts, ops/lifecycle/cdktf-door.ts). Every cdktf run is a
 * process group of its own (npx, the cdktf CLI, the app, the engine and its
 * provider plugins), as a person or a CI job runs it, with the toolchain's
 * env file as the only extra environment.
 */

const PROJECT = resolve(__dirname, "..", "..");

describe("npx cdktf deploy gets the project lock, the deploy journal and recovery", () => {
  const groups = new ProcessGroups();
  const cleanups: (() => Promise<void> | void)[] = [];

  /** `npx cdktf <args>` on `server`, output and state under `work`, in a process group of its own. */
  const cdktf = (args: string[], server: TestServer, work: string, settings: Record<string, string> = {}): Running =>
    groups.start("npx", ["cdktf", ...args, "--no-color", "--output", join(work, "cdktf.out")], {
      cwd: PROJECT,
      env: {
        ...process.env,
        ...parseEnvFile(readFileSync(join(cacheDir(), "toolchain.env"), "utf8")),
        ...server.env,
        C42_STATE_DIR: join(work, "state"),
        CHECKPOINT_DISABLE: "1",
        FORCE_COLOR: "0",
        CI: "1",
        ...settings,
      },
    });

  const issuers = async (server: TestServer, mount: string): Promise<{ id: string; keyId: string }[]> => {
    const answer = await server.call({ method: "LIST", path: `${mount}/issuers` });
    if (answer.status !== 200) return [];
    return Object.entries(answer.json.data.key_info as Record<string, { key_id: string }>).map(([id, i]) => ({ id, keyId: i.key_id }));
  };
  const stateRecordsRoot = (work: string) => {
    const file = join(work, "state", "keystore.tfstate");
    return existsSync(file) && /"type": "vault_pki_secret_backend_root_cert"/.test(readFileSync(file, "utf8"));
  };
  const drift = async (server: TestServer, work: string) => {
    const out = capture();
    const code = await driftMain([], () => isolatedDeployment(work, server.env), out.io);
    return { code, out: out.out.stdout.trim() };
  };

  let server: TestServer;
  let work: string;

  afterAll(async () => {
    await groups.stopAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  test("killed with SIGKILL after the root CA exists, then run again: converges with one root issuer, and drift is 0", async () => {
    const started = Date.now();
    let rootBefore: { id: string }[] = [];
    for (let attempt = 1; ; attempt++) {
      server = await startTestServer();
      work = mkdtempSync(join(tmpdir(), "c42-cdktf-door-"));
      const [s, w] = [server, work];
      cleanups.push(
        () => s.stop(),
        () => rmSync(w, { recursive: true, force: true }),
      );
      const run = cdktf(["deploy", "--auto-approve"], server, work);
      const reached = await until("the root CA", async () => (await issuers(s, "pki")).length > 0, run.ended);
      killGroup(run.child);
      const killed = await run.done;
      rootBefore = await issuers(server, "pki");
      if (reached && killed.signal === "SIGKILL" && !stateRecordsRoot(work)) break;
      if (attempt === 3) throw new Error(`the cdktf deploy recorded the root before the kill 3 times in a row:\n${killed.output.slice(-2000)}`);
      console.log(`cdktf-door: attempt ${attempt} missed (the state recorded the root before the kill); trying again on a fresh server`);
    }
    // The app wrote the journal before the CLI's apply: what that apply was about to make.
    expect(readDeployJournal(deployJournalFile(join(work, "state")))?.creates).toEqual(expect.arrayContaining(["pki", "rootCa", "intermediateCa"]));
    expect(rootBefore).toHaveLength(1);

    const next = await cdktf(["deploy", "--auto-approve"], server, work).done;
    expect({ code: next.code, tail: next.code === 0 ? "" : next.output.slice(-3000) }).toEqual({ code: 0, tail: "" });
    expect(next.output).toMatch(/cdktf deploy: the deploy interrupted at \S+ had made .*; took them over as `npm run adopt` does/);
    expect(next.output).toContain(`issuer ${rootBefore[0].id}`);
    // One root issuer (the one the killed run made), one intermediate with its key.
    expect((await issuers(server, "pki")).map((i) => i.id)).toEqual([rootBefore[0].id]);
    expect((await issuers(server, "pki_int")).filter((i) => i.keyId !== "")).toHaveLength(1);
    expect(await drift(server, work)).toEqual({ code: 0, out: expect.stringMatching(/in sync/) });
    console.log(`cdktf-door: killed and recovered in ${Math.round((Date.now() - started) / 1000)} s`);
  });

  test("two cdktf deploys at once: one waits for the other; one more with a short lockTimeout refuses in one line", async () => {
    const started = Date.now();
    const lockFile = join(lockDir(work), "project.lock");
    const holderPid = () => (JSON.parse(readFileSync(lockFile, "utf8")) as { pid: number }).pid;
    const waits = /cdktf deploy: waiting for cdktf deploy \(pid (\d+), since \S+\) to finish; up to 300s/;
    const runs = [cdktf(["deploy", "--auto-approve"], server, work), cdktf(["deploy", "--auto-approve"], server, work)];
    await until(
      "one cdktf deploy to wait for the other",
      () => runs.some((r) => waits.test(r.output())),
      () => runs.every((r) => r.ended()),
      300_000,
    );
    const waiter = runs.find((r) => waits.test(r.output()))!;
    const holder = runs.find((r) => r !== waiter)!;
    // It waits for the other's cdktf CLI, named in the lock.
    expect(processesInGroup(holder.child.pid!)).toContain(Number(waits.exec(waiter.output())![1]));

    // The lock's holder paused (SIGSTOP: alive, holding the lock): a third cdktf deploy with lockTimeout 1s refuses in one line.
    const paused = runs.find((r) => processesInGroup(r.child.pid!).includes(holderPid()))!;
    process.kill(-paused.child.pid!, "SIGSTOP");
    let late;
    try {
      late = await cdktf(["deploy", "--auto-approve"], server, work, { C42_LOCK_TIMEOUT: "1s" }).done;
    } finally {
      process.kill(-paused.child.pid!, "SIGCONT");
    }
    expect(late.code).toBe(1);
    expect(late.output).toMatch(
      new RegExp(
        `^\\s+cdktf deploy: another command holds the project lock: cdktf deploy \\(pid ${holderPid()} on [^)]*\\); waited 1s\\. Let it finish, or raise lockTimeout \\(C42_LOCK_TIMEOUT\\)`,
        "m",
      ),
    );

    const [a, b] = await Promise.all(runs.map((r) => r.done));
    expect({ codes: [a.code, b.code], output: a.code === 0 && b.code === 0 ? "" : [a, b].map((r) => r.output.slice(-2000)) }).toEqual({
      codes: [0, 0],
      output: "",
    });
    for (const run of [a, b]) expect(run.output).toMatch(/No changes\.|0 added, 0 changed, 0 destroyed/);
    expect((await issuers(server, "pki")).length).toBe(1);
    expect(await drift(server, work)).toEqual({ code: 0, out: expect.stringMatching(/in sync/) });
    console.log(`cdktf-door: two cdktf deploys at once and a refused third in ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
