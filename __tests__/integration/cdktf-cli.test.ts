import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnvFile } from "../../ops/common/env-file";
import { PROJECT_DIR } from "../../ops/common/paths";
import { cacheDir } from "../../ops/engine/toolchain";
import { releaseProjectLocks } from "../../ops/lock/held-locks";
import { checkDrift } from "../../ops/lifecycle/drift";
import { abortRotation, readRotation, startRotation } from "../../ops/lifecycle/rotation";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { Finished, ProcessGroups } from "./process-groups";

/** The cdktf processes this file starts; what a failed test left is stopped. */
const groups = new ProcessGroups();
afterAll(() => groups.stopAll());

/**
 * Runs `npx cdktf <args>` as a user would after `set -a; . toolchain.env`: the engine, the mirror
 * and the provider lock step come from the toolchain's env file alone, with no extra flag.
 */
function cdktf(args: string[], td: TestDeployment, server: TestServer): Promise<Finished> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...parseEnvFile(readFileSync(join(cacheDir(), "toolchain.env"), "utf8")),
    ...server.env,
    C42_STATE_DIR: td.deployment.config.stateDir,
    CHECKPOINT_DISABLE: "1",
    FORCE_COLOR: "0",
    CI: "1",
  };
  // This test's own deployment calls hold the checkout's lock until released (a command releases it when it ends);
  // cdktf takes the same lock, so the test lets go of it first, as an ended command would have.
  releaseProjectLocks();
  return groups.run("npx", ["cdktf", ...args, "--no-color", "--output", join(td.work, "cdktf-cli.out")], { cwd: PROJECT_DIR, env });
}

const cdktfDiff = (td: TestDeployment, server: TestServer) => cdktf(["diff"], td, server);

describe("cdktf diff and cdktf deploy, with no extra flag, on the same stack and state", () => {
  let server: TestServer;
  let td: TestDeployment;
  let configuredPolicy: string;
  const policyOf = async () => (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
    configuredPolicy = await policyOf();
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("reports no changes right after a deploy", async () => {
    const { code, output } = await cdktfDiff(td, server);
    expect(output).toMatch(/found no differences, so no changes are needed/);
    expect(code).toBe(0);
  });

  test("shows an out-of-band policy edit as a planned update", async () => {
    const edit = await server.call({
      method: "PUT",
      path: "sys/policies/acl/crashplanPolicy",
      body: { policy: 'path "secret/*" {\n  capabilities = ["read"]\n}\n' },
    });
    expect([200, 204]).toContain(edit.status);
    const { code, output } = await cdktfDiff(td, server);
    // cdktf annotates each address with its construct path.
    expect(output).toMatch(/# vault_policy\.policy_[0-9A-F]+ \(policy\/policy\) will be updated in-place/);
    expect(output).toMatch(/Plan: 0 to add, 1 to change, 0 to destroy/);
    expect(code).toBe(0);
  });

  test("cdktf deploy repairs the out-of-band policy edit; the drift check is in sync afterwards", async () => {
    await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: 'path "secret/*" {\n  capabilities = ["read"]\n}\n' } });
    expect((await checkDrift(td.deployment)).inSync).toBe(false);
    const { code, output } = await cdktf(["deploy", "--auto-approve"], td, server);
    expect(output).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/);
    expect(output).not.toMatch(/registry\.(opentofu|terraform)\.io.*(could not|Failed|error)/i);
    expect(code).toBe(0);
    expect(await policyOf()).toBe(configuredPolicy);
    expect(await checkDrift(td.deployment)).toEqual({ inSync: true, drifted: [] });
  });

  test("during a rotation, cdktf reads the phase from the local state and plans to keep the next certificate", async () => {
    await td.deployment.apply(); // undo the policy edit above (the next test repairs one with cdktf deploy)
    await startRotation(td.deployment);
    expect((await readRotation(td.deployment)).phase).toBe("started");
    const during = await cdktfDiff(td, server);
    expect(during.output).toMatch(/found no differences, so no changes are needed/);
    expect(during.output).not.toMatch(/will be destroyed/);
    expect(during.code).toBe(0);
    await abortRotation(td.deployment);
    const after = await cdktfDiff(td, server);
    expect(after.output).toMatch(/found no differences, so no changes are needed/);
  });
});
