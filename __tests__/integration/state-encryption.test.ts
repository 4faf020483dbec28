import { existsSync, readFileSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { checkDrift } from "../../ops/lifecycle/drift";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

/** Whether `secret` occurs in `file`, as a value jest can print without printing either. */
const holds = (file: string, secret: string) => ({ file, holds: readFileSync(file).includes(secret) });
const readState = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { meta: Record<string, string>; encrypted_data?: string; resources?: unknown };

describe("encrypted state and plans (C42_STATE_PASSPHRASE)", () => {
  const passphrase = randomBytes(18).toString("base64");
  let server: TestServer;
  let td: TestDeployment;
  let stateFile: string;
  let planFile: string;
  let planCode: number;
  let secrets: { label: string; value: string }[];
  const others: TestDeployment[] = [];
  const sameState = (settings: Record<string, string>) => {
    const run = testDeployment(server, { C42_STATE_DIR: td.deployment.config.stateDir, ...settings });
    others.push(run);
    return run.deployment;
  };
  /**
   * This checkout with other settings, as docs/security.md rotates the passphrase: it synthesizes in place and reuses
   * the last init while the synthesized terraform block (which names the passphrase variables, not their values) is
   * the same, where another checkout synthesizes and inits from scratch (a PBKDF2 derivation takes seconds).
   */
  const sameCheckout = (settings: Record<string, string>) => isolatedDeployment(td.work, server.env, settings);

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server, { C42_STATE_PASSPHRASE: passphrase });
    stateFile = td.deployment.stateFile;
    await td.deployment.apply();
    const outputs = await td.deployment.outputs();
    const out = (name: string) => outputs[name].value as string;
    const keyBody = out(BUNDLE_OUTPUTS.privateKey).split("\n")[1];
    const certBody = out(BUNDLE_OUTPUTS.certificate).split("\n")[1];
    secrets = [
      { label: "PRIVATE KEY", value: "PRIVATE KEY" },
      { label: "BEGIN CERTIFICATE", value: "BEGIN CERTIFICATE" },
      { label: "a line of the admin key", value: keyBody },
      { label: "a line of the admin certificate", value: certBody },
      { label: "crashplan_p12_password", value: out(BUNDLE_OUTPUTS.password) },
      { label: "the passphrase", value: passphrase },
    ];
    planFile = join(td.work, "keystore.tfplan");
    planCode = (await td.deployment.planToFile(planFile)).code;
  });

  afterAll(async () => {
    others.forEach((o) => o.cleanup());
    td?.cleanup();
    await server?.stop();
  });

  test("the outputs the checks below look for are real (so they can fail)", () => {
    expect(secrets.find((s) => s.label === "crashplan_p12_password")!.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(secrets.find((s) => s.label === "a line of the admin key")!.value.length).toBeGreaterThan(40);
  });

  test("the synthesized JSON has the encryption block but not the passphrase", () => {
    const file = join(td.deployment.stackDir, "cdk.tf.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    expect(json.terraform.encryption.state).toEqual({
      method: "method.aes_gcm.c42_state",
      enforced: true,
      fallback: { method: "method.aes_gcm.c42_state_rotated" },
    });
    expect(holds(file, passphrase)).toEqual({ file, holds: false });
  });

  test("the state file is encrypted: no key, no password, no certificate PEM in clear", () => {
    const state = readState(stateFile);
    expect(Object.keys(state.meta)).toEqual(["key_provider.pbkdf2.c42_state"]);
    expect(state.encrypted_data!.length).toBeGreaterThan(1000);
    expect(state).not.toHaveProperty("resources");
    for (const file of [stateFile, `${stateFile}.backup`].filter(existsSync)) {
      for (const s of secrets) expect({ secret: s.label, ...holds(file, s.value) }).toEqual({ secret: s.label, file, holds: false });
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
    }
  });

  test("a saved plan is encrypted too, and still usable", async () => {
    expect(planCode).toBe(0);
    const bytes = readFileSync(planFile);
    expect(bytes.subarray(0, 2).toString()).not.toBe("PK");
    for (const s of secrets) expect({ secret: s.label, ...holds(planFile, s.value) }).toEqual({ secret: s.label, file: planFile, holds: false });
    const shown = await td.deployment.showPlan(planFile);
    expect(shown.resource_changes!.length).toBeGreaterThan(10);
    expect(shown.resource_changes!.every((c) => c.change.actions.join() === "no-op")).toBe(true);
  });

  test("the drift check works on the encrypted state: in sync, then a policy changed in Vault is found", async () => {
    expect(await checkDrift(td.deployment)).toEqual({ inSync: true, drifted: [] });
    const policy = (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    await server.call({
      method: "PUT",
      path: "sys/policies/acl/crashplanPolicy",
      body: { policy: policy + '\npath "secret/*" {\n  capabilities = ["read"]\n}\n' },
    });
    const report = await checkDrift(td.deployment);
    expect(report.inSync).toBe(false);
    expect(report.drifted.map((d) => d.address)).toEqual([expect.stringMatching(/^vault_policy\./)]);
    await td.deployment.apply();
    expect(await checkDrift(td.deployment)).toEqual({ inSync: true, drifted: [] });
  });

  test("a re-deploy plans no changes", async () => {
    const plan = await td.deployment.plan();
    expect(plan.stdout).toContain("No changes.");
    expect(plan.code).toBe(0);
  });

  test("a wrong passphrase fails with our message and the engine's, and leaves the state byte-for-byte unchanged", async () => {
    const before = readFileSync(stateFile);
    const attempt = sameCheckout({ C42_STATE_PASSPHRASE: randomBytes(18).toString("base64") }).apply();
    await expect(attempt).rejects.toThrow(/^the state cannot be decrypted with C42_STATE_PASSPHRASE .*wrong passphrase\? The state was not changed\./);
    await expect(attempt).rejects.toThrow(/decryption failed for all provided methods/);
    expect(readFileSync(stateFile).equals(before)).toBe(true);
  });

  test("no passphrase on the encrypted state fails clearly, before the engine, and leaves it unchanged", async () => {
    const before = readFileSync(stateFile);
    const attempt = sameState({}).plan();
    await expect(attempt).rejects.toThrow(new Error("This state is encrypted: use OpenTofu and set C42_STATE_PASSPHRASE."));
    expect(readFileSync(stateFile).equals(before)).toBe(true);
  });

  test("rotation: one deploy with the old passphrase in C42_STATE_PASSPHRASE_PREVIOUS; then only the new one opens the state", async () => {
    const next = randomBytes(18).toString("base64");
    await sameCheckout({ C42_STATE_PASSPHRASE: next, C42_STATE_PASSPHRASE_PREVIOUS: passphrase }).apply();
    expect(Object.keys(readState(stateFile).meta)).toEqual(["key_provider.pbkdf2.c42_state_rotated"]);

    const steady = sameCheckout({ C42_STATE_PASSPHRASE: next });
    expect((await steady.plan()).code).toBe(0);
    await steady.apply();
    expect(Object.keys(readState(stateFile).meta)).toEqual(["key_provider.pbkdf2.c42_state"]);

    const before = readFileSync(stateFile);
    await expect(sameCheckout({ C42_STATE_PASSPHRASE: passphrase }).plan()).rejects.toThrow(/^the state cannot be decrypted with C42_STATE_PASSPHRASE/);
    expect(readFileSync(stateFile).equals(before)).toBe(true);
  });
});
