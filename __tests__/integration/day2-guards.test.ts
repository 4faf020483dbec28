import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { listKvKeys } from "../../ops/backup/keystore";
import { bundleMain } from "../../ops/commands/bundle";
import { DestroySurroundings, destroyMain } from "../../ops/commands/destroy";
import { restoreMain } from "../../ops/commands/restore";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { healthMain } from "../../ops/commands/health";
import { loadMain } from "../../ops/commands/load";
import { statusMain } from "../../ops/commands/status";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { loadToolchain } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { vaultCall } from "../../ops/vault/client";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";

/*
 * The day-2 commands must not hurt the keystore they serve (issue 28), on one
 * OpenBao server and one deploy:
 * - `npm run load` makes its own certificate, policy and cert role, never logs
 *   in with the admin certificate, and leaves nothing behind, also when it is
 *   stopped by a signal; what a SIGKILLed run leaves, the next load or deploy
 *   removes, and nothing of the user's that merely looks alike;
 * - a cert role that accepts the admin certificate is named by drift, status
 *   and health (CRIT), and left alone;
 * - the kv mount holding archive keys is never destroyed or replaced by
 *   accident: no plan may (prevent_destroy), and `destroy` refuses without
 *   --including-archive-keys and consent, and backs up (verified) first.
 * The destroy tests come last: they end the keystore (and a restore brings it back).
 */
describe("day-2 guards on a deployed keystore", () => {
  let server: TestServer;
  let td: TestDeployment;
  let bundleDir: string;
  let identity: { pfx: Buffer; passphrase: string };
  let adminPem: string;
  const cli = join(__dirname, "..", "..", "bin", "c42-keystore.js");
  const children: ChildProcess[] = [];

  const fresh = (): Deployment => isolatedDeployment(td.work, server.env);
  const capture = () => {
    const out = { stdout: "", stderr: "" };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
  };
  const names = async (path: string): Promise<string[]> => {
    const answer = await server.call({ method: "LIST", path });
    return answer.status === 404 ? [] : ([...answer.json.data.keys] as string[]).sort();
  };
  const rolesAndPolicies = async () => ({ roles: await names("auth/cert/certs"), policies: await names("sys/policies/acl") });
  /** Logs in as Code42 does: crashplan.p12 and no role name. */
  const namelessLogin = async () => {
    const answer = await vaultCall(server.endpoint, { method: "PUT", path: "auth/cert/login", pfx: identity, body: {} });
    expect(answer.status).toBe(200);
    const auth = (answer.json as { auth: { client_token: string; token_policies: string[]; metadata: { cert_name: string } } }).auth;
    await vaultCall(server.endpoint, { method: "PUT", path: "auth/token/revoke-self", token: auth.client_token });
    // The cert auth method keeps role names lower-cased.
    return { role: auth.metadata.cert_name.toLowerCase(), policies: auth.token_policies };
  };
  /** `npm run load` in a process of its own, as a user starts it. */
  const startLoad = (args: string[]) => {
    const child = spawn(process.execPath, [cli, "load", ...args], {
      env: { ...process.env, ...server.env, C42_STATE_DIR: td.deployment.config.stateDir, CHECKPOINT_DISABLE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout?.on("data", () => undefined);
    const exited = new Promise<number | null>((done) => child.once("exit", (code, signal) => done(code ?? (signal ? -1 : null))));
    return { child, exited, stderr: () => stderr };
  };
  /** Waits until a run's cert role exists (one not in `known`); returns its name. */
  const grantAppears = async (run: ReturnType<typeof startLoad>, known: readonly string[] = []): Promise<string> => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const grant = (await names("auth/cert/certs")).find((n) => n.startsWith("c42-keystore-load-") && !known.includes(n));
      if (grant) return grant;
      if (run.child.exitCode !== null) throw new Error(`load exited early (${run.child.exitCode}):\n${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no load grant within 120 s:\n${run.stderr()}`);
  };
  const archiveKeys = async () => listKvKeys(server.endpoint, server.env.VAULT_TOKEN, "secret");
  const surroundings = (more: Partial<DestroySurroundings> = {}): DestroySurroundings => ({
    env: td.deployment.env,
    projectDir: td.work,
    localServerDir: join(td.work, "no-local-server"),
    baoBinary: () => loadToolchain().bao,
    isTerminal: false,
    ask: () => Promise.reject(new Error("no terminal")),
    ...more,
  });
  /** The CLI's destroy on the test's deployment; the root CA's flag reaches it as the CLI passes it, through the environment. */
  const destroyDeployment = (env: NodeJS.ProcessEnv) =>
    isolatedDeployment(td.work, server.env, env.C42_ROOT_CA_PREVENT_DESTROY ? { C42_ROOT_CA_PREVENT_DESTROY: env.C42_ROOT_CA_PREVENT_DESTROY } : {});
  const loadArgs = (users: number, duration: number) => [
    "--users",
    String(users),
    "--duration",
    String(duration),
    "--concurrency",
    "2",
    "--reads-per-write",
    "1",
  ];

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await deploy(td.deployment);
    bundleDir = join(td.work, "bundle");
    const { io } = capture();
    expect(await bundleMain(["--out", bundleDir], () => td.deployment.outputs(), io)).toBe(0);
    identity = { pfx: readFileSync(join(bundleDir, "crashplan.p12")), passphrase: readFileSync(join(bundleDir, "crashplan.p12.password"), "utf8").trim() };
    adminPem = (await td.deployment.outputs())[BUNDLE_OUTPUTS.certificate].value as string;
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    td?.cleanup();
    await server?.stop();
  });

  test("after npm run load, Code42's nameless login still gets crashplanPolicy, drift is in sync, and no role or policy of the load is left", async () => {
    const before = await rolesAndPolicies();
    expect(before.roles).toEqual(["crashplanuser"]);
    const { out, io } = capture();
    const code = await loadMain([...loadArgs(20, 60), "--json"], io, { ...server.env, HOME: process.env.HOME, PATH: process.env.PATH });
    expect([code, out.stderr]).toEqual([0, expect.stringContaining("[load] 20 users")]);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({ usersWritten: 20, wrongReads: 0, cleanupProblems: [], login: { ok: 1 } });
    expect(report.grant).toMatch(/^c42-keystore-load-[0-9a-f]{12}$/);

    expect(await namelessLogin()).toEqual({ role: "crashplanuser", policies: ["crashplanpolicy", "default"] });
    const drift = capture();
    expect(await driftMain([], fresh, drift.io)).toBe(0);
    expect(drift.out.stdout).toBe("in sync: Vault matches the configuration\n");
    expect(await rolesAndPolicies()).toEqual(before);
    // Its certificate was revoked: the run's serial is on pki_int's revocation list.
    const revoked = await server.call({ method: "LIST", path: "pki_int/certs/revoked" });
    expect(revoked.json.data.keys.length).toBeGreaterThanOrEqual(1);
  });

  test("SIGTERM during a load removes its certificate, policy and cert role before it exits (143)", async () => {
    const before = await rolesAndPolicies();
    const run = startLoad(loadArgs(100_000, 600));
    await grantAppears(run);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(143);
    expect(run.stderr()).toContain("[load] SIGTERM: stopping; removing the run's certificate, policy and cert role");
    expect(await rolesAndPolicies()).toEqual(before);
  });

  test("after a SIGKILLed load the next load removes the leftovers, and after another the next deploy does; look-alikes of the user's stay", async () => {
    const before = await rolesAndPolicies();
    // Look-alikes a user made: the load's name pattern, not its contents.
    const lookAlike = "c42-keystore-load-0123456789ab";
    const other = ok(await server.call({ method: "POST", path: "pki_int/issue/cpRole", body: { common_name: "someone-else", ttl: "1h" } })).json.data
      .certificate;
    ok(await server.call({ method: "PUT", path: `auth/cert/certs/${lookAlike}`, body: { certificate: other, token_policies: [lookAlike] } }));
    ok(await server.call({ method: "PUT", path: `sys/policies/acl/${lookAlike}`, body: { policy: 'path "secret/mine/*" { capabilities = ["read"] }' } }));
    const withLookAlikes = await rolesAndPolicies();

    const killed = startLoad(loadArgs(100_000, 600));
    const left = await grantAppears(killed, withLookAlikes.roles);
    killed.child.kill("SIGKILL");
    await killed.exited;
    expect((await rolesAndPolicies()).roles).toContain(left);
    expect((await rolesAndPolicies()).policies).toContain(left);

    const { out, io } = capture();
    expect(await loadMain(loadArgs(2, 30), io, { ...server.env, HOME: process.env.HOME, PATH: process.env.PATH })).toBe(0);
    expect(out.stderr).toContain(`[load] removed cert role ${left}, left by a load run that ended without cleaning up`);
    expect(out.stderr).toContain(`[load] removed policy ${left}`);
    expect(await rolesAndPolicies()).toEqual(withLookAlikes);

    const killedAgain = startLoad(loadArgs(100_000, 600));
    const leftAgain = await grantAppears(killedAgain, withLookAlikes.roles);
    killedAgain.child.kill("SIGKILL");
    await killedAgain.exited;
    const deployed = capture();
    expect(await deployMain([], fresh, deployed.io)).toBe(0);
    expect(deployed.out.stderr).toContain(`deploy: removed cert role ${leftAgain}, left by an \`npm run load\` that ended without cleaning up`);
    expect(await rolesAndPolicies()).toEqual(withLookAlikes);

    ok(await server.call({ method: "DELETE", path: `auth/cert/certs/${lookAlike}` }));
    ok(await server.call({ method: "DELETE", path: `sys/policies/acl/${lookAlike}` }));
    expect(await rolesAndPolicies()).toEqual(before);
  });

  test("a role added by hand that accepts the admin certificate is named by drift and status, health is CRIT naming it, and it is left alone", async () => {
    const role = "c42-handmade";
    ok(await server.call({ method: "PUT", path: `auth/cert/certs/${role}`, body: { certificate: adminPem, token_policies: ["default"] } }));
    try {
      expect(await namelessLogin()).toEqual({ role, policies: ["default"] });
      const advice = `a nameless login (as Code42 logs in) can land on ${role} instead of crashplanUser. Nothing was changed`;

      const drift = capture();
      expect(await driftMain([], fresh, drift.io)).toBe(2);
      expect(drift.out.stdout).toContain(`shadow: cert role ${role} (policies default) accepts the admin certificate `);
      expect(drift.out.stdout).toContain(advice);
      expect(drift.out.stdout).toContain(`\`bao delete auth/cert/certs/${role}\``);
      const driftJson = capture();
      expect(await driftMain(["--json"], fresh, driftJson.io)).toBe(2);
      expect(JSON.parse(driftJson.out.stdout)).toMatchObject({ inSync: false, drifted: [], shadowing: [{ role, policies: ["default"] }] });

      const status = capture();
      expect(await statusMain([], fresh, status.io)).toBe(1);
      expect(status.out.stdout).toContain(`SHADOWED LOGIN: cert role ${role} (policies default) accepts the admin certificate `);
      expect(status.out.stdout).toContain(advice);

      const health = capture();
      expect(await healthMain(["--bundle", bundleDir, "--json"], () => fresh(), health.io)).toBe(2);
      const login = JSON.parse(health.out.stdout).checks.find((c: { name: string }) => c.name === "login");
      expect(login.state).toBe("CRIT");
      expect(login.reason).toContain(`the nameless login landed on cert role ${role}, which shadows crashplanUser`);
      expect(login.reason).toContain("not crashplanpolicy: Code42 could not manage its keys");

      // Reported, never repaired: neither drift, status, health nor a deploy removes it.
      expect(await deployMain([], fresh, capture().io)).toBe(0);
      expect((await names("auth/cert/certs")).includes(role)).toBe(true);
    } finally {
      await server.call({ method: "DELETE", path: `auth/cert/certs/${role}` });
    }
    expect(await namelessLogin()).toEqual({ role: "crashplanuser", policies: ["crashplanpolicy", "default"] });
    expect(await driftMain([], fresh, capture().io)).toBe(0);
  });

  describe("archive keys are never destroyed by accident", () => {
    const written = new Map<string, string>();

    beforeAll(async () => {
      for (let i = 0; i < 5; i++) {
        const path = `code42/archive-keys/${randomUUID()}`;
        const key = randomBytes(32).toString("base64");
        ok(await server.call({ method: "PUT", path: `secret/${path}`, body: { keyId: i, algorithm: "AES-256", key } }));
        written.set(path, key);
      }
    });

    const keysAreThere = async () => {
      for (const [path, key] of written) expect([path, (await server.call({ path: `secret/${path}` })).json?.data?.key]).toEqual([path, key]);
    };

    test("no plan may destroy or replace the kv mount: the engine refuses -replace, a config edit that forces a new mount, and a destroy", async () => {
      const d = fresh();
      await d.ensureInit();
      const json = join(d.stackDir, "cdk.tf.json");
      const synthesized = readFileSync(json, "utf8");
      const stack = JSON.parse(synthesized);
      const [kv] = Object.entries(stack.resource.vault_mount as Record<string, { path: string }>).find(([, m]) => m.path === "secret") ?? [];
      const address = `vault_mount.${kv}`;
      const refused = async (what: string, args: string[]) => {
        const plan = await d.tofu(["plan", "-input=false", "-no-color", ...args]);
        expect([what, plan.code, plan.stderr]).toEqual([what, 1, expect.stringContaining("Instance cannot be destroyed")]);
        expect(plan.stderr).toContain(`Resource ${address} has lifecycle.prevent_destroy set`);
      };
      try {
        // The engine itself, as `tofu` by hand or any door runs it on this JSON (cdktf deploy builds the same stack from main.ts).
        await refused("-replace", [`-replace=${address}`]);
        const forcesNew = JSON.parse(synthesized);
        forcesNew.resource.vault_mount[kv as string].local = true;
        writeFileSync(json, JSON.stringify(forcesNew));
        await refused("local = true (forces a new mount)", []);
        writeFileSync(json, synthesized);
        await refused("a destroy plan", ["-destroy", `-target=${address}`]);
        // (A configuration without the resource at all is beyond prevent_destroy, in any engine: the block goes with
        // the resource. Every door builds the stack, which always declares the mount.)
      } finally {
        writeFileSync(json, synthesized);
      }
      await keysAreThere();
    });

    test("a kv.path edit is no replacement: the provider remounts, and the keys move with the mount (measured), and back", async () => {
      await deploy(isolatedDeployment(td.work, server.env, { C42_KV_PATH: "secret-moved" }));
      const moved = await listKvKeys(server.endpoint, server.env.VAULT_TOKEN, "secret-moved");
      for (const path of written.keys()) expect(moved).toContain(path);
      expect((await server.call({ path: "sys/mounts" })).json.data["secret/"]).toBeUndefined();
      await deploy(fresh());
      await keysAreThere();
      expect(await driftMain([], fresh, capture().io)).toBe(0);
    });

    test("npm run destroy -- --including-root-ca </dev/null refuses while the kv mount holds keys, and the keys remain", async () => {
      const count = (await archiveKeys()).length;
      expect(count).toBeGreaterThanOrEqual(5);
      const child = spawn(process.execPath, [cli, "destroy", "--including-root-ca"], {
        env: { ...process.env, ...server.env, C42_STATE_DIR: td.deployment.config.stateDir, CHECKPOINT_DISABLE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.stdout.on("data", () => undefined);
      const code = await new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
      expect([code, stderr]).toEqual([1, expect.stringContaining(`destroy: refusing: the kv mount secret/ holds ${count} archive keys.`)]);
      expect(stderr).toContain("Nothing was destroyed. If the keys must go, run `npm run destroy -- --including-archive-keys`");
      await keysAreThere();
    });

    test("--including-archive-keys without a terminal still needs --yes; on a terminal the typed confirmation shows the count", async () => {
      const count = (await archiveKeys()).length;
      const noYes = capture();
      expect(await destroyMain(["--including-root-ca", "--including-archive-keys"], destroyDeployment, noYes.io, () => surroundings())).toBe(1);
      expect(noYes.out.stderr).toContain(`destroy: refusing: the kv mount secret/ holds ${count} archive keys, and there is no terminal to confirm on.`);

      const questions: string[] = [];
      const typedWrong = capture();
      const ask = async (q: string) => (questions.push(q), "yes");
      expect(
        await destroyMain(["--including-root-ca", "--including-archive-keys", "--yes"], destroyDeployment, typedWrong.io, () =>
          surroundings({ isTerminal: true, ask }),
        ),
      ).toBe(1);
      expect(questions).toEqual([expect.stringContaining(`Type "destroy ${count} archive keys" to go on: `)]);
      expect(typedWrong.out.stderr).toContain("destroy: not confirmed; nothing was destroyed");
      await keysAreThere();
    });

    test("with --including-archive-keys and --yes it first writes a verified backup and says where; a restore of it brings the keys back", async () => {
      const count = (await archiveKeys()).length;
      const keysFile = join(td.work, "unseal.keys");
      copyFileSync(join(dirname(server.env.VAULT_CACERT), "..", "unseal.key"), keysFile);
      execFileSync("chmod", ["600", keysFile]);
      const backups = join(td.work, "backups");
      const { out, io } = capture();
      const argv = ["--including-root-ca", "--including-archive-keys", "--yes", "--backup-out", backups, "--unseal-keys", keysFile];
      expect([await destroyMain(argv, destroyDeployment, io, () => surroundings()), out.stderr]).toEqual([0, expect.any(String)]);
      const snapshot = new RegExp(`^backup of ${count} archive keys, verified: (\\S+\\.snap)$`, "m").exec(out.stdout)?.[1] as string;
      expect(snapshot.startsWith(backups)).toBe(true);
      expect(existsSync(snapshot)).toBe(true);
      expect(out.stderr).toMatch(new RegExp(`destroy: verified in a scratch server .*: ${count} archive keys read back`));
      expect(out.stdout).toMatch(/destroyed\n$/);
      expect((await server.call({ path: "sys/mounts" })).json.data["secret/"]).toBeUndefined();

      const restored = capture();
      const restoreSurroundings = { ...surroundings(), confirm: async () => true };
      const code = await restoreMain([snapshot, "--yes", "--unseal-keys", keysFile, "--skip-login"], restored.io, () => restoreSurroundings);
      expect([code, restored.out.stderr]).toEqual([0, expect.any(String)]);
      await keysAreThere();
      expect((await archiveKeys()).length).toBe(count);
    });
  });
});
