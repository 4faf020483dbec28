import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleMain } from "../../ops/commands/bundle";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

/** Runs the bundle command as a user would, capturing what it prints. */
async function bundle(td: TestDeployment, args: string[]): Promise<{ code: number; printed: string }> {
  let printed = "";
  const io = { stdout: (s: string) => (printed += s), stderr: (s: string) => (printed += s) };
  const code = await bundleMain(args, () => td.deployment.outputs(), io);
  return { code, printed };
}

describe("crashplan.p12 from a real deployment", () => {
  let server: TestServer;
  let td: TestDeployment;
  let out: string;

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    await td.deployment.apply();
    out = mkdtempSync(join(tmpdir(), "c42-bundle-"));
  });

  afterAll(async () => {
    if (out) rmSync(out, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  describe.each([
    { encoding: "default", flags: [] as string[], pbe: /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration \d+, PRF hmacWithSHA256/, mac: /MAC: sha256/ },
    { encoding: "legacy", flags: ["--legacy"], pbe: /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/, mac: /MAC: sha1/ },
  ])("the $encoding encoding", ({ encoding, flags, pbe, mac }) => {
    let dir: string;
    let p12: string;
    let passwordFile: string;
    let password: string;
    let printed: string;

    beforeAll(async () => {
      dir = join(out, encoding);
      const result = await bundle(td, ["--out", dir, ...flags]);
      expect(result.code).toBe(0);
      printed = result.printed;
      p12 = join(dir, "crashplan.p12");
      passwordFile = join(dir, "crashplan.p12.password");
      password = readFileSync(passwordFile, "utf8").trim();
    });

    test("the file and the password file are 0600, and the password is not printed", () => {
      expect(statSync(p12).mode & 0o777).toBe(0o600);
      expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
      expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(printed.includes(password)).toBe(false);
      expect(printed).toContain(p12);
    });

    test("openssl accepts it with the password and reports the expected encryption", () => {
      // openssl prints the algorithm lines on stderr; the password goes by file, never argv.
      const info = execFileSync("sh", ["-c", 'openssl pkcs12 -info -noout -in "$0" -passin "file:$1" 2>&1', p12, passwordFile]).toString();
      expect(info).toMatch(pbe);
      expect(info).toMatch(mac);
    });

    test("openssl rejects a wrong password", () => {
      const wrong = join(dir, "wrong.password");
      execFileSync("sh", ["-c", 'umask 077; printf wrongpassword > "$0"', wrong]);
      expect(() => execFileSync("openssl", ["pkcs12", "-info", "-noout", "-in", p12, "-passin", `file:${wrong}`], { stdio: "pipe" })).toThrow();
      rmSync(wrong);
    });

    test("keytool (JDK) lists exactly one PrivateKeyEntry with its chain", () => {
      const listing = execFileSync("keytool", ["-list", "-v", "-storetype", "PKCS12", "-keystore", p12, "-storepass:file", passwordFile]).toString();
      expect(listing).toMatch(/Your keystore contains 1 entry/);
      expect(listing.match(/Entry type: PrivateKeyEntry/g)).toHaveLength(1);
      expect(listing).toMatch(/Certificate chain length: 3/);
      expect(listing).toMatch(/Owner: CN=crashplan-admin/);
    });

    test("a Node HTTPS client with nothing but pfx and passphrase logs in and gets crashplanPolicy", async () => {
      const login = await server.call({
        method: "PUT",
        path: "auth/cert/login",
        token: undefined,
        pfx: { pfx: readFileSync(p12), passphrase: password },
      });
      expect(login.status).toBe(200);
      expect(login.json.auth.token_policies).toEqual(["crashplanpolicy", "default"]);
      expect(login.json.auth.lease_duration).toBe(60);
    });
  });

  test("the password is stable across re-deploys", async () => {
    const before = (await td.deployment.outputs()).crashplan_p12_password.value;
    await td.deployment.apply();
    const after = (await td.deployment.outputs()).crashplan_p12_password.value;
    expect(after === before).toBe(true);
  });

  test("a second bundle into the same directory is refused without --force", async () => {
    const dir = join(out, "default");
    const before = readFileSync(join(dir, "crashplan.p12"));
    const refused = await bundle(td, ["--out", dir]);
    expect(refused.code).toBe(1);
    expect(refused.printed).toMatch(/--force/);
    expect(readFileSync(join(dir, "crashplan.p12")).equals(before)).toBe(true);
  });
});
