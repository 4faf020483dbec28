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

describe("state in a real PostgreSQL (pg backend), two deploys at once", () => {
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

  test("one applies, the other stops cleanly at the state lock", () => {
    const applied = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect({ applied: applied.length, refused: refused.length }).toEqual({ applied: 1, refused: 1 });
    const message = (refused[0].reason as Error).message;
    expect(message).toMatch(/^another run holds the state lock/);
    expect(message).toMatch(/Error acquiring the state lock/);
    expect(message).toMatch(/tofu apply failed \(exit 1\)/);
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

  test("the lock is released: the run that was refused now plans no changes", async () => {
    const loser = runs[outcomes.findIndex((o) => o.status === "rejected")];
    const plan = await loser.deployment.plan();
    expect(plan.code).toBe(0);
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
