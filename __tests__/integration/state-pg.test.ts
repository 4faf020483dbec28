import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { TestPostgres, startTestPostgres } from "./postgres";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const s = statSync(path, { throwIfNoEntry: false });
    if (!s) return [];
    return s.isDirectory() ? filesUnder(path) : s.isFile() && s.size < 50_000_000 ? [path] : [];
  });
}

describe("state in a real PostgreSQL (pg backend), two deploys at once from two checkouts", () => {
  let server: TestServer;
  let pg: TestPostgres;
  const runs: TestDeployment[] = [];
  let outcomes: PromiseSettledResult<unknown>[];
  let settings: Record<string, string>;

  beforeAll(async () => {
    [server, pg] = await Promise.all([startTestServer(), startTestPostgres()]);
    settings = { C42_BACKEND_TYPE: "pg", C42_BACKEND_PG_SCHEMA_NAME: "c42_keystore", ...pg.env };
    runs.push(testDeployment(server, settings), testDeployment(server, settings));
    outcomes = await Promise.allSettled(runs.map((r) => r.deployment.apply()));
  });

  afterAll(async () => {
    runs.forEach((r) => r.cleanup());
    pg?.stop();
    await server?.stop();
  });

  test("the second waits at the state lock (-lock-timeout from lockTimeout), then finds nothing to change", () => {
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected").map((o) => (o.reason as Error).message);
    expect(failed).toEqual([]);
    const outputs = outcomes.map((o) => (o as PromiseFulfilledResult<{ stdout: string }>).value.stdout);
    const created = outputs.filter((out) => /Apply complete! Resources: [1-9]\d* added, 0 changed, 0 destroyed/.test(out));
    const unchanged = outputs.filter((out) => /Apply complete! Resources: 0 added, 0 changed, 0 destroyed/.test(out));
    expect({ created: created.length, unchanged: unchanged.length }).toEqual({ created: 1, unchanged: 1 });
  });

  test("Vault has exactly one root CA and one intermediate", async () => {
    const issuers = async (mount: string) => {
      const ids = (await server.call({ method: "LIST", path: `${mount}/issuers` })).json.data.keys as string[];
      return Promise.all(ids.map(async (id) => (await server.call({ path: `${mount}/issuer/${id}` })).json.data as { key_id: string; certificate: string }));
    };
    const keys = async (mount: string) => (await server.call({ method: "LIST", path: `${mount}/keys` })).json.data.keys as string[];
    const root = await issuers("pki");
    expect(root).toHaveLength(1);
    expect(await keys("pki")).toHaveLength(1);
    // set-signed imports the whole chain: pki_int also holds the root's certificate, without its key.
    const intermediate = await issuers("pki_int");
    const withKey = intermediate.filter((i) => i.key_id !== "");
    expect(withKey).toHaveLength(1);
    expect(await keys("pki_int")).toHaveLength(1);
    for (const copy of intermediate.filter((i) => i.key_id === "")) expect(copy.certificate.trim()).toBe(root[0].certificate.trim());
    expect(withKey[0].certificate).not.toBe(root[0].certificate);
  });

  test("the state lives in PostgreSQL, not in a local file", () => {
    expect(pg.sql("select name from c42_keystore.states order by name")).toBe("default");
    const state = JSON.parse(pg.sql("select data from c42_keystore.states where name = 'default'"));
    const types = new Set((state.resources as { type: string }[]).map((r) => r.type));
    expect(types.has("vault_pki_secret_backend_root_cert")).toBe(true);
    expect(types.has("vault_pki_secret_backend_cert")).toBe(true);
    for (const run of runs) expect(existsSync(run.deployment.stateFile)).toBe(false);
  });

  test("the state in PostgreSQL matches the server: a third run plans no changes", async () => {
    const third = testDeployment(server, settings);
    try {
      const plan = await third.deployment.plan();
      expect(plan.stdout).toContain("No changes.");
      expect(plan.code).toBe(0);
    } finally {
      third.cleanup();
    }
  });

  test("the lock is released: both checkouts plan no changes", async () => {
    for (const run of runs) expect((await run.deployment.plan()).code).toBe(0);
  });

  test("the PostgreSQL password is in no file the engine or cdktf wrote", () => {
    for (const run of runs) {
      const files = filesUnder(run.work);
      expect(files.some((f) => f.endsWith(join(".terraform", "terraform.tfstate")))).toBe(true);
      for (const file of files) {
        expect({ file, leaks: readFileSync(file).includes(pg.passwordForLeakChecks) }).toEqual({ file, leaks: false });
      }
    }
  });
});
