import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

// What docs/security.md says about the admin certificate, on a real server:
// what its tokens can reach, and the response to a leak, call by call.
describe("the admin certificate: its reach, and revoking it after a leak", () => {
  let server: TestServer;
  let td: TestDeployment;
  let leaked: { cert: string; key: string; serial: string };
  let originalPolicy: string;

  const outputsOf = async () => {
    const o = await td.deployment.outputs();
    const v = (name: string) => o[name].value as string;
    return { cert: v(BUNDLE_OUTPUTS.certificate), key: v(BUNDLE_OUTPUTS.privateKey), serial: v(BUNDLE_OUTPUTS.serialNumber) };
  };
  const login = (identity: { cert: string; key: string }) => server.call({ method: "PUT", path: "auth/cert/login", token: undefined, clientCert: identity });
  const adminCertAddress = () => {
    const json = JSON.parse(readFileSync(join(td.deployment.stackDir, "cdk.tf.json"), "utf8"));
    const ids = Object.keys(json.resource.vault_pki_secret_backend_cert);
    expect(ids).toHaveLength(1);
    return `vault_pki_secret_backend_cert.${ids[0]}`;
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
    leaked = await outputsOf();
    originalPolicy = (await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy;
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("its tokens can rewrite their own policy, and so reach anything: treat the certificate as root-equivalent", async () => {
    const token = (await login(leaked)).json.auth.client_token as string;
    const before = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: ["secret/code42"] } });
    expect(before.json.capabilities).toEqual(["deny"]);
    const widened = originalPolicy + '\npath "secret/*" {\n  capabilities = ["read", "list"]\n}\n';
    const write = await server.call({ method: "PUT", path: "sys/policy/crashplanPolicy", token, body: { policy: widened } });
    expect([200, 204]).toContain(write.status);
    const after = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: ["secret/code42"] } });
    expect([...after.json.capabilities].sort()).toEqual(["list", "read"]);
  });

  describe("after a leak", () => {
    let staleToken: string;

    beforeAll(async () => {
      staleToken = (await login(leaked)).json.auth.client_token;
    });

    test("1. revoke the certificate's serial on pki_int", async () => {
      const revoke = await server.call({ method: "POST", path: "pki_int/revoke", body: { serial_number: leaked.serial } });
      expect(revoke.status).toBe(200);
      expect(revoke.json.data.revocation_time).toBeGreaterThan(0);
      const cert = await server.call({ path: `pki_int/cert/${leaked.serial}` });
      expect(cert.json.data.revocation_time).toBeGreaterThan(0);
    });

    test("2. delete the crashplanUser role: the cert auth role pins the certificate, so this is what stops logins", async () => {
      expect((await login(leaked)).status).toBe(200); // revocation alone does not: cert auth does not read pki_int's CRL
      const remove = await server.call({ method: "DELETE", path: "auth/cert/certs/crashplanUser" });
      expect(remove.status).toBe(204);
      expect((await login(leaked)).status).toBeGreaterThanOrEqual(400);
    });

    test("3. revoke the tokens already issued through cert auth", async () => {
      expect((await server.call({ path: "auth/token/lookup-self", token: staleToken })).status).toBe(200);
      const revoke = await server.call({ method: "PUT", path: "sys/leases/revoke-prefix/auth/cert/login" });
      expect(revoke.status).toBe(204);
      expect((await server.call({ path: "auth/token/lookup-self", token: staleToken })).status).toBe(403);
    });

    test("4. a deploy with -replace of the admin certificate issues a new one, restores the role and undoes the policy change", async () => {
      await td.deployment.apply([`-replace=${adminCertAddress()}`]);
      const fresh = await outputsOf();
      expect(fresh.serial).not.toBe(leaked.serial);
      const role = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
      expect(role.certificate.trim()).toBe(fresh.cert.trim());
      expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy).toBe(originalPolicy);
      expect((await login(fresh)).status).toBe(200);
      expect((await login(leaked)).status).toBeGreaterThanOrEqual(400);
      expect((await td.deployment.plan()).code).toBe(0);
    });
  });
});
