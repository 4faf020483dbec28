import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  StateLocationChangedError,
  assertStateLocationUnchanged,
  describeLocation,
  pgConnection,
  recordLocation,
  recordedLocation,
  sameLocation,
} from "../../../ops/engine/state-location";

describe("state location: the record, the engine's record, the comparison", () => {
  let dir: string;
  let stackDir: string;
  let record: string;
  const synthesize = (backend: Record<string, unknown>) => writeFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify({ terraform: { backend } }));
  const engineRecord = (backend: Record<string, unknown>) => {
    mkdirSync(join(stackDir, ".terraform"), { recursive: true });
    writeFileSync(join(stackDir, ".terraform", "terraform.tfstate"), JSON.stringify({ version: 3, backend: { ...backend, hash: 123 } }));
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "c42-location-"));
    stackDir = join(dir, "cdktf.out", "stacks", "keystore");
    mkdirSync(stackDir, { recursive: true });
    record = join(dir, ".local", "state-location.json");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a first run (no record anywhere) passes", () => {
    synthesize({ local: { path: "/s/keystore.tfstate" } });
    expect(recordedLocation(stackDir, record)).toBeUndefined();
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).not.toThrow();
  });

  test("the engine's record counts when ours is missing; its unset options (null) are ignored", () => {
    engineRecord({ type: "local", config: { path: "/s/keystore.tfstate", workspace_dir: null } });
    synthesize({ local: { path: "/s/keystore.tfstate" } });
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).not.toThrow();
    synthesize({ local: { path: "/t/keystore.tfstate" } });
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).toThrow(StateLocationChangedError);
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).toThrow(
      /^the state location changed: this checkout last used the local file \/s\/keystore\.tfstate, the configuration now says the local file \/t\/keystore\.tfstate\. Nothing was changed\. .*npm run migrate-state/,
    );
  });

  test("our record wins over the engine's, is 0600, and holds only the backend block", () => {
    engineRecord({ type: "local", config: { path: "/old/keystore.tfstate" } });
    recordLocation(record, { type: "pg", config: { schema_name: "c42_keystore" } });
    expect((statSync(record).mode & 0o777).toString(8)).toBe("600");
    expect(recordedLocation(stackDir, record)).toEqual({ type: "pg", config: { schema_name: "c42_keystore" } });
    synthesize({ pg: { schema_name: "c42_keystore" } });
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).not.toThrow();
    synthesize({ pg: { schema_name: "other" } });
    expect(() => assertStateLocationUnchanged(stackDir, record, {})).toThrow(/PostgreSQL schema "c42_keystore" .* now says PostgreSQL schema "other"/);
  });

  test("comparison ignores key order and unset values; a different option or type differs", () => {
    const s3 = { type: "s3", config: { bucket: "b", key: "k", encrypt: true, region: "eu-west-1" } };
    expect(sameLocation(s3, { type: "s3", config: { region: "eu-west-1", encrypt: true, key: "k", bucket: "b", endpoints: null } })).toBe(true);
    expect(sameLocation(s3, { type: "s3", config: { ...s3.config, key: "other" } })).toBe(false);
    expect(sameLocation(s3, { type: "gcs", config: s3.config })).toBe(false);
    expect(describeLocation(s3)).toBe("the s3 backend (bucket=b, key=k, encrypt=true, region=eu-west-1)");
  });

  test("pg: the connection the environment points at is part of the location (host, port, database; never user or password)", () => {
    expect(pgConnection({ PG_CONN_STR: "postgres://c42:secret@db.example.com:6432/keystore?sslmode=verify-full" })).toBe("db.example.com:6432/keystore");
    expect(pgConnection({ PG_CONN_STR: "host=db2 port=5433 dbname=ks user=c42 password=secret" })).toBe("db2:5433/ks");
    expect(pgConnection({ PGHOST: "db3", PGDATABASE: "ks3" })).toBe("db3:5432/ks3");
    recordLocation(record, { type: "pg", config: { schema_name: "c42_keystore" }, connection: "db.example.com:6432/keystore" });
    expect(readFileSync(record, "utf8")).not.toContain("secret");
    synthesize({ pg: { schema_name: "c42_keystore" } });
    expect(() => assertStateLocationUnchanged(stackDir, record, { PG_CONN_STR: "postgres://c42@db.example.com:6432/keystore" })).not.toThrow();
    expect(() => assertStateLocationUnchanged(stackDir, record, { PG_CONN_STR: "postgres://other:pw@db.example.com:6432/elsewhere" })).toThrow(
      /last used PostgreSQL schema "c42_keystore" on db\.example\.com:6432\/keystore, the configuration now says PostgreSQL schema "c42_keystore" on db\.example\.com:6432\/elsewhere\./,
    );
  });
});
