import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { driftMain } from "../../ops/commands/drift";
import { Deployment } from "../../ops/engine/deployment";
import { DriftReport } from "../../ops/engine/drift-report";
import { constructPaths } from "../../ops/engine/synthesized";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";
import { capture } from "../helpers/io";

describe("drift check on a real OpenBao with real OpenTofu", () => {
  let server: TestServer;
  let td: TestDeployment;
  let d: Deployment;
  /** Terraform address of the resource a construct path synthesizes to. */
  let address: (constructPath: string) => string;

  const names = (report: DriftReport) => report.drifted.map((r) => r.address).sort();
  const entry = (report: DriftReport, constructPath: string) => report.drifted.find((r) => r.address === address(constructPath));

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    d = td.deployment;
    await deploy(d);
    const byPath = new Map([...constructPaths(d.stackDir).entries()].map(([addr, path]) => [path, addr]));
    address = (constructPath) => {
      const found = byPath.get(`keystore/${constructPath}`);
      if (!found) throw new Error(`no resource at keystore/${constructPath}`);
      return found;
    };
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("right after a deploy the CLI reports in sync and exits 0", async () => {
    const { out, io } = capture();
    expect(await driftMain([], () => d, io)).toBe(0);
    expect(out.stdout).toBe("in sync: Vault matches the configuration\n");
    expect(out.stderr).toBe("");
  });

  test("through the CLI: an edited policy exits 2 with a JSON report naming it and no values; deploy repairs it", async () => {
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: 'path "secret/*" {\n  capabilities = ["read"]\n}\n' } }));

    const json = capture();
    expect(await driftMain(["--json"], () => d, json.io)).toBe(2);
    const report = JSON.parse(json.out.stdout) as DriftReport;
    expect(report).toEqual({ inSync: false, drifted: [{ address: address("policy/policy"), actions: ["update"], attributes: ["policy"] }] });

    const human = capture();
    expect(await driftMain([], () => d, human.io)).toBe(2);
    expect(human.out.stdout).toBe(`drift: ${address("policy/policy")} (keystore/policy/policy): update: policy\n`);
    for (const text of [json.out.stdout, human.out.stdout]) {
      expect(text).not.toContain("secret/*");
      expect(text).not.toContain("BEGIN");
      expect(text).not.toContain(server.env.VAULT_TOKEN);
    }

    await deploy(d);
    const policy = (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy as string;
    expect(policy).toContain('path "pki/issue/*"');
    expect(policy).not.toContain('path "secret/*"');
    const after = capture();
    expect(await driftMain([], () => d, after.io)).toBe(0);
  });

  /** One out-of-band change: how to make it, what the report must name, and how to see it repaired. */
  interface Case {
    readonly change: () => Promise<unknown>;
    /** Construct path -> expected actions and attributes. */
    readonly expected: Record<string, { actions: string[]; attributes: string[] }>;
    readonly repaired: () => Promise<void>;
  }

  const cases: Record<string, Case> = {
    "cpRole flags changed": {
      change: async () =>
        ok(await server.call({ method: "POST", path: "pki_int/roles/cpRole", body: { allow_any_name: false, allow_subdomains: false, client_flag: false } })),
      expected: { "role/role": { actions: ["update"], attributes: ["allow_any_name", "allow_subdomains", "client_flag"] } },
      repaired: async () => {
        const role = (await server.call({ path: "pki_int/roles/cpRole" })).json.data;
        expect([role.allow_any_name, role.allow_subdomains, role.client_flag]).toEqual([true, true, true]);
      },
    },
    "crashplanUser token TTL and policies changed": {
      change: async () =>
        ok(await server.call({ method: "POST", path: "auth/cert/certs/crashplanUser", body: { token_ttl: 3600, token_policies: ["default"] } })),
      expected: { "certRole/role": { actions: ["update"], attributes: ["token_policies", "token_ttl"] } },
      repaired: async () => {
        const role = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
        expect(role.token_ttl).toBe(60);
        expect(role.token_policies).toEqual(["crashplanPolicy"]);
      },
    },
    "cert auth tune changed (invisible to tofu plan)": {
      change: async () => {
        ok(await server.call({ method: "POST", path: "sys/auth/cert/tune", body: { default_lease_ttl: "5m" } }));
        expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(300);
        // The provider's blind spot, measured: the engine alone sees nothing.
        expect((await d.plan()).code).toBe(0);
      },
      expected: { "certAuth/backend": { actions: ["update"], attributes: ["tune.default_lease_ttl"] } },
      repaired: async () => {
        expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(60);
        // The repair goes through the API; it must not leave extra copies of the state (it holds private
        // keys): only the engine's backup and the last good state a killed run falls back on, each 0600, beside the record of the engine that wrote it.
        const files = readdirSync(d.config.stateDir).sort();
        expect(files).toEqual(["keystore.engine.json", "keystore.tfstate", "keystore.tfstate.backup", "keystore.tfstate.last-good"]);
        for (const f of files) expect(statSync(join(d.config.stateDir, f)).mode & 0o777).toBe(0o600);
      },
    },
    "pki_int tune changed": {
      change: async () => ok(await server.call({ method: "POST", path: "sys/mounts/pki_int/tune", body: { max_lease_ttl: "1000h" } })),
      expected: { "pki_int/mount": { actions: ["update"], attributes: ["max_lease_ttl_seconds"] } },
      repaired: async () => {
        expect((await server.call({ path: "sys/mounts/pki_int/tune" })).json.data.max_lease_ttl).toBe(43800 * 3600);
      },
    },
    "config URLs changed": {
      change: async () =>
        ok(
          await server.call({
            method: "POST",
            path: "pki_int/config/urls",
            body: { issuing_certificates: ["https://elsewhere.example/ca"], crl_distribution_points: ["https://elsewhere.example/crl"] },
          }),
        ),
      expected: { "pki_int/urls": { actions: ["update"], attributes: ["crl_distribution_points", "issuing_certificates"] } },
      repaired: async () => {
        const urls = (await server.call({ path: "pki_int/config/urls" })).json.data;
        expect(urls.issuing_certificates).toEqual([`${server.env.VAULT_ADDR}/v1/pki_int/ca`]);
        expect(urls.crl_distribution_points).toEqual([`${server.env.VAULT_ADDR}/v1/pki_int/crl`]);
      },
    },
    "kv mount disabled": {
      change: async () => ok(await server.call({ method: "DELETE", path: "sys/mounts/secret" })),
      expected: { "kv/mount": { actions: ["create"], attributes: [] } },
      repaired: async () => {
        const mounts = (await server.call({ path: "sys/mounts" })).json.data;
        expect(mounts["secret/"].type).toBe("kv");
        expect(mounts["secret/"].options.version).toBe("1");
      },
    },
    "cert auth disabled": {
      change: async () => ok(await server.call({ method: "DELETE", path: "sys/auth/cert" })),
      expected: { "certAuth/backend": { actions: ["create"], attributes: [] }, "certRole/role": { actions: ["create"], attributes: [] } },
      repaired: async () => {
        expect((await server.call({ path: "sys/auth" })).json.data["cert/"].type).toBe("cert");
        expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(60);
        expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_policies).toEqual(["crashplanPolicy"]);
      },
    },
    "cert role deleted": {
      change: async () => ok(await server.call({ method: "DELETE", path: "auth/cert/certs/crashplanUser" })),
      expected: { "certRole/role": { actions: ["create"], attributes: [] } },
      repaired: async () => {
        const role = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
        expect(role.display_name).toBe("crashplanUser");
        expect(role.certificate).toContain("BEGIN CERTIFICATE");
      },
    },
  };

  test.each(Object.keys(cases))("%s: drift names exactly the resource, deploy repairs it, the next check is in sync", async (name) => {
    const c = cases[name];
    await c.change();

    const report = await checkDrift(d);
    expect(report.inSync).toBe(false);
    expect(names(report)).toEqual(Object.keys(c.expected).map(address).sort());
    for (const [constructPath, expected] of Object.entries(c.expected)) {
      expect(entry(report, constructPath)).toEqual({ address: address(constructPath), ...expected });
    }

    await deploy(d);
    await c.repaired();
    expect(await checkDrift(d)).toEqual({ inSync: true, drifted: [] });
  });
});
