import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { capture } from "../helpers/io";
import { selfSignedCertificate } from "../helpers/test-pki";
import { TestServer, ok, startTestServer } from "./fixtures";

/**
 * Issues 19 and 14: a wrong Vault connection is found by the preflight before the engine starts,
 * and reported as one line naming the variable to fix; nothing is applied.
 */
describe("the Vault preflight: one line naming the variable to fix, before the engine", () => {
  let server: TestServer;
  let work: string;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "c42-errors-"));
  });

  afterAll(async () => {
    // Figures only (issue 14 asks for "well under a second"); never a gate.
    console.log(`preflight refusals (ms): ${JSON.stringify(timings)}`);
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const runCommand = async (name: string, main: typeof deployMain, vaultEnv: Record<string, string>) => {
    const { out, io } = capture();
    const started = Date.now();
    const code = await main([], () => isolatedDeployment(work, vaultEnv), io);
    timings[name] = Date.now() - started;
    return { code, ...out };
  };
  const deploy = (name: string, vaultEnv: Record<string, string>) => runCommand(name, deployMain, vaultEnv);
  const drift = (name: string, vaultEnv: Record<string, string>) => runCommand(name, driftMain, vaultEnv);

  /** Nothing was applied: the stack's mounts, auth method and policy are not on the server, and no engine ran. */
  const expectNothingApplied = async () => {
    const mounts = Object.keys((await server.call({ path: "sys/mounts" })).json.data ?? {});
    expect(mounts.filter((m) => ["secret/", "pki/", "pki_int/"].includes(m))).toEqual([]);
    expect(Object.keys((await server.call({ path: "sys/auth" })).json.data ?? {})).not.toContain("cert/");
    expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).status).toBe(404);
    expect(existsSync(join(work, "cdktf.out", "stacks", "keystore", ".terraform"))).toBe(false);
  };

  test("nothing listening at VAULT_ADDR", async () => {
    const port = await new Promise<number>((ok) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => ok(p));
      });
    });
    const r = await deploy("unreachable", { ...server.env, VAULT_ADDR: `https://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^deploy: cannot reach Vault at https://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED [^)]*\\): check VAULT_ADDR [^\n]*\n$`),
    );
    expect(r.stdout).toBe("");
    await expectNothingApplied();
  });

  test("VAULT_CACERT names another CA's certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "c42-other-ca-"));
    try {
      selfSignedCertificate(dir, { cn: "another CA", days: 1 });
      const otherCa = join(dir, "cert.pem");
      const r = await deploy("wrongCa", { ...server.env, VAULT_CACERT: otherCa });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^deploy: VAULT_CACERT=${otherCa.replace(/[.]/g, "\\.")} does not verify the certificate of ${server.env.VAULT_ADDR.replace(/[.]/g, "\\.")} \\([^)]+\\): set it to the PEM file of the CA that signed the server's certificate\n$`,
        ),
      );
      await expectNothingApplied();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no VAULT_CACERT for a server whose CA this client does not know", async () => {
    const { VAULT_CACERT: _ca, ...withoutCa } = server.env;
    const r = await drift("noCa", withoutCa);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drift: the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \([^)]+\) and VAULT_CACERT is not set: set it to [^\n]*\n$/);
    expect(r.stdout).toBe("");
  });

  test("a token Vault refuses (403)", async () => {
    const r = await deploy("badToken", { ...server.env, VAULT_TOKEN: "s.not-a-token" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^deploy: VAULT_TOKEN is not accepted by https:\/\/127\.0\.0\.1:\d+ \(HTTP 403 permission denied\): [^\n]*set VAULT_TOKEN to a valid token\n$/,
    );
    expect(r.stderr).not.toContain(server.env.VAULT_TOKEN);
    await expectNothingApplied();
  });

  test("a valid token that may read but not write: deploy names what it lacks; drift (read) passes the preflight", async () => {
    ok(
      await server.call({
        method: "PUT",
        path: "sys/policies/acl/read-only-test",
        body: {
          policy:
            'path "*" {\n  capabilities = ["read", "list"]\n}\npath "sys/audit" {\n  capabilities = ["read", "sudo"]\n}\npath "sys/auth/cert/tune" {\n  capabilities = ["read", "sudo"]\n}\n',
        },
      }),
    );
    const token = (await server.call({ method: "POST", path: "auth/token/create", body: { policies: ["read-only-test"], ttl: "10m" } })).json.auth
      .client_token as string;
    const r = await deploy("lackingCapability", { ...server.env, VAULT_TOKEN: token });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^deploy: VAULT_TOKEN may not do what this command needs on https:\/\/127\.0\.0\.1:\d+: create or update on sys\/mounts\/secret to mount the engine \(it has: list, read\); .*create or update on sys\/policies\/acl\/crashplanPolicy to write the policy \(it has: list, read\);.* Nothing was changed\n$/,
    );
    expect(r.stderr).not.toContain(token);
    await expectNothingApplied();
    const d = await drift("readOnlyDrift", { ...server.env, VAULT_TOKEN: token });
    expect(d.stderr).not.toMatch(/VAULT_TOKEN/);
    // Past the preflight: nothing is deployed, and drift says so instead of listing everything as pending creation.
    expect(d).toMatchObject({ code: 1, stderr: `drift: There is no state at ${join(work, "state", "keystore.tfstate")}: check stateDir.\n` });
    ok(await server.call({ method: "DELETE", path: "sys/policies/acl/read-only-test" }));
  });
});
