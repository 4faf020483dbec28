import { PlanJson } from "../../../ops/engine/plan-json";
import { ADDRESS, rc } from "../../helpers/plans";
import { comparePlans, formatPlanSummary, isStale } from "../../../ops/engine/saved-plans";

const { policy: POLICY, role: ROLE, kv: KV, adminCert: CERT } = ADDRESS;

const configured = { name: "crashplanPolicy", policy: 'path "pki/issue/*" {}' };
const editedOnce = { name: "crashplanPolicy", policy: 'path "first/*" {}' };
const editedTwice = { name: "crashplanPolicy", policy: 'path "second/*" {}' };
const policyRepair = (before: Record<string, unknown>): PlanJson => ({
  resource_changes: [rc(POLICY, ["update"], before, configured), rc(KV, ["no-op"], { path: "secret" }, { path: "secret" })],
});

describe("comparePlans", () => {
  test("the same changes agree", () => {
    expect(comparePlans(policyRepair(editedOnce), policyRepair(editedOnce))).toEqual([]);
    expect(comparePlans({}, { resource_changes: [rc(KV, ["no-op"], {}, {})] })).toEqual([]);
  });

  test("empty forms of a value (null, [], {}) agree", () => {
    const a: PlanJson = { resource_changes: [rc(ROLE, ["update"], { ou: null, client_flag: false }, { ou: null, client_flag: true })] };
    const b: PlanJson = { resource_changes: [rc(ROLE, ["update"], { ou: [], client_flag: false }, { ou: [], client_flag: true })] };
    expect(comparePlans(a, b)).toEqual([]);
  });

  test("a change only a fresh plan has: the server changed", () => {
    const fresh: PlanJson = { resource_changes: [...policyRepair(editedOnce).resource_changes!, rc(KV, ["create"], null, { path: "secret" })] };
    expect(comparePlans(policyRepair(editedOnce), fresh)).toEqual([`${KV}: a fresh plan would create it; the saved plan leaves it alone`]);
  });

  test("a change only the saved plan has", () => {
    expect(comparePlans(policyRepair(editedOnce), {})).toEqual([`${POLICY}: the saved plan would update it; a fresh plan leaves it alone`]);
  });

  test("different actions on the same resource", () => {
    const saved: PlanJson = { resource_changes: [rc(CERT, ["update"], { ttl: "1h" }, { ttl: "2h" })] };
    const fresh: PlanJson = { resource_changes: [rc(CERT, ["delete", "create"], { ttl: "1h" }, { ttl: "2h" }, { serial_number: true })] };
    expect(comparePlans(saved, fresh)).toEqual([`${CERT}: the saved plan would update it; a fresh plan would delete+create it`]);
  });

  test("an update that starts from another value: the object was changed again in Vault", () => {
    expect(comparePlans(policyRepair(editedOnce), policyRepair(editedTwice))).toEqual([`${POLICY}: the update differs in policy`]);
  });

  test("an update that ends at another value (the configuration changed)", () => {
    const saved: PlanJson = { resource_changes: [rc(ROLE, ["update"], { client_flag: false, ttl: 1 }, { client_flag: true, ttl: 1 })] };
    const fresh: PlanJson = { resource_changes: [rc(ROLE, ["update"], { client_flag: false, ttl: 1 }, { client_flag: true, ttl: 2 })] };
    expect(comparePlans(saved, fresh)).toEqual([`${ROLE}: the update differs in ttl`]);
  });

  test("the differences never carry values", () => {
    const text = comparePlans(policyRepair(editedOnce), policyRepair(editedTwice)).join("\n");
    expect(text).not.toContain("first/*");
    expect(text).not.toContain("second/*");
  });
});

describe("isStale (the engine's rule)", () => {
  const stamp = (serial: number, lineage = "7c1e") => ({ serial, lineage });
  test("same serial and lineage: not stale", () => expect(isStale(stamp(4), stamp(4))).toBe(false));
  test("the serial moved: stale", () => expect(isStale(stamp(4), stamp(5))).toBe(true));
  test("another lineage: stale", () => expect(isStale(stamp(4), stamp(4, "other"))).toBe(true));
  test("no state on either side (first deploy, encrypted plan): the engine decides", () => {
    expect(isStale(undefined, stamp(4))).toBe(false);
    expect(isStale(stamp(4), undefined)).toBe(false);
    expect(isStale(stamp(0, ""), stamp(1))).toBe(false);
  });
});

describe("formatPlanSummary", () => {
  test("one line per change: actions, address and, for updates, the attributes", () => {
    const plan: PlanJson = {
      resource_changes: [rc(POLICY, ["update"], editedOnce, configured), rc(KV, ["create"], null, { path: "secret" }), rc(ROLE, ["no-op"], {}, {})],
    };
    expect(formatPlanSummary(plan)).toBe(`  update ${POLICY} (policy)\n  create ${KV}\n`);
    expect(formatPlanSummary({})).toBe("no changes\n");
  });
});
