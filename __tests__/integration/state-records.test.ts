import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib";
import { ClusterIdentity } from "../../lib/cluster-identity-record";
import { P12_FILE, PASSWORD_FILE } from "../../ops/bundle/bundle";
import { adoptMain } from "../../ops/commands/adopt";
import { bundleMain } from "../../ops/commands/bundle";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { rotateMain } from "../../ops/commands/rotate";
import { parseEnvFile } from "../../ops/common/env-file";
import { PROJECT_DIR } from "../../ops/common/paths";
import { Deployment } from "../../ops/engine/deployment";
import { providerEnv } from "../../ops/engine/provider-source";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { statePassphraseEnv } from "../../ops/engine/state-files";
import { cacheDir, loadToolchain } from "../../ops/engine/toolchain";
import { readClusterIdentity } from "../../ops/vault/cluster-identity";
import { endpointFromEnv } from "../../ops/vault/client";
import { RECIPE_FILES, buildKeystoreByHand } from "../../scripts/manual-recipe";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { Bundle, LoopCounts, readBundle, startLoginLoop } from "./login-clients";
import { TestPostgres, startTestPostgres } from "./postgres";
import { ProcessGroups } from "./process-groups";

// Issue 23: during a rotation every door builds the same stack from what the state records, and a JSON
// synthesized before `rotate start` is refused by the engine itself (lib/state-records.ts). One server and one
// deploy per backend; the doors are checked against it: `npx cdktf diff` and `npx cdktf deploy` (each its own
// process, in the checkout's directory, as a user types them), `npm run drift`, and the engine run by hand in
// cdktf.out/stacks/keystore with a stale and with a fresh cdk.tf.json.

const POLICY = "crashplanpolicy";
const PASSPHRASE = "state-records integration passphrase 0123456789";

/** The cdktf and engine processes this file starts, each in a process group of its own; what a failed test left is stopped. */
const groups = new ProcessGroups();
afterAll(() => groups.stopAll());

interface Door {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
}

/** A checkout of the project: the directory the commands and cdktf run in (cdktf.json, cdktf.out, .local). */
interface Checkout {
  readonly server: TestServer;
  readonly td: TestDeployment;
  /** The settings every door gets (C42_*, PG_*), as a user's environment would hold them. */
  readonly settings: Record<string, string>;
  fresh(): Deployment;
}

function checkout(server: TestServer, settings: Record<string, string>): Checkout {
  const td = testDeployment(server, settings);
  // What `cdktf init` leaves in a project: the app is this repository's, run from the checkout's directory.
  const { app: _app, ...cdktfJson } = JSON.parse(readFileSync(join(PROJECT_DIR, "cdktf.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(td.work, "cdktf.json"), JSON.stringify({ ...cdktfJson, app: `node ${join(PROJECT_DIR, "bin", "cdktf-app.js")}` }));
  return { server, td, settings, fresh: () => isolatedDeployment(td.work, server.env, settings) };
}

type Main = (argv: readonly string[], make: () => Deployment, io: ReturnType<typeof capture>["io"]) => Promise<number>;

/** A command as `npm run <command>` runs it, on a fresh deployment of the checkout. */
async function npmRun(c: Checkout, main: Main, argv: string[] = []): Promise<Door> {
  const started = Date.now();
  const { out, io } = capture();
  const code = await main(argv, c.fresh, io);
  return { code, output: out.stdout + out.stderr, seconds: (Date.now() - started) / 1000 };
}

/** `npx cdktf <args>` in the checkout's directory, with the toolchain's env file, the Vault variables and the settings. */
function cdktf(c: Checkout, args: string[]): Promise<Door> {
  const engine = c.fresh().engine;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    C42_CACHE: process.env.C42_CACHE,
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
    ...parseEnvFile(readFileSync(join(cacheDir(), "toolchain.env"), "utf8")),
    ...c.server.env,
    ...c.settings,
    C42_STATE_DIR: c.td.deployment.config.stateDir,
    // The engine the npm commands use, so both doors share one init (docs: export the passphrase for cdktf).
    TERRAFORM_BINARY_NAME: engine.binary,
    ...statePassphraseEnv({ ...c.settings }),
    CHECKPOINT_DISABLE: "1",
    FORCE_COLOR: "0",
    CI: "1",
  };
  return groups.run(join(PROJECT_DIR, "node_modules", ".bin", "cdktf"), [...args, "--no-color"], { cwd: c.td.work, env });
}

/** The engine typed by hand in cdktf.out/stacks/keystore, as a CI template runs it (no synth, no command). */
function rawEngine(c: Checkout, args: string[]): Promise<Door> {
  const d = c.fresh();
  const env = { ...d.env, ...providerEnv(d.providers), ...statePassphraseEnv(d.env), TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
  return groups.run(d.engine.binary, args, { cwd: d.stackDir, env });
}

const say = (line: string) => void process.stderr.write(`state-records: ${line}\n`);

async function roles(server: TestServer): Promise<string[]> {
  const list = await server.call({ method: "LIST", path: "auth/cert/certs" });
  return ((list.json?.data?.keys ?? []) as string[]).slice().sort();
}

function expectClean(counts: LoopCounts): void {
  say(`${counts.name}: ${counts.ok} ok, ${counts.failed} failed of ${counts.attempts} in ${counts.seconds} s`);
  expect(counts.failures).toEqual([]);
  expect(counts.failed).toBe(0);
  expect(counts.attempts).toBeGreaterThan(0);
}

/** `npm run bundle` of the bundle Code42 is to be given now (during a rotation: the next one). */
async function writeBundle(c: Checkout, name: string): Promise<Bundle> {
  const dir = join(c.td.work, name);
  const written = await npmRun(c, (argv, make, io) => bundleMain(argv, () => make().outputs(), io), ["--out", dir]);
  expect(written.code).toBe(0);
  return readBundle(dir, P12_FILE, PASSWORD_FILE);
}

function expectCdktfNoChange(door: Door, what: string): void {
  say(`${what}: exit ${door.code} in ${door.seconds} s`);
  expect(door.output).not.toMatch(/will be destroyed|must be replaced|[1-9]\d* to destroy|[1-9]\d* destroyed/);
  expect(door.output).not.toMatch(/cannot be read from the state|note: cdktf synth/);
  expect(door.code).toBe(0);
}

/** The doors after `rotate start` on one backend (see the file's header). */
function rotationDoors(
  name: string,
  makeSettings: () => Promise<{ settings: Record<string, string>; stop?: () => void }>,
  options: { readonly otherCluster?: boolean } = {},
) {
  describe(`${name}: after rotate start, every door keeps crashplanUser-next`, () => {
    let c: Checkout;
    let stopBackend: (() => void) | undefined;
    let staleJson: string;
    let freshJson: string;
    let next: Bundle;
    let loop: { stop(): Promise<LoopCounts> } | undefined;

    beforeAll(async () => {
      const [server, backend] = await Promise.all([startTestServer(), makeSettings()]);
      stopBackend = backend.stop;
      c = checkout(server, backend.settings);
      // The first deploy, with no state yet (the data source must not fail on a missing state).
      const deployed = await npmRun(c, deployMain);
      say(`${name}: first deploy (${c.fresh().describeEngine()}) exit ${deployed.code} in ${deployed.seconds} s`);
      expect(deployed.code).toBe(0);
      staleJson = join(c.td.work, "stale.cdk.tf.json");
      copyFileSync(join(c.td.deployment.stackDir, "cdk.tf.json"), staleJson);
      const started = await npmRun(c, rotateMain, ["start"]);
      expect(started.code).toBe(0);
      freshJson = join(c.td.work, "fresh.cdk.tf.json");
      copyFileSync(join(c.td.deployment.stackDir, "cdk.tf.json"), freshJson);
      next = await writeBundle(c, "next");
      loop = startLoginLoop(server, `${name}: NEW bundle through every door`, next, POLICY);
      expect(await roles(server)).toEqual(["crashplanuser", "crashplanuser-next"]);
    });

    afterAll(async () => {
      await loop?.stop();
      c?.td.cleanup();
      stopBackend?.();
      await c?.server.stop();
    });

    test("npx cdktf diff and npm run drift both report no change", async () => {
      const diff = await cdktf(c, ["diff"]);
      expectCdktfNoChange(diff, `${name}: cdktf diff`);
      expect(diff.output).toMatch(/No changes|found no differences/);
      const drift = await npmRun(c, driftMain);
      say(`${name}: npm run drift exit ${drift.code} in ${drift.seconds} s`);
      expect(drift.output).toBe("in sync: Vault matches the configuration\n");
      expect(drift.code).toBe(0);
    });

    test("raw engine in cdktf.out/stacks/keystore: a JSON synthesized before rotate start is refused at plan; a fresh one plans and applies nothing", async () => {
      const stackJson = join(c.td.deployment.stackDir, "cdk.tf.json");
      copyFileSync(staleJson, stackJson);
      const stale = await rawEngine(c, ["plan", "-input=false", "-no-color", "-out=stale.plan"]);
      say(`${name}: raw plan of the stale JSON exit ${stale.code} in ${stale.seconds} s`);
      expect(stale.output).toMatch(/postcondition failed/i);
      expect(stale.output.replace(/\s+/g, " ")).toMatch(/rotation phase "started", but this configuration was synthesized for phase "idle"/);
      expect(stale.code).toBe(1);

      copyFileSync(freshJson, stackJson);
      const plan = await rawEngine(c, ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=fresh.plan"]);
      say(`${name}: raw plan of the fresh JSON exit ${plan.code} in ${plan.seconds} s`);
      expect(plan.output).toContain("No changes.");
      expect(plan.code).toBe(0);
      const apply = await rawEngine(c, ["apply", "-input=false", "-no-color", "fresh.plan"]);
      expect(apply.output).toMatch(/Apply complete! Resources: 0 added, 0 changed, 0 destroyed/);
      expect(apply.code).toBe(0);
      expect(await roles(c.server)).toEqual(["crashplanuser", "crashplanuser-next"]);
    });

    test("npx cdktf deploy --auto-approve changes nothing; the NEW bundle logged in throughout with 0 failures", async () => {
      const deployed = await cdktf(c, ["deploy", "--auto-approve"]);
      expectCdktfNoChange(deployed, `${name}: cdktf deploy`);
      expect(deployed.output).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
      expect(await roles(c.server)).toEqual(["crashplanuser", "crashplanuser-next"]);
      const counts = await loop!.stop();
      loop = undefined;
      expectClean(counts);
      const drift = await npmRun(c, driftMain);
      expect(drift.code).toBe(0);
    });

    // Issue 29: the same doors pointed at another cluster (a fresh server B) refuse before anything is refreshed.
    if (options.otherCluster) {
      test("pointed at a fresh server B: npx cdktf diff and deploy refuse in one line naming both clusters, a raw engine plan is refused inside the engine; the state is unchanged", async () => {
        const B = await startTestServer();
        try {
          const onB: Checkout = { ...c, server: B, fresh: () => isolatedDeployment(c.td.work, B.env, c.settings) };
          const [idA, idB] = await Promise.all([c.server, B].map((s) => readClusterIdentity(endpointFromEnv(s.env), s.env.VAULT_TOKEN)));
          const named = (id: ClusterIdentity) => `${id.clusterName} (id ${id.clusterId}, token auth ${id.tokenAccessor})`;
          // The state as stored: a local file byte for byte; a pg state as `state pull` prints it, less the check
          // results, which the engine writes in no fixed order.
          const local = c.td.deployment.config.backend.type === "local";
          const pulled = async () => {
            if (local) return readFileSync(join(c.td.deployment.config.stateDir, "keystore.tfstate"), "utf8");
            const { check_results: _checks, ...state } = JSON.parse((await rawEngine(c, ["state", "pull"])).output) as Record<string, unknown>;
            return JSON.stringify(state);
          };
          const before = await pulled();
          expect(before).toContain(idA.tokenAccessor);
          const refusal = new RegExp(
            `VAULT_ADDR=${escape(B.env.VAULT_ADDR)} answers as ${escape(named(idB))}, but the state .+ belongs to ${escape(named(idA))}: ` +
              "point VAULT_ADDR .*npm run rebind`\\. Nothing was changed\\.",
          );
          for (const args of [["diff"], ["deploy", "--auto-approve"]]) {
            const door = await cdktf(onB, args);
            say(`${name}: cdktf ${args[0]} against B exit ${door.code} in ${door.seconds} s`);
            expect(door.output.replace(/\s+/g, " ")).toMatch(refusal);
            expect(door.output).not.toMatch(/Refreshing state|will be (created|destroyed)/);
            expect(door.code).not.toBe(0);
          }
          // A JSON synthesized for A (the one cdktf.out holds), planned by hand against B: refused by the stack's own check.
          const raw = await rawEngine(onB, ["plan", "-input=false", "-no-color", "-out=b.plan"]);
          say(`${name}: raw plan against B exit ${raw.code} in ${raw.seconds} s`);
          expect(raw.output.replace(/\s+/g, " ")).toContain(
            `This state belongs to the Vault cluster whose token auth is ${idA.tokenAccessor} (name "${idA.clusterName}", id "${idA.clusterId}"), ` +
              `but the engine talks to the cluster whose token auth is ${idB.tokenAccessor}: `,
          );
          expect(raw.code).toBe(1);
          expect(await pulled()).toBe(before);
          expect(Object.keys((await B.call({ path: "sys/mounts" })).json.data)).not.toContain("pki/");
          expect((await npmRun(c, driftMain)).code).toBe(0);
        } finally {
          await B.stop();
        }
      });
    }
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

rotationDoors("local plain state (Terraform 1.11)", async () => ({ settings: { C42_ENGINE: "terraform" } }), { otherCluster: true });

rotationDoors("local encrypted state (OpenTofu)", async () => ({ settings: { C42_ENGINE: "tofu", C42_STATE_PASSPHRASE: PASSPHRASE } }));

let pgForRotation: TestPostgres | undefined;
rotationDoors(
  "pg state (Terraform 1.11)",
  async () => {
    pgForRotation = await startTestPostgres();
    return {
      settings: { C42_ENGINE: "terraform", C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "c42_records", ...pgForRotation.env },
      stop: () => pgForRotation?.stop(),
    };
  },
  { otherCluster: true },
);

describe("pg state (OpenTofu), adopted keystore: cdktf builds around the adopted CAs; after rotate start every door keeps both roles", () => {
  let c: Checkout;
  let pg: TestPostgres;
  let recipeDir: string;
  let hand: Bundle;
  const loops: { stop(): Promise<LoopCounts> }[] = [];

  beforeAll(async () => {
    let server: TestServer;
    [server, pg] = await Promise.all([startTestServer(), startTestPostgres()]);
    c = checkout(server, { C42_ENGINE: "tofu", C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "c42_adopted", ...pg.env });
    recipeDir = mkdtempSync(join(tmpdir(), "c42-recipe-"));
    await buildKeystoreByHand({ bao: loadToolchain().bao, vaultEnv: server.env, dir: recipeDir, seed: loadConfig({ env: {}, cwd: recipeDir }) });
    hand = readBundle(recipeDir, RECIPE_FILES.p12, RECIPE_FILES.password);
    const adopted = await npmRun(c, (argv, make, io) => adoptMain(argv, make, io, { interactive: false, ask: async () => false }), ["--yes"]);
    say(`adopt on pg: exit ${adopted.code} in ${adopted.seconds} s`);
    expect(adopted.code).toBe(0);
  });

  afterAll(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    if (recipeDir) rmSync(recipeDir, { recursive: true, force: true });
    c?.td.cleanup();
    pg?.stop();
    await c?.server.stop();
  });

  test("right after adopt: cdktf diff and drift report no change (cdktf read the adoption record from pg)", async () => {
    expectCdktfNoChange(await cdktf(c, ["diff"]), "adopted: cdktf diff");
    expect((await npmRun(c, driftMain)).code).toBe(0);
  });

  test("after rotate start: cdktf diff and drift report no change; cdktf deploy changes nothing; the new and the hand-made bundle log in throughout", async () => {
    const handLoop = startLoginLoop(c.server, "adopted: hand-made p12", hand, POLICY);
    loops.push(handLoop);
    expect((await npmRun(c, rotateMain, ["start"])).code).toBe(0);
    const next = await writeBundle(c, "next");
    const nextLoop = startLoginLoop(c.server, "adopted: NEW bundle", next, POLICY);
    loops.push(nextLoop);
    expectCdktfNoChange(await cdktf(c, ["diff"]), "adopted, rotation started: cdktf diff");
    const drift = await npmRun(c, driftMain);
    expect(drift.output).toBe("in sync: Vault matches the configuration\n");
    const deployed = await cdktf(c, ["deploy", "--auto-approve"]);
    expectCdktfNoChange(deployed, "adopted, rotation started: cdktf deploy");
    expect(deployed.output).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
    expect(await roles(c.server)).toEqual(["crashplanuser", "crashplanuser-next"]);
    expectClean(await nextLoop.stop());
    expectClean(await handLoop.stop());
    loops.splice(0);
  });
});
