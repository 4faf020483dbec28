import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyPlanMain } from "../../ops/commands/apply-plan";
import { bundleMain } from "../../ops/commands/bundle";
import { deployMain } from "../../ops/commands/deploy";
import { planMain } from "../../ops/commands/plan";
import { serverMain } from "../../ops/commands/server";
import { PROJECT_DIR } from "../../ops/common/paths";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { stopServer } from "../../ops/server/server";
import { capture } from "../helpers/io";
import { TestServer, ok, startTestServer } from "./fixtures";

/*
 * Issue 19, as a careless operator on a shared host would try it: every path
 * option pointed at a shared 1777 directory keeps that directory's mode, the
 * secret written inside is 0600, nothing a command writes in the project shows
 * in `git status`, and flags and names that must be refused are refused before
 * anything runs.
 *
 * The project directory is a fresh git repository holding this project's
 * .gitignore, and every command runs with it as project and working directory.
 */
describe("touch only what is ours", () => {
  let server: TestServer;
  let repo: string;
  let d: Deployment;
  const scratch: string[] = [];
  const serverDirs: string[] = [];

  const mode = (path: string) => statSync(path).mode & 0o7777;
  /** A shared directory as /tmp is: world-writable with the sticky bit. */
  const sharedDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "c42-shared-"));
    chmodSync(dir, 0o1777);
    scratch.push(dir);
    return dir;
  };
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], { cwd: repo, encoding: "utf8" });
  const porcelain = () => git("status", "--porcelain", "--untracked-files=all", "--ignored=no");
  const inRepo = async <T>(body: () => Promise<T>): Promise<T> => {
    const saved = process.cwd();
    process.chdir(repo);
    try {
      return await body();
    } finally {
      process.chdir(saved);
    }
  };
  const run = async (
    main: (argv: string[], make: () => Deployment, io: ReturnType<typeof capture>["io"]) => Promise<number>,
    argv: string[],
    make: () => Deployment = () => d,
  ) => {
    const { out, io } = capture();
    return { code: await main(argv, make, io), ...out };
  };
  const stateSerial = () => (JSON.parse(readFileSync(d.stateFile, "utf8")) as { serial: number }).serial;
  const policy = async (name: string) => {
    const answer = await server.call({ path: `sys/policies/acl/${name}` });
    return { status: answer.status, policy: answer.json?.data?.policy as string | undefined };
  };

  beforeAll(async () => {
    server = await startTestServer();
    repo = mkdtempSync(join(tmpdir(), "c42-project-"));
    scratch.push(repo);
    git("init", "-q");
    copyFileSync(join(PROJECT_DIR, ".gitignore"), join(repo, ".gitignore"));
    git("add", ".gitignore");
    git("commit", "-q", "-m", "the project's .gitignore");
    // State in <repo>/state, cdktf.out in <repo>/cdktf.out.
    d = isolatedDeployment(repo, server.env);
    await deploy(d);
  });

  afterAll(async () => {
    for (const dir of serverDirs) await stopServer(dir).catch(() => undefined);
    await server?.stop();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  test("deploy: the state and cdktf.out in the project are ignored by git", () => {
    expect(readdirSync(join(repo, "state")).sort()).toEqual(["keystore.engine.json", "keystore.tfstate"]);
    expect(porcelain()).toBe("");
  });

  test("plan --out into a shared 1777 directory: the directory keeps its mode, the plan is 0600", async () => {
    const shared = sharedDir();
    const file = join(shared, "x.tfplan");
    const result = await run(planMain, ["--out", file]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(mode(shared)).toBe(0o1777);
    expect(mode(file)).toBe(0o600);
  });

  test("plan --out in the project, and the default plan file: git sees neither", async () => {
    expect((await inRepo(() => run(planMain, ["--out", "keystore.tfplan"]))).code).toBe(0);
    expect((await inRepo(() => run(planMain, []))).code).toBe(0);
    expect(mode(join(repo, "keystore.tfplan"))).toBe(0o600);
    expect(mode(join(repo, ".local", "plans", "keystore.tfplan"))).toBe(0o600);
    expect(mode(join(repo, ".local", "plans"))).toBe(0o700);
    expect(porcelain()).toBe("");
  });

  test("bundle --out a shared 1777 directory: the directory keeps its mode, both files are 0600", async () => {
    const shared = sharedDir();
    const { io } = capture();
    expect(await bundleMain(["--out", shared], () => d.outputs(), io)).toBe(0);
    expect(mode(shared)).toBe(0o1777);
    expect(mode(join(shared, "crashplan.p12"))).toBe(0o600);
    expect(mode(join(shared, "crashplan.p12.password"))).toBe(0o600);
  });

  test("bundle --out '' is refused and writes nothing; bundle --out . in the project: git sees nothing", async () => {
    const outputs = () => d.outputs();
    const bundle = (argv: string[]) => {
      const { out, io } = capture();
      return bundleMain(argv, outputs, io).then((code) => ({ code, ...out }));
    };
    const refused = await inRepo(() => bundle(["--out", ""]));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--out: the path is empty");
    expect(existsSync(join(repo, "crashplan.p12.password"))).toBe(false);

    expect((await inRepo(() => bundle(["--out", "."]))).code).toBe(0);
    expect((await inRepo(() => bundle([]))).code).toBe(0);
    expect(existsSync(join(repo, "crashplan.p12.password"))).toBe(true);
    expect(porcelain()).toBe("");
  });

  test("C42_STATE_DIR a shared 1777 directory: deploy and drift keep its mode, the state is 0600", async () => {
    const shared = sharedDir();
    const work = mkdtempSync(join(tmpdir(), "c42-deploy-"));
    scratch.push(work);
    // A second stack on paths of its own, so that it can deploy next to the first.
    const other = isolatedDeployment(work, server.env, {
      C42_STATE_DIR: shared,
      C42_KV_PATH: "secret2",
      C42_CERT_AUTH_PATH: "cert2",
      C42_PKI_PATH: "pki2",
      C42_PKI_INT_PATH: "pki_int2",
      C42_POLICY_NAME: "crashplanPolicy2",
    });
    await deploy(other);
    expect(mode(shared)).toBe(0o1777);
    expect(mode(join(shared, "keystore.tfstate"))).toBe(0o600);
    expect(await checkDrift(other)).toEqual({ inSync: true, drifted: [] });
    expect(mode(shared)).toBe(0o1777);
    for (const name of readdirSync(shared)) expect([name, mode(join(shared, name))]).toEqual([name, 0o600]);
  });

  test("server start --dir a shared 1777 directory: it keeps its mode, the secrets are 0600, purge leaves the directory", async () => {
    const shared = sharedDir();
    serverDirs.push(shared);
    const start = capture();
    expect(await serverMain(["start", "--dir", shared], start.io)).toBe(0);
    expect(mode(shared)).toBe(0o1777);
    for (const file of ["root.token", "unseal.key", "vault.env", "tls/ca.key", "tls/server.key"]) {
      expect([file, mode(join(shared, file))]).toEqual([file, 0o600]);
    }
    expect(`${start.out.stdout}${start.out.stderr}`).not.toContain(readFileSync(join(shared, "root.token"), "utf8").trim());

    expect(await serverMain(["stop", "--dir", shared, "--purge"], capture().io)).toBe(0);
    expect(existsSync(shared)).toBe(true);
    expect(mode(shared)).toBe(0o1777);
    expect(readdirSync(shared)).toEqual([]);
  });

  test("server start --dir inside the project: git sees nothing of it; purge removes the directory it made", async () => {
    const dir = join(repo, "server");
    serverDirs.push(dir);
    expect(await serverMain(["start", "--dir", dir], capture().io)).toBe(0);
    expect(mode(dir)).toBe(0o700);
    expect(porcelain()).toBe("");
    expect(await serverMain(["stop", "--dir", dir, "--purge"], capture().io)).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });

  test("deploy --dry-run and deploy -- --dry-run: exit 2, nothing applied, Vault and the state serial unchanged", async () => {
    // An out-of-band change a real deploy would revert.
    const edited = 'path "dry-run/*" {\n  capabilities = ["read"]\n}\n';
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: edited } }));
    const serial = stateSerial();
    for (const argv of [["--dry-run"], ["--", "--dry-run"], ["--dry-run", "--plan-only"]]) {
      const result = await run(deployMain, argv);
      expect([argv, result.code]).toEqual([argv, 2]);
      expect(result.stderr).toContain("usage: deploy");
    }
    expect((await policy("crashplanPolicy")).policy).toBe(edited);
    expect(stateSerial()).toBe(serial);
    await deploy(d);
    expect((await policy("crashplanPolicy")).policy).toContain('path "pki/issue/*"');
  });

  test.each(["root", "default", "Default"])("C42_POLICY_NAME=%s is refused before anything runs; every policy is unchanged", async (name) => {
    const names = ["crashplanPolicy", "default", "root"];
    const before = await Promise.all(names.map(policy));
    const serial = stateSerial();
    for (const main of [deployMain, planMain]) {
      const result = await run(main, [], () => isolatedDeployment(repo, server.env, { C42_POLICY_NAME: name }));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/configuration error: policy\.name: .*built-in/);
    }
    expect(await Promise.all(names.map(policy))).toEqual(before);
    expect(before[0].policy).toContain('path "pki/issue/*"');
    expect(stateSerial()).toBe(serial);
  });

  test("an apply Vault refuses leaves drift telling the truth", async () => {
    // A deploy token that may read everything but not write the cert role, and a change to that role.
    ok(
      await server.call({
        method: "PUT",
        path: "sys/policies/acl/no-cert-roles",
        body: {
          policy:
            'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\npath "auth/cert/certs/*" {\n  capabilities = ["read", "list"]\n}\n',
        },
      }),
    );
    const limited = (await server.call({ method: "POST", path: "auth/token/create", body: { policies: ["no-cert-roles"], ttl: "10m" } })).json.auth
      .client_token as string;
    // Its own cdktf.out (a second synthesis into d's would change what d plans against), d's state.
    const work = mkdtempSync(join(tmpdir(), "c42-deploy-"));
    scratch.push(work);
    const withLimitedToken = () =>
      isolatedDeployment(work, { ...server.env, VAULT_TOKEN: limited }, { C42_STATE_DIR: join(repo, "state"), C42_CERT_ROLE_TOKEN_TTL: "120s" });

    // Measured: the engine alone keeps the refused value in the state, and drift then reports a change that never happened.
    await expect(withLimitedToken().apply()).rejects.toThrow(/permission denied/);
    // (Measured with provider 5.9.0; this is why deploy refreshes after a failed apply.)
    const lie = await checkDrift(d);
    expect(lie.drifted.map((r) => r.attributes)).toEqual([["token_ttl"]]);

    const error = await deploy(withLimitedToken()).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/tofu apply failed \(exit 1\)[\s\S]*permission denied/);
    expect(error?.message).toContain("the state was refreshed from Vault");
    expect(error?.message).toMatch(
      /vault_cert_auth_backend_role\.\S+ is keystore\/certRole\/role, made from the settings certRole\.name \(C42_CERT_ROLE_NAME\), certRole\.tokenTtl \(C42_CERT_ROLE_TOKEN_TTL\)/,
    );
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(60);
    expect(await checkDrift(d)).toEqual({ inSync: true, drifted: [] });

    // Through the commands, the preflight (issue 14) finds what the token lacks before the engine starts:
    // the plan (which only reads) is written, applying it is refused in one line, and nothing changes.
    const planFile = join(work, "limited.tfplan");
    expect((await run(planMain, ["--out", planFile], withLimitedToken)).code).toBe(0);
    const applied = await run(applyPlanMain, [planFile], withLimitedToken);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      /^apply-plan: VAULT_TOKEN may not do what this command needs on \S+: create or update on auth\/cert\/certs\/crashplanUser to write the cert role \(it has: list, read\); [^\n]*Nothing was changed\n$/,
    );
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(60);
    expect(await checkDrift(d)).toEqual({ inSync: true, drifted: [] });
  });
});
