import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { bundleMain } from "../../ops/commands/bundle";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { PROJECT_DIR } from "../../ops/common/paths";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { onPath, resolveEngine } from "../../ops/engine/engine";
import { readToolchainEnv } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { capture } from "../helpers/io";
import { projectCopy } from "../helpers/project-copy";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";
import { Finished, ProcessGroups } from "./process-groups";

/*
 * Issue 15: the stack on the engine a user already has. The life cycle (deploy, drift in sync, an
 * out-of-band policy edit seen as drift, repair, a bundle login as Code42 does it) runs once with
 * Terraform (from PATH; where there is none, the test toolchain built v1.5.7, so this never skips)
 * and once with OpenTofu. Terraform's first deploy is the real `npm run deploy`, spawned as an admin
 * without Go would run it: no `go` on PATH, an empty toolchain cache, providers from their own CLI
 * configuration. And the toolchain script, given an engine and providers, builds nothing.
 */

const EDITED_POLICY = 'path "secret/*" {\n  capabilities = ["read"]\n}\n';
const PASSPHRASE = "a passphrase for state encryption";

/** PATH without any directory holding a `go`. */
function pathWithoutGo(): string {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !existsSync(join(dir, "go")))
    .join(delimiter);
}

/** The processes this file starts, each in a process group of its own; what a failed test left is stopped. */
const groups = new ProcessGroups();
afterAll(() => groups.stopAll());

const run = (command: string, args: string[], env: NodeJS.ProcessEnv, cwd = PROJECT_DIR): Promise<Finished> => groups.run(command, args, { cwd, env });

/** The engine `choice` resolves to, as its own `version` banner reports it. */
function banner(binary: string): string {
  return spawnSync(binary, ["version"], { encoding: "utf8", env: { PATH: process.env.PATH, CHECKPOINT_DISABLE: "1" } }).stdout.split("\n")[0];
}

/** Mounts and auth methods a fresh server has (nothing of the stack's). */
async function stackMounts(server: TestServer): Promise<string[]> {
  const mounts = Object.keys(ok(await server.call({ path: "sys/mounts" })).json.data);
  const auths = Object.keys(ok(await server.call({ path: "sys/auth" })).json.data).map((p) => `auth/${p}`);
  return [...mounts, ...auths].filter((p) => ["secret/", "pki/", "pki_int/", "auth/cert/"].includes(p)).sort();
}

/** drift, deploy repairing an out-of-band edit, drift again, and a login with the bundle, on `d`. */
function lifeCycleAfterDeploy(label: string, get: () => { server: TestServer; td: TestDeployment }) {
  test(`${label}: drift right after the deploy is in sync (exit 0)`, async () => {
    const { td } = get();
    const { out, io } = capture();
    expect(await driftMain([], () => td.deployment, io)).toBe(0);
    expect(out.stdout).toBe("in sync: Vault matches the configuration\n");
  });

  test(`${label}: an out-of-band policy edit is drift (exit 2); deploy repairs it; drift is 0 again`, async () => {
    const { server, td } = get();
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: EDITED_POLICY } }));
    const drifted = capture();
    expect(await driftMain(["--json"], () => td.deployment, drifted.io)).toBe(2);
    const report = JSON.parse(drifted.out.stdout) as { inSync: boolean; drifted: { address: string; actions: string[]; attributes: string[] }[] };
    expect(report.inSync).toBe(false);
    expect(report.drifted.map((r) => [r.address.replace(/_[0-9A-F]+$/, ""), r.actions, r.attributes])).toEqual([
      ["vault_policy.policy", ["update"], ["policy"]],
    ]);

    await deploy(td.deployment);
    const policy = ok(await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    expect(policy).toContain('path "pki/issue/*"');
    expect(policy).not.toContain('path "secret/*"');
    const after = capture();
    expect(await driftMain([], () => td.deployment, after.io)).toBe(0);
  });

  test(`${label}: crashplan.p12 logs in as Code42 would, with nothing but the file and its password`, async () => {
    const { server, td } = get();
    const dir = join(td.work, "bundle");
    const written = capture();
    expect(await bundleMain(["--out", dir], () => td.deployment.outputs(), written.io)).toBe(0);
    const password = readFileSync(join(dir, "crashplan.p12.password"), "utf8").trim();
    expect(written.out.stdout + written.out.stderr).not.toContain(password);
    const login = await server.call({
      method: "PUT",
      path: "auth/cert/login",
      token: undefined,
      pfx: { pfx: readFileSync(join(dir, "crashplan.p12")), passphrase: password },
    });
    expect(login.status).toBe(200);
    expect(login.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
    expect(login.json.auth.lease_duration).toBe(60);
    ok(await server.call({ method: "PUT", path: "auth/token/revoke-self", token: login.json.auth.client_token }));
  });
}

/** The engine version the state file records: proof of which engine wrote it. */
function stateEngineVersion(d: Deployment): string {
  return (JSON.parse(readFileSync(d.stateFile, "utf8")) as { terraform_version: string }).terraform_version;
}

describe("Terraform", () => {
  let server: TestServer;
  let td: TestDeployment;
  let work: string;
  // The test toolchain puts Terraform on C42_TERRAFORM where PATH has none (v1.5.7, built).
  const terraform = resolveEngine("terraform");

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "c42-engines-"));
    server = await startTestServer();
    td = testDeployment(server, { C42_ENGINE: "terraform" });
  });

  afterAll(async () => {
    td?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
    await server?.stop();
  });

  test("the engine is Terraform 1.5 or later, as its own banner says", () => {
    expect(td.deployment.engine).toMatchObject({ kind: "terraform", binary: terraform.binary, version: terraform.version });
    expect(banner(terraform.binary)).toBe(`Terraform v${terraform.version}`);
  });

  test("state encryption requested: a clear error before anything runs; no mount, no state", async () => {
    const encrypted = testDeployment(server, { C42_ENGINE: "terraform", C42_STATE_PASSPHRASE: PASSPHRASE });
    try {
      const { out, io } = capture();
      expect(await deployMain([], () => encrypted.deployment, io)).toBe(1);
      expect(out.stderr).toBe(
        `deploy: configuration error: engine: "Terraform ${terraform.version}" cannot encrypt the state: C42_STATE_PASSPHRASE is set, ` +
          "and state and plan encryption is an OpenTofu feature; expected OpenTofu 1.10 or later (engine, C42_ENGINE; for cdktf TERRAFORM_BINARY_NAME), or C42_STATE_PASSPHRASE unset (at keystore)\n",
      );
      expect(out.stdout + out.stderr).not.toContain(PASSPHRASE);
      expect(await stackMounts(server)).toEqual([]);
      expect(existsSync(encrypted.deployment.stateFile)).toBe(false);
    } finally {
      encrypted.cleanup();
    }
  });

  test("npm run deploy with no Go on PATH, no toolchain, the user's own CLI configuration: deploys with their Terraform", async () => {
    const path = pathWithoutGo();
    expect(onPath("go", { PATH: path })).toBeUndefined();
    // The user's own provider mirror, in their own CLI configuration (it happens to be the toolchain's directory).
    const userMirror = readToolchainEnv().values.C42_PROVIDER_MIRROR;
    const userConfig = join(work, "user.tfrc");
    writeFileSync(userConfig, `provider_installation {\n  filesystem_mirror {\n    path = "${userMirror}"\n  }\n}\n`);
    const emptyCache = join(work, "cache");
    const project = projectCopy(join(work, "project"));
    const env: NodeJS.ProcessEnv = {
      PATH: path,
      HOME: process.env.HOME,
      CHECKPOINT_DISABLE: "1",
      C42_CACHE: emptyCache,
      C42_STATE_DIR: td.deployment.config.stateDir,
      // By name where the go-less PATH has it, else the test toolchain's binary by path.
      C42_ENGINE: onPath("terraform", { PATH: path }) ? "terraform" : terraform.binary,
      TF_CLI_CONFIG_FILE: userConfig,
      ...server.env,
    };
    const result = await run("npm", ["run", "--silent", "deploy"], env, project);
    expect(result.stderr).not.toMatch(/\bgo: |building|npm run toolchain/);
    // With the output, so that a failure shows why.
    expect(result.code === 0 ? "exit 0" : `exit ${result.code}: ${result.stderr}`).toBe("exit 0");
    expect(result.stdout).toContain(`deployed to ${server.env.VAULT_ADDR}; state in ${td.deployment.stateFile}\n`);
    expect(result.stdout).toContain(`engine: Terraform ${terraform.version} (`);
    expect(result.stdout).toContain(`; providers from your CLI configuration (TF_CLI_CONFIG_FILE=${userConfig})\n`);
    // Nothing was built or provided by a toolchain: the cache holds compiled commands and engine versions only.
    expect(readdirSync(emptyCache).sort()).toEqual(["engines.json", "js"]);
    // The lock file records what this engine installed from the user's source.
    const lock = readFileSync(join(project, "cdktf.out", "stacks", "keystore", ".terraform.lock.hcl"), "utf8");
    expect(lock).toMatch(/provider "registry\.terraform\.io\/hashicorp\/vault" \{\n\s+version\s+= "5\.9\.0"/);
    expect(stateEngineVersion(td.deployment)).toBe(terraform.version);
    expect(await stackMounts(server)).toEqual(["auth/cert/", "pki/", "pki_int/", "secret/"]);
  });

  lifeCycleAfterDeploy("Terraform", () => ({ server, td }));

  test("engine=auto keeps a state Terraform wrote with Terraform after the tests built OpenTofu; cdktf on OpenTofu is refused", async () => {
    const toolchainTofu = readToolchainEnv().values.C42_TOFU;
    expect(toolchainTofu && existsSync(toolchainTofu)).toBe(true);
    const auto = isolatedDeployment(td.work, server.env);
    expect(auto.config.engine).toBe("auto");
    expect(auto.engine).toMatchObject({ kind: "terraform", version: terraform.version });
    expect(auto.engine.foundBy).toContain("the engine that last wrote this state");
    const { out, io } = capture();
    expect(await deployMain([], () => auto, io)).toBe(0);
    expect(out.stdout).toContain(`engine: Terraform ${terraform.version} (`);
    expect(out.stderr).not.toContain("last written by");
    expect(stateEngineVersion(auto)).toBe(terraform.version);

    // cdktf runs what TERRAFORM_BINARY_NAME names: pointed at the toolchain's OpenTofu, it stops before the engine.
    const before = readFileSync(td.deployment.stateFile);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...readToolchainEnv().values,
      ...server.env,
      TERRAFORM_BINARY_NAME: toolchainTofu,
      C42_STATE_DIR: td.deployment.config.stateDir,
      CHECKPOINT_DISABLE: "1",
      FORCE_COLOR: "0",
      CI: "1",
    };
    const result = await run("npx", ["cdktf", "deploy", "--auto-approve", "--no-color", "--output", join(work, "cdktf-cli.out")], env);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(`engine: this state was last written by Terraform ${terraform.version}, but cdktf would run OpenTofu `);
    expect(readFileSync(td.deployment.stateFile).equals(before)).toBe(true);
  });

  test("npm run toolchain, given Terraform and the providers in its plugin directory and no Go, builds nothing", async () => {
    const home = join(work, "home");
    const mirror = readToolchainEnv().values.C42_PROVIDER_MIRROR;
    for (const [name, version] of [
      ["vault", "5.9.0"],
      ["random", "3.9.0"],
    ]) {
      const dir = join(home, ".terraform.d", "plugins", "registry.terraform.io", "hashicorp", name);
      mkdirSync(dir, { recursive: true });
      // Terraform does not follow a symlinked directory there (it would then ask the registry): hard links, else a copy.
      const from = join(mirror, "registry.terraform.io", "hashicorp", name, version);
      if (spawnSync("cp", ["-al", from, join(dir, version)]).status !== 0) cpSync(from, join(dir, version), { recursive: true });
    }
    const path = pathWithoutGo();
    const cache = join(work, "toolchain-cache");
    const env = { PATH: path, HOME: home, C42_CACHE: cache, C42_ENGINE: onPath("terraform", { PATH: path }) ? "auto" : terraform.binary };
    const result = await run("bash", [join(PROJECT_DIR, "scripts", "toolchain.sh"), "--no-server"], env);
    expect(result.code).toBe(0);
    if (env.C42_ENGINE === "auto") expect(result.stderr).toContain("no OpenTofu found; Terraform is the engine, so none is built");
    expect(result.stderr).toContain("installs them itself (its local plugin directories or registry.terraform.io; checked just now); none built");
    // No bin/ (no engine or server built), no providers/ (no mirror built).
    expect(readdirSync(cache).sort()).toEqual(["logs", "toolchain.env"]);
    const written = readFileSync(join(cache, "toolchain.env"), "utf8");
    expect(written).toContain(`TERRAFORM_BINARY_NAME=${terraform.binary}\n`);
    // No mirror is offered, so sourcing the file never replaces a user's TF_CLI_CONFIG_FILE.
    expect(written).not.toContain("TF_CLI_CONFIG_FILE");
  });
});

describe("OpenTofu", () => {
  let server: TestServer;
  let td: TestDeployment;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server, { C42_ENGINE: "tofu" });
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("deploy with OpenTofu and the toolchain's mirror says so in one line", async () => {
    const engine = td.deployment.engine;
    expect(engine.kind).toBe("tofu");
    expect(banner(engine.binary)).toBe(`OpenTofu v${engine.version}`);
    const { out, io } = capture();
    expect(await deployMain([], () => td.deployment, io)).toBe(0);
    expect(out.stdout).toContain(
      `engine: OpenTofu ${engine.version} (${engine.binary}); providers from the toolchain's mirror (${readToolchainEnv().values.C42_PROVIDER_MIRROR})\n`,
    );
    expect(stateEngineVersion(td.deployment)).toBe(engine.version);
    expect(await stackMounts(server)).toEqual(["auth/cert/", "pki/", "pki_int/", "secret/"]);
  });

  lifeCycleAfterDeploy("OpenTofu", () => ({ server, td }));
});
