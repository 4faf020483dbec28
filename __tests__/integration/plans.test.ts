import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyPlanMain } from "../../ops/commands/apply-plan";
import { planMain } from "../../ops/commands/plan";
import { Deployment } from "../../ops/engine/deployment";
import { currentStateStamp, isStale, planStateStamp } from "../../ops/engine/saved-plans";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { SERVER_CHANGED } from "../../ops/lifecycle/saved-plans";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";
import { capture } from "../helpers/io";

describe("saved plans on a real OpenBao with real OpenTofu", () => {
  let server: TestServer;
  let td: TestDeployment;
  let d: Deployment;
  let planFile: string;
  /** Set by a test that leaves the first stack converged (checked in sync) or untouched: its redeploy is spared. */
  let converged = false;

  const plan = async () => {
    const { out, io } = capture();
    const code = await planMain(["--out", planFile], () => d, io);
    expect(out.stderr).not.toContain("error");
    expect(code).toBe(0);
    return out.stdout;
  };
  const applyPlan = async () => {
    const { out, io } = capture();
    const code = await applyPlanMain([planFile], () => d, io);
    return { code, ...out };
  };
  const editPolicy = (text: string) =>
    server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: `path "${text}" {\n  capabilities = ["read"]\n}\n` } });
  const policyText = async () => (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
  const cpRoleFlags = async () => {
    const role = (await server.call({ path: "pki_int/roles/cpRole" })).json.data;
    return [role.allow_any_name, role.allow_subdomains, role.client_flag];
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    d = td.deployment;
    planFile = join(td.work, "plans", "keystore.tfplan");
    await deploy(d);
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  afterEach(async () => {
    // Each test starts from a converged stack, whatever the last one left.
    if (!converged) await deploy(d);
    converged = false;
  });

  test("plan writes a private plan file; apply-plan applies it and converges", async () => {
    ok(await server.call({ method: "POST", path: "pki_int/roles/cpRole", body: { allow_any_name: false, allow_subdomains: true, client_flag: false } }));
    const summary = await plan();
    expect(summary).toContain(`wrote ${planFile}`);
    expect(summary).toMatch(/update vault_pki_secret_backend_role\.\S+ \(allow_any_name, client_flag\)/);
    expect(summary).not.toContain("BEGIN");
    expect(statSync(planFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(planFile)).mode & 0o777).toBe(0o700);

    const applied = await applyPlan();
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(await cpRoleFlags()).toEqual([true, true, true]);
    expect(await checkDrift(d)).toEqual({ inSync: true, drifted: [] });
    converged = true;
  });

  test("a saved plan carries the repair of a cert auth tune change that tofu plan alone cannot see", async () => {
    ok(await server.call({ method: "POST", path: "sys/auth/cert/tune", body: { default_lease_ttl: "5m" } }));
    const summary = await plan();
    expect(summary).toMatch(/update vault_auth_backend\.\S+ \(.*tune.*\)/);
    expect((await applyPlan()).code).toBe(0);
    expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(60);
    expect(await checkDrift(d)).toEqual({ inSync: true, drifted: [] });
    converged = true;
  });

  test("a plan made before an out-of-band change to another resource is refused and nothing is applied", async () => {
    ok(await editPolicy("first/*"));
    await plan();
    ok(await server.call({ method: "POST", path: "pki_int/roles/cpRole", body: { allow_any_name: true, allow_subdomains: true, client_flag: false } }));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`apply-plan: refused: ${SERVER_CHANGED}:`);
    expect(refused.stderr).toMatch(/vault_pki_secret_backend_role\.\S+: a fresh plan would update it; the saved plan leaves it alone/);
    expect(refused.stderr).toContain("nothing was applied");
    // Both the out-of-band change and the one the plan would have repaired are still there.
    expect(await cpRoleFlags()).toEqual([true, true, false]);
    expect(await policyText()).toContain('path "first/*"');
  });

  test("a plan made before a second change to the resource it updates is refused", async () => {
    ok(await editPolicy("first/*"));
    await plan();
    ok(await editPolicy("second/*"));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/vault_policy\.\S+: the update differs in policy\n/);
    expect(await policyText()).toContain('path "second/*"');
  });

  test("a plan with no changes, made before the kv mount was disabled, is refused", async () => {
    expect(await plan()).toContain("no changes");
    ok(await server.call({ method: "DELETE", path: "sys/mounts/secret" }));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/vault_mount\.kv_mount_\S+: a fresh plan would create it/);
    expect((await server.call({ path: "sys/mounts" })).json.data["secret/"]).toBeUndefined();
  });

  test("a plan made before a cert auth tune change (invisible to any plan) is refused", async () => {
    expect(await plan()).toContain("no changes");
    ok(await server.call({ method: "POST", path: "sys/auth/cert/tune", body: { default_lease_ttl: "5m" } }));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/vault_auth_backend\.\S+: tune\.default_lease_ttl differs in Vault and the saved plan does not set it/);
    expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(300);
  });

  test("a stale plan (another apply changed the state after the plan) is refused by the engine", async () => {
    ok(await editPolicy("first/*"));
    await plan();
    const other = testDeployment(server, { C42_STATE_DIR: d.config.stateDir, C42_CERT_ROLE_TOKEN_TTL: "120s" });
    try {
      await deploy(other.deployment);
    } finally {
      other.cleanup();
    }
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(120);
    ok(await editPolicy("after-the-other-apply/*"));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("apply-plan: refused: the engine refused the saved plan: ");
    expect(refused.stderr).toContain("Saved plan is stale");
    expect(refused.stderr).toContain("re-plan");
    expect(await policyText()).toContain('path "after-the-other-apply/*"');
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(120);
    expect(existsSync(planFile)).toBe(true);
  });

  test("a plan made before someone's repairing apply and a newer change is refused, stale to the engine or not", async () => {
    ok(await editPolicy("first/*"));
    await plan();
    await deploy(d);
    // Whether that apply moved the serial is chance (measured: OpenTofu writes random_password's
    // sensitive_attributes in varying order, and bumps the serial only when the bytes change).
    const stale = isStale(await planStateStamp(planFile), await currentStateStamp(d));
    ok(await editPolicy("after-the-repair/*"));

    const refused = await applyPlan();
    expect(refused.code).toBe(1);
    if (stale) expect(refused.stderr).toContain("Saved plan is stale");
    else expect(refused.stderr).toMatch(/the server changed since this plan was made; re-plan:\n {2}vault_policy\.\S+: the update differs in policy\n/);
    expect(await policyText()).toContain('path "after-the-repair/*"');
  });

  describe("with state and plan encryption (C42_STATE_PASSPHRASE), a second stack on other paths", () => {
    let enc: TestDeployment;
    let encPlan: string;
    const encSettings = {
      C42_STATE_PASSPHRASE: randomBytes(18).toString("base64"),
      C42_KV_PATH: "secret2",
      C42_CERT_AUTH_PATH: "cert2",
      C42_PKI_PATH: "pki2",
      C42_PKI_INT_PATH: "pki_int2",
      C42_POLICY_NAME: "crashplanPolicy2",
    };
    const editPolicy2 = () =>
      server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy2", body: { policy: 'path "first/*" {\n  capabilities = ["read"]\n}\n' } });
    const run = async (main: typeof planMain, args: string[]) => {
      const { out, io } = capture();
      return { code: await main(args, () => enc.deployment, io), ...out };
    };

    beforeAll(async () => {
      enc = testDeployment(server, encSettings);
      encPlan = join(enc.work, "plans", "keystore.tfplan");
      await deploy(enc.deployment);
    });

    afterAll(() => enc?.cleanup());
    // These tests touch only the second stack's paths.
    beforeEach(() => (converged = true));

    test("the saved plan is encrypted, and apply-plan applies it", async () => {
      ok(await editPolicy2());
      expect((await run(planMain, ["--out", encPlan])).code).toBe(0);
      const bytes = readFileSync(encPlan);
      expect(bytes.subarray(0, 2).toString("latin1")).not.toBe("PK");
      expect(bytes.includes("BEGIN")).toBe(false);

      const applied = await run(applyPlanMain, [encPlan]);
      expect(applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      expect(await checkDrift(enc.deployment)).toEqual({ inSync: true, drifted: [] });
    });

    test("a stale encrypted plan that still matches a fresh plan is refused by the engine", async () => {
      ok(await editPolicy2());
      expect((await run(planMain, ["--out", encPlan])).code).toBe(0);
      // Someone applies a change and someone reverts it: the state moves twice and ends where it was.
      const other = testDeployment(server, { ...encSettings, C42_STATE_DIR: enc.deployment.config.stateDir, C42_CERT_ROLE_TOKEN_TTL: "120s" });
      try {
        await deploy(other.deployment);
      } finally {
        other.cleanup();
      }
      await deploy(enc.deployment);
      // The same edit again: a fresh plan is identical; an encrypted plan hides its state serial from us.
      ok(await editPolicy2());

      const refused = await run(applyPlanMain, [encPlan]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Saved plan is stale");
      expect((await server.call({ path: "sys/policies/acl/crashplanPolicy2" })).json.data.policy).toContain('path "first/*"');
    });
  });
});
