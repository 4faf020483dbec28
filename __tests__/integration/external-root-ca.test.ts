import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_OUTPUTS, EXTERNAL_SIGNING_OUTPUTS } from "../../lib";
import { bundleMain } from "../../ops/commands/bundle";
import { ExternalRootCa, makeCsr, makeExternalRoot, privateTempDir } from "../helpers/external-root";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

// rootCa.external end to end: a root CA made by OpenSSL here stands for the
// user's own; the first deploy stops at the intermediate's CSR, OpenSSL signs
// it, the second deploy sets it as signed and issues the admin certificate,
// which then logs in and chains to the OpenSSL root. Keys stay in files in a
// 0700 directory; no key or token is printed.

type Outputs = Record<string, { value: unknown; sensitive?: boolean }>;
const CAPS = ["create", "delete", "list", "read", "update"];
const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

describe("an intermediate signed by the user's own root CA, outside Vault", () => {
  let server: TestServer;
  let dir: string;
  let root: ExternalRootCa;
  let first: TestDeployment;
  let second: TestDeployment;
  let beforeSigning: Outputs;
  let afterSigning: Outputs;
  let chainFile: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = privateTempDir("c42-external-root-");
    root = makeExternalRoot(dir, "root", "Acme Corp Root CA");

    first = testDeployment(server, { C42_ROOT_CA_EXTERNAL: "true" });
    await first.deployment.apply();
    beforeSigning = await first.deployment.outputs();
  });

  afterAll(async () => {
    second?.cleanup();
    first?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  describe("the first deploy", () => {
    test("makes pki_int and no pki mount or root", async () => {
      const mounts = (await server.call({ path: "sys/mounts" })).json.data;
      expect(mounts["pki_int/"].type).toBe("pki");
      expect(mounts["pki/"]).toBeUndefined();
      expect(mounts["secret/"].type).toBe("kv");
    });

    test("writes the intermediate's CSR as an output, and says what to do next", () => {
      const csr = beforeSigning[EXTERNAL_SIGNING_OUTPUTS.csr].value as string;
      expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
      const subject = execFileSync("openssl", ["req", "-noout", "-verify", "-subject"], { input: csr, stdio: ["pipe", "pipe", "pipe"] }).toString();
      expect(subject).toMatch(/subject=CN\s*=\s*example.com Intermediate Authority/);
      expect(beforeSigning[EXTERNAL_SIGNING_OUTPUTS.nextStep].value).toMatch(/set intermediateCa\.signedCertificateFile .* deploy again/);
    });

    test("stops at the CSR: no cpRole, no admin certificate, no crashplanUser, no bundle outputs", async () => {
      expect((await server.call({ path: "pki_int/roles/cpRole" })).status).toBe(404);
      expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).status).toBe(404);
      for (const name of Object.values(BUNDLE_OUTPUTS)) expect(beforeSigning[name]).toBeUndefined();
      // The key is in pki_int, but no issuer until the signed certificate is set.
      expect((await server.call({ method: "LIST", path: "pki_int/issuers" })).status).toBe(404);
      expect((await server.call({ method: "LIST", path: "pki_int/keys" })).json.data.keys).toHaveLength(1);
    });
  });

  describe("a certificate signed for another key", () => {
    let refused: string;

    beforeAll(async () => {
      const wrongFile = join(dir, "other-key-chain.pem");
      writeFileSync(wrongFile, root.signIntermediate(makeCsr(dir, "other-key"), { name: "other-key" }) + root.certificatePem);
      const wrong = testDeployment(server, {
        C42_ROOT_CA_EXTERNAL: "true",
        C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: wrongFile,
        C42_STATE_DIR: first.deployment.config.stateDir,
      });
      try {
        refused = await wrong.deployment.apply().then(
          () => "applied",
          (e: Error) => e.message,
        );
      } finally {
        wrong.cleanup();
      }
    });

    test("stops the deploy with a message naming the setting, before any role or certificate", async () => {
      // The engine wraps the message; compare it with its spacing flattened.
      expect(refused.replace(/\s+/g, " ")).toContain(
        "intermediateCa.signedCertificateFile: the intermediate certificate was not signed for the key of this deployment's CSR; expected the CSR in the intermediate_csr output",
      );
      expect((await server.call({ path: "pki_int/roles/cpRole" })).status).toBe(404);
      expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).status).toBe(404);
    });
  });

  describe("after OpenSSL signs the CSR and the second deploy", () => {
    beforeAll(async () => {
      const signed = root.signIntermediate(beforeSigning[EXTERNAL_SIGNING_OUTPUTS.csr].value as string, { name: "pki_int", days: 1825 });
      chainFile = join(dir, "pki_int-chain.pem");
      writeFileSync(chainFile, signed + root.certificatePem);
      second = testDeployment(server, {
        C42_ROOT_CA_EXTERNAL: "true",
        C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: chainFile,
        C42_STATE_DIR: first.deployment.config.stateDir,
      });
      await second.deployment.apply();
      afterSigning = await second.deployment.outputs();
    });

    const out = (name: string) => afterSigning[name].value as string;

    test("the CSR is the same (the key was not replaced) and the next step is gone", () => {
      expect(out(EXTERNAL_SIGNING_OUTPUTS.csr)).toBe(beforeSigning[EXTERNAL_SIGNING_OUTPUTS.csr].value);
      expect(afterSigning[EXTERNAL_SIGNING_OUTPUTS.nextStep]).toBeUndefined();
    });

    test("pki_int's default issuer is the signed intermediate, issued by the OpenSSL root", async () => {
      const ca = (await server.call({ path: "pki_int/cert/ca" })).json.data.certificate as string;
      const intermediate = new X509Certificate(ca);
      expect(intermediate.subject).toBe("CN=example.com Intermediate Authority");
      expect(intermediate.ca).toBe(true);
      expect(intermediate.checkIssued(new X509Certificate(root.certificatePem))).toBe(true);
      expect(intermediate.verify(new X509Certificate(root.certificatePem).publicKey)).toBe(true);
    });

    test("cpRole and crashplanUser exist as with the internal root", async () => {
      const role = (await server.call({ path: "pki_int/roles/cpRole" })).json.data;
      expect(role.allow_any_name).toBe(true);
      expect(role.client_flag).toBe(true);
      const certRole = (await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data;
      expect(certRole.token_policies).toEqual(["crashplanPolicy"]);
      expect(certRole.certificate.trim()).toBe(out(BUNDLE_OUTPUTS.certificate).trim());
    });

    test("the admin certificate chains through the intermediate to the OpenSSL root, which openssl trusts alone", () => {
      const chain = out(BUNDLE_OUTPUTS.caChain).match(PEM_CERT) ?? [];
      expect(chain).toHaveLength(2);
      const [intermediatePem, rootPem] = chain as [string, string];
      expect(new X509Certificate(intermediatePem).subject).toBe("CN=example.com Intermediate Authority");
      expect(new X509Certificate(rootPem).raw.equals(new X509Certificate(root.certificatePem).raw)).toBe(true);
      writeFileSync(join(dir, "untrusted.pem"), chain.join("\n") + "\n");
      writeFileSync(join(dir, "admin.pem"), out(BUNDLE_OUTPUTS.certificate));
      const verdict = execFileSync("openssl", [
        "verify",
        "-CAfile",
        join(dir, root.certFile),
        "-untrusted",
        join(dir, "untrusted.pem"),
        "-purpose",
        "sslclient",
        join(dir, "admin.pem"),
      ]).toString();
      expect(verdict.trim()).toBe(`${join(dir, "admin.pem")}: OK`);
      expect(new X509Certificate(out(BUNDLE_OUTPUTS.certificate)).subject).toBe("CN=crashplan-admin");
    });

    test("every bundle output is there", () => {
      for (const name of Object.values(BUNDLE_OUTPUTS)) expect(afterSigning[name]).toBeDefined();
      expect(afterSigning[BUNDLE_OUTPUTS.privateKey].sensitive).toBe(true);
      expect(afterSigning[BUNDLE_OUTPUTS.password].sensitive).toBe(true);
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
        expect(login.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
        expect(login.json.auth.lease_duration).toBe(60);
      });

      test("grants the five capabilities on sys/policy/* and auth/cert/certs/*", async () => {
        for (const path of ["sys/policy/anything", "auth/cert/certs/anything"]) {
          const caps = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: [path] } });
          expect([...caps.json.capabilities].sort()).toEqual(CAPS);
        }
      });

      test("and nothing that issues: not from pki_int, and there is no pki", async () => {
        for (const path of ["pki_int/issue/cpRole", "pki/issue/anything", "pki_int/sign/cpRole", "secret/code42"]) {
          const caps = await server.call({ method: "POST", path: "sys/capabilities-self", token, body: { paths: [path] } });
          expect(caps.json.capabilities).toEqual(["deny"]);
        }
      });
    });

    test("the bundle command writes crashplan.p12 from these outputs, and Code42 logs in with it", async () => {
      const bundleDir = join(dir, "bundle");
      let printed = "";
      const io = { stdout: (t: string) => void (printed += t), stderr: (t: string) => void (printed += t) };
      expect(await bundleMain(["--out", bundleDir], afterSigning, io)).toBe(0);
      const passphrase = readFileSync(join(bundleDir, "crashplan.p12.password"), "utf8").trim();
      expect(printed.includes(passphrase)).toBe(false);
      const login = await server.call({
        method: "PUT",
        path: "auth/cert/login",
        token: undefined,
        pfx: { pfx: readFileSync(join(bundleDir, "crashplan.p12")), passphrase },
      });
      expect(login.status).toBe(200);
      expect(login.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
    });

    test("a third deploy plans zero changes", async () => {
      const plan = await second.deployment.plan();
      expect(plan.stdout).toContain("No changes.");
      expect(plan.code).toBe(0);
    });
  });
});
