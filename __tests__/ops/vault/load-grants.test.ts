import { LOAD_GRANT_PREFIX, LOAD_POLICY_MARKER, isLeftOver, isLoadGrantName, loadPolicyText, readLoadPolicyOwner } from "../../../ops/vault/load-grants";

/*
 * A load run's leftovers are removed only when both the name and the
 * contents are a load run's, and the run is over: nothing of the user's may
 * ever match.
 */
describe("load grant names and owners", () => {
  const owner = { pid: 4242, host: "build-1", until: new Date("2026-12-06T02:00:00.000Z") };

  test("only c42-keystore-load-<12 hex> is a load grant's name", () => {
    expect(isLoadGrantName(`${LOAD_GRANT_PREFIX}0123456789ab`)).toBe(true);
    for (const name of [
      "c42-keystore-load-0123456789a",
      "c42-keystore-load-0123456789abc",
      "c42-load-client",
      "crashplanUser",
      "c42-keystore-load-0123456789AB",
      "x-c42-keystore-load-0123456789ab",
    ]) {
      expect([name, isLoadGrantName(name)]).toEqual([name, false]);
    }
  });

  test("the policy carries its owner after the marker, and grants only <kv>/<prefix>/*", () => {
    const text = loadPolicyText(owner, "secret", "c42-load");
    expect(text.split("\n")[0]).toBe(LOAD_POLICY_MARKER);
    expect(readLoadPolicyOwner(text)).toEqual(owner);
    expect(text.match(/^path /gm)).toEqual(["path "]);
    expect(text).toContain('path "secret/c42-load/*" {');
  });

  test("a policy that does not start with the marker is never a load grant's", () => {
    const text = loadPolicyText(owner, "secret", "c42-load");
    expect(readLoadPolicyOwner(`# mine\n${text}`)).toBeUndefined();
    expect(readLoadPolicyOwner(text.replace("pid 4242", "pid x"))).toBeUndefined();
    expect(readLoadPolicyOwner('path "secret/*" { capabilities = ["read"] }')).toBeUndefined();
  });

  test("left over once its certificate expired, or when its run on this machine has ended; never while it runs elsewhere", () => {
    const before = new Date("2026-12-06T01:59:00Z");
    const after = new Date("2026-12-06T02:00:01Z");
    expect(isLeftOver(owner, after, () => true, "other")).toBe(true);
    expect(isLeftOver(owner, before, () => true, "build-1")).toBe(false);
    expect(isLeftOver(owner, before, () => false, "build-1")).toBe(true);
    expect(isLeftOver(owner, before, () => false, "build-2")).toBe(false);
  });
});
