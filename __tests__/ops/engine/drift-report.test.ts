import { PlanJson, ResourceChange, changedAttributes, normalizeValue } from "../../../ops/engine/plan-json";
import { ADDRESS, rc } from "../../helpers/plans";
import { buildDriftReport, formatDriftReport } from "../../../ops/engine/drift-report";

const { policy: POLICY, kv: KV, role: ROLE, certAuth: AUTH, adminCert: CERT } = ADDRESS;

/** What the engine printed right after a first deploy: refresh turned nulls into empty lists. */
const NOISE: ResourceChange[] = [
  rc(ROLE, ["update"], { name: "cpRole", country: null, ou: null, allow_any_name: true }, { name: "cpRole", country: [], ou: [], allow_any_name: true }),
  rc(
    AUTH,
    ["update"],
    { tune: [{ default_lease_ttl: "1m", allowed_response_headers: null, token_type: "" }] },
    { tune: [{ default_lease_ttl: "1m", allowed_response_headers: [], token_type: "" }] },
  ),
  rc(KV, ["update"], { options: null, path: "secret" }, { options: {}, path: "secret" }),
];

describe("normalizeValue", () => {
  test("treats null, empty string, empty list and empty map alike, recursively", () => {
    expect(normalizeValue(null)).toBeNull();
    expect(normalizeValue("")).toBeNull();
    expect(normalizeValue([])).toBeNull();
    expect(normalizeValue({ a: null, b: [] })).toBeNull();
    expect(normalizeValue([{ x: "", y: 1 }])).toEqual([{ y: 1 }]);
  });

  test("keeps false, zero and non-empty values", () => {
    expect(normalizeValue(false)).toBe(false);
    expect(normalizeValue(0)).toBe(0);
    expect(normalizeValue(["a"])).toEqual(["a"]);
  });
});

describe("changedAttributes", () => {
  test("names the attributes whose values differ, sorted", () => {
    expect(
      changedAttributes(
        rc(ROLE, ["update"], { client_flag: true, allow_any_name: true, name: "cpRole" }, { client_flag: false, allow_any_name: false, name: "cpRole" }).change,
      ),
    ).toEqual(["allow_any_name", "client_flag"]);
  });

  test("names attributes only known after apply", () => {
    const change = rc(
      CERT,
      ["delete", "create"],
      { serial_number: "1a", certificate: "PEM", ttl: "180s" },
      { ttl: "180s" },
      { serial_number: true, certificate: true },
    ).change;
    expect(changedAttributes(change)).toEqual(["certificate", "serial_number"]);
  });

  test("is empty for a resource created or deleted as a whole", () => {
    expect(changedAttributes(rc(KV, ["create"], null, { path: "secret" }).change)).toEqual([]);
    expect(changedAttributes(rc(KV, ["delete"], { path: "secret" }, null).change)).toEqual([]);
  });
});

describe("buildDriftReport", () => {
  test("an empty plan and refresh noise are in sync", () => {
    expect(buildDriftReport({})).toEqual({ inSync: true, drifted: [] });
    const plan: PlanJson = { resource_drift: NOISE, resource_changes: NOISE.map((r) => rc(r.address, ["no-op"], r.change.after, r.change.after)) };
    expect(buildDriftReport(plan)).toEqual({ inSync: true, drifted: [] });
  });

  test("an edited policy: one entry from drift and change, merged", () => {
    const before = { name: "crashplanPolicy", policy: 'path "pki/issue/*" {}' };
    const edited = { name: "crashplanPolicy", policy: 'path "secret/*" {}' };
    const plan: PlanJson = {
      resource_drift: [...NOISE, rc(POLICY, ["update"], before, edited)],
      resource_changes: [rc(POLICY, ["update"], edited, before), rc(KV, ["no-op"], {}, {})],
    };
    expect(buildDriftReport(plan)).toEqual({ inSync: false, drifted: [{ address: POLICY, actions: ["update"], attributes: ["policy"] }] });
  });

  test("a disabled mount is reported with what the deploy will do and no attributes", () => {
    const plan: PlanJson = {
      resource_drift: [rc(KV, ["delete"], { path: "secret", type: "kv" }, null)],
      resource_changes: [rc(KV, ["create"], null, { path: "secret", type: "kv" }, { accessor: true, id: true })],
    };
    expect(buildDriftReport(plan)).toEqual({ inSync: false, drifted: [{ address: KV, actions: ["create"], attributes: [] }] });
  });

  test("a change pending without drift (the configuration changed) counts too", () => {
    const plan: PlanJson = { resource_changes: [rc(ROLE, ["update"], { client_flag: true }, { client_flag: false })] };
    expect(buildDriftReport(plan).drifted).toEqual([{ address: ROLE, actions: ["update"], attributes: ["client_flag"] }]);
  });

  test("a difference the plan cannot see is added, or merged into the resource's entry", () => {
    const blind = [{ address: AUTH, attribute: "tune.default_lease_ttl" }];
    expect(buildDriftReport({ resource_drift: NOISE }, blind)).toEqual({
      inSync: false,
      drifted: [{ address: AUTH, actions: ["update"], attributes: ["tune.default_lease_ttl"] }],
    });
    const plan: PlanJson = {
      resource_changes: [rc(AUTH, ["update"], { description: "a" }, { description: "b" }), rc(POLICY, ["update"], { policy: "x" }, { policy: "y" })],
    };
    expect(buildDriftReport(plan, blind).drifted).toEqual([
      { address: AUTH, actions: ["update"], attributes: ["description", "tune.default_lease_ttl"] },
      { address: POLICY, actions: ["update"], attributes: ["policy"] },
    ]);
  });

  test("the report and its text never carry values", () => {
    const key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----";
    const plan: PlanJson = {
      resource_changes: [rc(CERT, ["delete", "create"], { private_key: key, serial_number: "1a" }, {}, { private_key: true, serial_number: true })],
    };
    const report = buildDriftReport(plan);
    expect(report.drifted).toEqual([{ address: CERT, actions: ["delete", "create"], attributes: ["private_key", "serial_number"] }]);
    expect(JSON.stringify(report)).not.toContain("BEGIN");
    expect(formatDriftReport(report)).not.toContain("BEGIN");
  });
});

describe("formatDriftReport", () => {
  test("one line per drifted resource with its construct path", () => {
    const report = {
      inSync: false,
      drifted: [
        { address: KV, actions: ["create"], attributes: [] },
        { address: ROLE, actions: ["update"], attributes: ["allow_any_name", "client_flag"] },
      ],
    };
    expect(formatDriftReport(report, new Map([[KV, "keystore/kv/mount"]]))).toBe(
      `drift: ${KV} (keystore/kv/mount): create: whole resource\n` + `drift: ${ROLE}: update: allow_any_name, client_flag\n`,
    );
  });

  test("in sync is one line", () => {
    expect(formatDriftReport({ inSync: true, drifted: [] })).toBe("in sync: Vault matches the configuration\n");
  });
});
