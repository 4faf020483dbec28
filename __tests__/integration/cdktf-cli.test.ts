import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_DIR } from "../../ops/common/paths";
import { loadToolchain } from "../../ops/engine/toolchain";
import { abortRotation, readRotation, startRotation } from "../../ops/lifecycle/rotation";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

/** Runs `npx cdktf diff` as a user would, with the toolchain's engine and mirror. */
function cdktfDiff(td: TestDeployment, server: TestServer): Promise<{ code: number; output: string }> {
  const toolchain = loadToolchain();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...server.env,
    C42_STATE_DIR: td.deployment.config.stateDir,
    TERRAFORM_BINARY_NAME: toolchain.tofu,
    TF_CLI_CONFIG_FILE: toolchain.cliConfigFile,
    CHECKPOINT_DISABLE: "1",
    FORCE_COLOR: "0",
    CI: "1",
  };
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["cdktf", "diff", "--skip-provider-lock", "--no-color", "--output", join(td.work, "cdktf-cli.out")], {
      cwd: PROJECT_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

describe("cdktf diff on the same stack and state", () => {
  let server: TestServer;
  let td: TestDeployment;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
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

  test("during a rotation, cdktf reads the phase from the local state and plans to keep the next certificate", async () => {
    await td.deployment.apply(); // undo the policy edit above
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
