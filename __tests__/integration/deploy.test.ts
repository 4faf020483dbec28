import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

const CAPS = ["create", "delete", "list", "read", "update"];

describe("deploy onto a real OpenBao with real OpenTofu", () => {
  let server: TestServer;
  let td: TestDeployment;
  let outputs: Record<string, { value: unknown; sensitive?: boolean }>;
  const out = (name: string) => outputs[name].value as string;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
    outputs = await td.deployment.outputs();
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("kv version 1 is mounted at secret/", async () => {
    const mounts = (await server.call({ path: "sys/mounts" })).json.data;
    expect(mounts["secret/"].type).toBe("kv");
    expect(mounts["secret/"].options.version).toBe("1");
  });

  test("pki and pki_int are tuned to 87600h and 43800h", async () => {
    const pki = await server.call({ path: "sys/mounts/pki/tune" });
    const pkiInt = await server.call({ path: "sys/mounts/pki_int/tune" });
    expect(pki.json.data.max_lease_ttl).toBe(87600 * 3600);
    expect(pkiInt.json.data.max_lease_ttl).toBe(43800 * 3600);
    const mounts = (await server.call({ path: "sys/mounts" })).json.data;
    expect(mounts["pki/"].type).toBe("pki");
    expect(mounts["pki_int/"].type).toBe("pki");
  });

  test("cert auth is enabled at cert/ with a 60 s default lease", async () => {
    const auths = (await server.call({ path: "sys/auth" })).json.data;
    expect(auths["cert/"].type).toBe("cert");
    const tune = await server.call({ path: "sys/auth/cert/tune" });
    expect(tune.json.data.default_lease_ttl).toBe(60);
  });

  test("both mounts publish issuing-certificate and CRL URLs from one base", async () => {
    for (const mount of ["pki", "pki_int"]) {
      const urls = (await server.call({ path: `${mount}/config/urls` })).json.data;
      expect(urls.issuing_certificates).toEqual([`${server.env.VAULT_ADDR}/v1/${mount}/ca`]);
      expect(urls.crl_distribution_points).toEqual([`${server.env.VAULT_ADDR}/v1/${mount}/crl`]);
    }
  });

  test("cpRole allows any name and subdomains and issues client certificates", async () => {
    const role = (await server.call({ path: "pki_int/roles/cpRole" })).json.data;
    expect(role.allow_any_name).toBe(true);
    expect(role.allow_subdomains).toBe(true);
    expect(role.client_flag).toBe(true);
  });

  test("crashplanPolicy grants the five capabilities on the three recipe paths", async () => {
    const policy = (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    for (const path of ["pki/issue/*", "sys/policy/*", "auth/cert/certs/*"]) {
      expect(policy).toContain(`path "${path}" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}`);
    }
    expect(policy.match(/^path /gm)).toHaveLength(3);
  });

  test("crashplanUser trusts exactly the admin certificate and issues 60 s crashplanPolicy tokens", async () => {
    const role = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
    expect(role.display_name).toBe("crashplanUser");
    expect(role.token_policies).toEqual(["crashplanPolicy"]);
    expect(role.token_ttl).toBe(60);
    expect(role.certificate.trim()).toBe(out(BUNDLE_OUTPUTS.certificate).trim());
  });

  test("the admin certificate chains to the intermediate and the root", () => {
    const dir = mkdtempSync(join(tmpdir(), "c42-chain-"));
    try {
      const chain = out(BUNDLE_OUTPUTS.caChain).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
      expect(chain).toHaveLength(2);
      writeFileSync(join(dir, "intermediate.pem"), chain[0] + "\n");
      writeFileSync(join(dir, "root.pem"), chain[1] + "\n");
      writeFileSync(join(dir, "admin.pem"), out(BUNDLE_OUTPUTS.certificate));
      const verdict = execFileSync("openssl", [
        "verify",
        "-CAfile",
        join(dir, "root.pem"),
        "-untrusted",
        join(dir, "intermediate.pem"),
        join(dir, "admin.pem"),
      ]).toString();
      expect(verdict.trim()).toBe(`${join(dir, "admin.pem")}: OK`);
      const subject = execFileSync("openssl", ["x509", "-noout", "-subject", "-issuer", "-in", join(dir, "admin.pem")]).toString();
      expect(subject).toMatch(/subject=CN\s*=\s*crashplan-admin/);
      expect(subject).toMatch(/issuer=CN\s*=\s*example.com Intermediate Authority/);
      const rootSubject = execFileSync("openssl", ["x509", "-noout", "-subject", "-in", join(dir, "root.pem")]).toString();
      expect(rootSubject).toMatch(/subject=CN\s*=\s*example.com$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("a TLS login with the admin certificate", () => {
    let token: string;

    beforeAll(async () => {
      const login = await server.call({
        method: "PUT",
        path: "auth/cert/login",
        token: undefined,
        clientCert: { cert: out(BUNDLE_OUTPUTS.certificate), key: out(BUNDLE_OUTPUTS.privateKey) },
      });
      expect(login.status).toBe(200);
      token = login.json.auth.client_token;
      // Vault stores policy names in lower case; they match case-insensitively.
      expect(login.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
      expect(login.json.auth.lease_duration).toBe(60);
    });

    test("is refused without a client certificate", async () => {
      const anonymous = await server.call({ method: "PUT", path: "auth/cert/login", token: undefined });
      expect(anonymous.status).toBeGreaterThanOrEqual(400);
    });

    test("returns a token with exactly the five capabilities on the policy paths", async () => {
      for (const path of ["pki/issue/anything", "sys/policy/anything", "auth/cert/certs/anything"]) {
        const caps = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: [path] } });
        expect([...caps.json.capabilities].sort()).toEqual(CAPS);
      }
    });

    test("and deny everywhere else", async () => {
      for (const path of ["secret/code42", "sys/mounts", "auth/token/create", "pki_int/issue/cpRole"]) {
        const caps = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: [path] } });
        expect(caps.json.capabilities).toEqual(["deny"]);
      }
    });
  });

  test("a lock file left by another build of the plugins does not break init", async () => {
    const lock = join(td.deployment.stackDir, ".terraform.lock.hcl");
    writeFileSync(
      lock,
      'provider "registry.opentofu.org/hashicorp/vault" {\n  version     = "5.9.0"\n  constraints = "5.9.0"\n  hashes = [\n    "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",\n  ]\n}\n',
    );
    await td.deployment.init();
    expect(readFileSync(lock, "utf8")).not.toContain("h1:AAAAAAAA");
  });

  test("a later command skips tofu init and state pull while nothing init depends on changed; without .terraform it inits again", async () => {
    const engineRuns = (d: Deployment) => {
      const tofu = jest.spyOn(d, "tofu");
      return () => tofu.mock.calls.map(([args]) => args[0]);
    };
    const later = isolatedDeployment(td.work, server.env);
    const laterRuns = engineRuns(later);
    expect((await later.plan()).code).toBe(0);
    expect(await later.rotationPhase()).toEqual({ recorded: "idle", target: "idle" });
    expect(Object.keys(await later.outputs())).toContain(BUNDLE_OUTPUTS.certificate);
    expect(laterRuns()).toEqual(["plan"]);

    rmSync(join(later.stackDir, ".terraform"), { recursive: true, force: true });
    const afterRemoval = isolatedDeployment(td.work, server.env);
    const afterRemovalRuns = engineRuns(afterRemoval);
    expect((await afterRemoval.plan()).code).toBe(0);
    expect(afterRemovalRuns()).toEqual(["init", "plan"]);
  });

  test("a second deploy plans zero changes", async () => {
    const plan = await td.deployment.plan();
    expect(plan.stdout).toContain("No changes.");
    expect(plan.code).toBe(0);
  });

  test("destroy refuses while the root CA is protected, and removes everything when released", async () => {
    const guarded = await td.deployment.destroy().then(
      () => "destroyed",
      (e: Error) => e.message,
    );
    expect(guarded).toMatch(/prevent_destroy/);
    expect((await server.call({ path: "sys/mounts" })).json.data["pki/"]).toBeDefined();

    const released = testDeployment(server, { C42_ROOT_CA_PREVENT_DESTROY: "false", C42_STATE_DIR: td.deployment.config.stateDir });
    try {
      await released.deployment.destroy({ includingArchiveKeys: true });
      const mounts = (await server.call({ path: "sys/mounts" })).json.data;
      for (const m of ["secret/", "pki/", "pki_int/"]) expect(mounts[m]).toBeUndefined();
      expect((await server.call({ path: "sys/auth" })).json.data["cert/"]).toBeUndefined();
      expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).status).toBe(404);
    } finally {
      released.cleanup();
    }
  });
});
