import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { migrateStateMain } from "../../ops/commands/migrate-state";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { TestPostgres, startTestPostgres } from "./postgres";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

/**
 * Issue 14: moving the state (another stateDir, local to pg, plain to encrypted) stops the next
 * deploy with one message naming both locations and `migrate-state`, before the engine runs;
 * `migrate-state` moves it with a 0600 backup, and drift is in sync afterwards.
 */
describe("changing where the state lives: a clear refusal, then migrate-state", () => {
  let server: TestServer;
  let pg: TestPostgres;
  let td: TestDeployment;
  let settings: Record<string, string> = {};
  const timings: Record<string, number> = {};
  // One checkout (work: cdktf.out, .local) whose settings change between tests.
  const checkout = (extra: Record<string, string> = {}): Deployment => isolatedDeployment(td.work, server.env, { ...settings, ...extra });
  const run = async (main: (io: ReturnType<typeof capture>["io"]) => Promise<number>) => {
    const { out, io } = capture();
    const started = Date.now();
    const code = await main(io);
    return { code, ms: Date.now() - started, ...out };
  };
  const deploy = () => run((io) => deployMain([], () => checkout(), io));
  const drift = () => run((io) => driftMain([], () => checkout(), io));
  const migrate = (...argv: string[]) => run((io) => migrateStateMain(argv, (extra) => checkout(extra), io));
  const stateDir = (name: string) => join(td.work, name);
  const localFile = (name: string) => join(stateDir(name), "keystore.tfstate");

  beforeAll(async () => {
    [server, pg] = await Promise.all([startTestServer(), startTestPostgres()]);
    td = testDeployment(server);
    settings = { C42_STATE_DIR: stateDir("state-a") };
    await checkout().apply();
  });

  afterAll(async () => {
    console.log(`state migration timings (ms): ${JSON.stringify(timings)}`);
    td?.cleanup();
    pg?.stop();
    await server?.stop();
  });

  test("local → local (another C42_STATE_DIR): deploy refuses with both files and the command, before the engine, changing nothing", async () => {
    const before = readFileSync(localFile("state-a"));
    settings = { C42_STATE_DIR: stateDir("state-b") };
    const r = await deploy();
    timings.refusal = r.ms;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `deploy: the state location changed: this checkout last used the local file ${localFile("state-a")}, the configuration now says the local file ${localFile("state-b")}. ` +
        "Nothing was changed. To move the state there (the old state is backed up first), run: npm run migrate-state  (c42-keystore migrate-state); " +
        "to start with no state at the new location instead, which then knows nothing of the objects already in Vault: npm run migrate-state -- --fresh; " +
        "or set the location back (stateDir/C42_STATE_DIR, backend.*/C42_BACKEND_*)\n",
    );
    expect(r.stdout).toBe("");
    expect(readFileSync(localFile("state-a")).equals(before)).toBe(true);
    expect(existsSync(stateDir("state-b"))).toBe(false);
  });

  test("local → local: migrate-state moves it with a 0600 backup of the old state; drift exits 0", async () => {
    const old = readFileSync(localFile("state-a"));
    const resources = (JSON.parse(old.toString()).resources as unknown[]).length;
    expect(resources).toBeGreaterThan(10);
    const r = await migrate();
    timings.migrateLocal = r.ms;
    expect(r.stderr).toBe("");
    const backup = /backed up in (\S+) \(0600\)/.exec(r.stdout)?.[1] as string;
    expect(r.stdout).toBe(
      `moved the state from the local file ${localFile("state-a")} to the local file ${localFile("state-b")} (${resources} resources); ` +
        `the old state is backed up in ${backup} (0600). The old location is left as it was: remove it once you have checked the new one (it holds the admin private key)\n`,
    );
    expect(r.code).toBe(0);
    expect(backup.startsWith(join(td.work, ".local", "state-backups") + "/")).toBe(true);
    expect(mode(backup)).toBe("0600");
    expect(readFileSync(backup).equals(old)).toBe(true);
    expect(mode(localFile("state-b"))).toBe("0600");
    expect((JSON.parse(readFileSync(localFile("state-b"), "utf8")).resources as unknown[]).length).toBe(resources);
    const d = await drift();
    expect(d.stdout).toMatch(/in sync/i);
    expect(d.code).toBe(0);
  });

  test("a second migrate-state has nothing to do and says so", async () => {
    const r = await migrate();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`migrate-state: nothing to migrate: the state is at the local file ${localFile("state-b")}, where this checkout last used it\n`);
  });

  test("plain → encrypted: with C42_STATE_PASSPHRASE, migrate-state encrypts the state in place; drift exits 0 with the passphrase", async () => {
    settings = { ...settings, C42_STATE_PASSPHRASE: randomBytes(18).toString("base64") };
    const refused = await deploy();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^deploy: C42_STATE_PASSPHRASE is set but the state is not encrypted yet: .*npm run migrate-state/);
    const r = await migrate();
    timings.encryptInPlace = r.ms;
    expect(r.stdout).toMatch(
      new RegExp(`^encrypted the state at the local file ${localFile("state-b")} \\(\\d+ resources\\); the old state is backed up in \\S+ \\(0600\\)\n$`),
    );
    expect(r.code).toBe(0);
    const state = readFileSync(localFile("state-b"), "utf8");
    expect(JSON.parse(state)).toHaveProperty("encrypted_data");
    expect(state.includes("PRIVATE KEY")).toBe(false);
    expect(existsSync(`${localFile("state-b")}.backup`) && readFileSync(`${localFile("state-b")}.backup`, "utf8").includes("PRIVATE KEY")).toBe(false);
    expect((await drift()).code).toBe(0);
  });

  test("local → pg (encrypted): deploy refuses naming the file and the schema; migrate-state moves it; drift exits 0", async () => {
    const before = readFileSync(localFile("state-b"));
    settings = { ...settings, C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "c42_moved", ...pg.env };
    const refused = await deploy();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^deploy: the state location changed: this checkout last used the local file ${localFile("state-b")}, the configuration now says PostgreSQL schema "c42_moved" on 127\\.0\\.0\\.1:${pg.port}/postgres\\. Nothing was changed\\. .*npm run migrate-state`,
      ),
    );
    expect(pg.sql("select count(*) from information_schema.schemata where schema_name = 'c42_moved'")).toBe("0");

    const r = await migrate();
    timings.migratePg = r.ms;
    expect(r.stdout).toMatch(
      /^moved the state from the local file .* to PostgreSQL schema "c42_moved" .*\(\d+ resources\); the old state is backed up in \S+ \(0600\)/,
    );
    expect(r.code).toBe(0);
    const backup = /backed up in (\S+) \(0600\)/.exec(r.stdout)?.[1] as string;
    expect(mode(backup)).toBe("0600");
    expect(readFileSync(backup).equals(before)).toBe(true);
    const stored = pg.sql("select data from c42_moved.states where name = 'default'");
    expect(JSON.parse(stored)).toHaveProperty("encrypted_data");
    expect(stored.includes("PRIVATE KEY")).toBe(false);
    expect((await drift()).code).toBe(0);
    for (const file of [join(td.work, ".local", "state-location.json")]) {
      expect(mode(file)).toBe("0600");
      expect(readFileSync(file).includes(pg.passwordForLeakChecks)).toBe(false);
    }
  });

  test("PG_CONN_STR pointing at another database (same schema): refused before the engine; migrate-state says it cannot move it", async () => {
    const moved = settings;
    settings = { ...settings, PG_CONN_STR: pg.env.PG_CONN_STR.replace("/postgres?", "/template1?") };
    try {
      const refused = await deploy();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^deploy: the state location changed: this checkout last used PostgreSQL schema "c42_moved" on 127\\.0\\.0\\.1:${pg.port}/postgres, the configuration now says PostgreSQL schema "c42_moved" on 127\\.0\\.0\\.1:${pg.port}/template1\\.`,
        ),
      );
      const r = await migrate();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^migrate-state: the state cannot be moved from .*\/postgres to .*\/template1 by the engine: the connection comes from the environment, .*Nothing was changed\./,
      );
      expect(pg.sql("select count(*) from information_schema.schemata where schema_name = 'c42_moved'")).toBe("1");
    } finally {
      settings = moved;
    }
  });

  test("--fresh: the new location starts empty, and the command says what that means", async () => {
    settings = { ...settings, C42_BACKEND_PG_SCHEMA_NAME: "c42_fresh" };
    const r = await migrate("--fresh");
    expect(r.stdout).toMatch(
      /^the state is now at PostgreSQL schema "c42_fresh" .*, started fresh \(0 resources there\); the old state is backed up in \S+ \(0600, in plain text although the state is encrypted: delete it once the new location is checked\)\. The \d+ resources the old state tracked are still in Vault, unknown to this state: the next deploy tries to create them again\n$/,
    );
    expect(r.code).toBe(0);
    expect(pg.sql("select count(*) from c42_moved.states")).toBe("1");
    const d = await drift();
    // Nothing is recorded there: drift says so instead of listing every resource as one to create.
    expect(d).toMatchObject({ code: 1, stderr: expect.stringMatching(/^drift: There is no state at PostgreSQL schema "c42_fresh" .*: check backend\.\n$/) });
  });
});
