import { PlanJson, ResourceChange } from "../../../ops/engine/plan-json";
import { fitToState, formatPlan, summarizePlan } from "../../../ops/lifecycle/adopt";

// The plan adopt applies: imports, the cert role written again, in-place
// changes; anything that destroys, replaces or makes a CA beside an adopted one is refused.

const change = (address: string, actions: string[], extra: Partial<ResourceChange["change"]> & { importing?: { id: string } } = {}): ResourceChange => ({
  address,
  type: address.split(".")[0],
  name: address.split(".")[1],
  change: { actions, before: actions.includes("create") ? null : { description: "" }, after: { description: "Code42" }, ...extra },
});
const adopted = { adoption: { rootIssuerId: "r", intermediateIssuerId: "i" } };

describe("summarizePlan", () => {
  test("imports, writes and in-place changes, named by address and attribute, with the summary line", () => {
    const plan: PlanJson = {
      resource_changes: [
        change("vault_mount.kv", ["update"], { importing: { id: "secret" } }),
        change("vault_policy.policy", ["no-op"], { importing: { id: "crashplanPolicy" }, before: { policy: "x" }, after: { policy: "x" } }),
        change("vault_cert_auth_backend_role.certRole", ["create"]),
      ],
    };
    const summary = summarizePlan(plan, [], adopted);
    expect(summary).toEqual({
      imports: ["vault_mount.kv", "vault_policy.policy"],
      creates: ["vault_cert_auth_backend_role.certRole"],
      updates: [{ address: "vault_mount.kv", attributes: ["description"] }],
      blindSpots: [],
      summary: "Plan: 2 to import, 1 to add, 1 to change, 0 to destroy.",
    });
    expect(formatPlan(summary)).toBe(
      "Plan: 2 to import, 1 to add, 1 to change, 0 to destroy.\n" +
        "  import   vault_mount.kv\n  import   vault_policy.policy\n  write    vault_cert_auth_backend_role.certRole\n  change   vault_mount.kv: description\n",
    );
  });

  test.each([
    [["delete", "create"], "vault_mount.pki", "vault_mount.pki (delete, create)"],
    [["delete"], "vault_policy.policy", "vault_policy.policy (delete)"],
    [["create"], "vault_pki_secret_backend_root_cert.root", "vault_pki_secret_backend_root_cert.root (would make a CA beside the adopted one)"],
    [
      ["create"],
      "vault_pki_secret_backend_intermediate_cert_request.req",
      "vault_pki_secret_backend_intermediate_cert_request.req (would make a CA beside the adopted one)",
    ],
  ])("refuses %j on %s", (actions, address, named) => {
    expect(() => summarizePlan({ resource_changes: [change(address, actions)] }, [], adopted)).toThrow(
      `adopt refuses a plan that would ${named}: adopt never replaces or removes a mount, CA, issuer or role. Nothing was changed`,
    );
  });

  test("a CA the adoption does not cover may be made (an interrupted deploy that never got that far)", () => {
    const plan = { resource_changes: [change("vault_pki_secret_backend_intermediate_cert_request.req", ["create"])] };
    expect(summarizePlan(plan, [], { adoption: { rootIssuerId: "r" } }).creates).toEqual(["vault_pki_secret_backend_intermediate_cert_request.req"]);
  });
});

describe("fitToState: a state that records part of the keystore keeps it", () => {
  const found = {
    adoption: { rootIssuerId: "r", intermediateIssuerId: "i", adminCertificatePem: "PEM" },
    imports: { kv: "secret", pki: "pki", pkiUrls: "pki/config/urls", policy: "crashplanPolicy" },
  };
  const resource = (type: string, id?: string) => ({ address: `${type}.x`, type, id, issuerIds: [] });

  test("an empty state: everything found is adopted and imported", () => {
    expect(fitToState(found, [], undefined)).toEqual(found);
  });

  test("no import of what the state records; no CA or certificate adopted whose resource it records", () => {
    const recorded = [
      resource("vault_mount", "secret"),
      resource("vault_mount", "pki"),
      resource("vault_pki_secret_backend_root_cert", "pki/root/generate/internal"),
      resource("vault_cert_auth_backend_role", "auth/cert/certs/crashplanUser"),
    ];
    expect(fitToState(found, recorded, undefined)).toEqual({
      adoption: { rootIssuerId: undefined, intermediateIssuerId: "i", adminCertificatePem: undefined },
      imports: { pkiUrls: "pki/config/urls", policy: "crashplanPolicy" },
    });
  });

  test("what the state records as adopted stays adopted", () => {
    const recorded = [resource("vault_pki_secret_backend_cert", "c")];
    expect(fitToState(found, recorded, { rootIssuerId: "r0", adminCertificatePem: "OLD" }).adoption).toEqual({
      rootIssuerId: "r0",
      intermediateIssuerId: "i",
      adminCertificatePem: "OLD",
    });
  });
});
