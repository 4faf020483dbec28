import { execFileSync } from "node:child_process";
// jest.spyOn must reach the module object the code under test calls, not an import copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import childProcess = require("node:child_process");
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../../lib/bundle-output-names";
import { P12_FILE, PASSWORD_FILE, TofuOutputs, writeBundle } from "../../../ops/bundle/bundle";
import { readPkcs12 } from "../../../ops/bundle/pkcs12";
import { bundleMain } from "../../../ops/commands/bundle";
import { TestPki, certDer, keyDer, testPkiForAllTests } from "../../helpers/test-pki";

// The password must never show up in test output: assertions on it are
// written as `expect(x.includes(password)).toBe(false)`, never as a message.

jest.setTimeout(60_000);

const mode = (path: string) => statSync(path).mode & 0o777;

function capture() {
  let stdout = "";
  let stderr = "";
  return {
    io: { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text) },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

function keytoolList(p12Path: string, passwordFile: string): string {
  return execFileSync("keytool", ["-list", "-v", "-storetype", "PKCS12", "-keystore", p12Path, "-storepass:file", passwordFile], { encoding: "utf8" });
}

let work: string;
let pki: TestPki;
let password: string;
let outputs: TofuOutputs;

testPkiForAllTests("bundle-test-", (fixture) => ({ work, pki, password, outputs } = fixture));

/** An output directory that does not exist yet, inside a private one. */
function freshOutDir(): string {
  return join(mkdtempSync(join(work, "run-")), "out");
}

describe("writeBundle", () => {
  it("writes crashplan.p12 and its password file, both 0600, and nothing else", async () => {
    const outDir = freshOutDir();
    const written = await writeBundle({ outputs, outDir });

    expect(written.p12Path).toBe(join(outDir, P12_FILE));
    expect(written.passwordPath).toBe(join(outDir, PASSWORD_FILE));
    expect(readdirSync(outDir).sort()).toEqual([P12_FILE, PASSWORD_FILE]);
    expect(mode(outDir)).toBe(0o700);
    expect(mode(written.p12Path)).toBe(0o600);
    expect(mode(written.passwordPath)).toBe(0o600);
    expect(readFileSync(written.passwordPath, "utf8") === `${password}\n`).toBe(true);
    expect(written.bytes).toBe(statSync(written.p12Path).size);
    expect(written.serial).toBe(outputs[BUNDLE_OUTPUTS.serialNumber].value);
    expect(written.notAfter.getTime() / 1000).toBe(outputs[BUNDLE_OUTPUTS.expiration].value);
  });

  it("round-trips: the file holds the outputs' key, certificate and chain, AES-256-CBC by default", async () => {
    const written = await writeBundle({ outputs, outDir: freshOutDir() });
    const contents = await readPkcs12(readFileSync(written.p12Path), password);
    expect(keyDer(contents.privateKeyPem).equals(keyDer(pki.leafKeyPem))).toBe(true);
    expect(certDer(contents.certificatePem).equals(certDer(pki.leafPem))).toBe(true);
    expect(contents.caChainPem.map(certDer)).toEqual([certDer(pki.intermediatePem), certDer(pki.rootPem)]);
    expect(contents.encryption).toMatch(/^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC,/m);
    expect(contents.encryption).toMatch(/^MAC: sha256,/m);
  });

  it("takes a chain given as a list of PEMs too", async () => {
    const listChain = { ...outputs, [BUNDLE_OUTPUTS.caChain]: { value: [pki.intermediatePem, pki.rootPem] } };
    const written = await writeBundle({ outputs: listChain, outDir: freshOutDir() });
    expect((await readPkcs12(readFileSync(written.p12Path), password)).caChainPem.map(certDer)).toEqual([certDer(pki.intermediatePem), certDer(pki.rootPem)]);
  });

  it("writes a file keytool opens with the password file: one PrivateKeyEntry, chain of 3", async () => {
    const written = await writeBundle({ outputs, outDir: freshOutDir() });
    const listing = keytoolList(written.p12Path, written.passwordPath);
    expect(listing.match(/Entry type: PrivateKeyEntry/g)).toHaveLength(1);
    expect(listing).toMatch(/Your keystore contains 1 entry/);
    expect(listing).toMatch(/Alias name: crashplan\n/);
    expect(listing).toMatch(/Certificate chain length: 3\n/);
  });
});

describe("bundleMain", () => {
  afterEach(() => jest.restoreAllMocks());

  it("prints the path, size, serial and expiry, and the password file instead of the password", async () => {
    const outDir = freshOutDir();
    const out = capture();
    expect(await bundleMain(["--out", outDir], outputs, out.io)).toBe(0);
    const size = statSync(join(outDir, P12_FILE)).size;
    expect(out.stdout).toContain(`wrote ${join(outDir, P12_FILE)} (${size} bytes, AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC)\n`);
    expect(out.stdout).toContain(
      `certificate serial ${outputs[BUNDLE_OUTPUTS.serialNumber].value}, expires ${new Date(new X509Certificate(pki.leafPem).validTo).toISOString()}\n`,
    );
    expect(out.stdout).toContain(`password in ${join(outDir, PASSWORD_FILE)} (print it with --show-password)\n`);
    expect(out.stdout.includes(password)).toBe(false);
    expect(out.stderr).toBe("");
  });

  it("prints the password with --show-password", async () => {
    const out = capture();
    expect(await bundleMain(["--out", freshOutDir(), "--show-password"], outputs, out.io)).toBe(0);
    expect(out.stdout.includes(`password: ${password}\n`)).toBe(true);
    expect(out.stderr.includes(password)).toBe(false);
  });

  it("refuses to overwrite without --force and overwrites with it", async () => {
    const outDir = freshOutDir();
    expect(await bundleMain(["--out", outDir], outputs, capture().io)).toBe(0);
    const p12Path = join(outDir, P12_FILE);
    const first = readFileSync(p12Path);

    const refused = capture();
    expect(await bundleMain(["--out", outDir], outputs, refused.io)).toBe(1);
    expect(refused.stderr).toBe(`bundle: refusing to overwrite ${p12Path} and ${join(outDir, PASSWORD_FILE)}; pass --force to replace the bundle\n`);
    expect(refused.stdout).toBe("");
    expect(readFileSync(p12Path).equals(first)).toBe(true);
    expect(readdirSync(outDir).sort()).toEqual([P12_FILE, PASSWORD_FILE]);

    const forced = capture();
    expect(await bundleMain(["--out", outDir, "--force", "--legacy"], outputs, forced.io)).toBe(0);
    const second = readFileSync(p12Path);
    expect(second.equals(first)).toBe(false);
    expect((await readPkcs12(second, password)).encryption).toMatch(/^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC,/m);
    expect(readdirSync(outDir).sort()).toEqual([P12_FILE, PASSWORD_FILE]);
    expect(mode(p12Path)).toBe(0o600);
    expect(mode(join(outDir, PASSWORD_FILE))).toBe(0o600);
  });

  it("writes 3DES with a SHA-1 MAC with --legacy", async () => {
    const outDir = freshOutDir();
    const out = capture();
    expect(await bundleMain(["--out", outDir, "--legacy"], outputs, out.io)).toBe(0);
    expect(out.stdout).toMatch(/bytes, 3DES, SHA-1 MAC \(legacy\)\)\n/);
    const { encryption } = await readPkcs12(readFileSync(join(outDir, P12_FILE)), password);
    expect(encryption).toMatch(/^MAC: sha1,/m);
    expect(encryption).toMatch(/^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC,/m);
    expect(keytoolList(join(outDir, P12_FILE), join(outDir, PASSWORD_FILE))).toMatch(/Entry type: PrivateKeyEntry\nCertificate chain length: 3\n/);
  });

  it("names the key entry with --friendly-name", async () => {
    const outDir = freshOutDir();
    expect(await bundleMain(["--out", outDir, "--friendly-name", "code42-admin"], outputs, capture().io)).toBe(0);
    expect(keytoolList(join(outDir, P12_FILE), join(outDir, PASSWORD_FILE))).toMatch(/Alias name: code42-admin\n/);
  });

  it("writes into .local/bundle under the working directory by default", async () => {
    const cwd = mkdtempSync(join(work, "cwd-"));
    const saved = process.cwd();
    process.chdir(cwd);
    try {
      expect(await bundleMain([], outputs, capture().io)).toBe(0);
    } finally {
      process.chdir(saved);
    }
    expect(readdirSync(join(cwd, ".local", "bundle")).sort()).toEqual([P12_FILE, PASSWORD_FILE]);
  });

  it("fetches the outputs only once the arguments are good", async () => {
    const fetch = jest.fn(async () => outputs);
    const bad = capture();
    expect(await bundleMain(["--out"], fetch, bad.io)).toBe(2);
    expect(await bundleMain(["--password", "x"], fetch, bad.io)).toBe(2);
    expect(bad.stderr).toMatch(/^bundle: .*--out.*\nusage: bundle/);
    expect(bad.stderr).toMatch(/bundle: Unknown option '--password'/);
    expect(fetch).not.toHaveBeenCalled();

    const help = capture();
    expect(await bundleMain(["--help"], fetch, help.io)).toBe(0);
    expect(help.stdout).toMatch(/^usage: bundle \[--out DIR\] \[--force\] \[--legacy\] \[--show-password\] \[--friendly-name NAME\]/);
    expect(fetch).not.toHaveBeenCalled();

    expect(await bundleMain(["--out", freshOutDir()], fetch, capture().io)).toBe(0);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("passes no secret through any argv, even with --show-password", async () => {
    const spawn = jest.spyOn(childProcess, "spawn");
    const out = capture();
    expect(await bundleMain(["--out", freshOutDir(), "--show-password"], outputs, out.io)).toBe(0);
    expect(spawn).toHaveBeenCalled();
    for (const call of spawn.mock.calls) {
      const [command, args] = call as unknown as [string, string[]];
      expect([command, ...args].some((arg) => arg.includes(password) || arg.includes("PRIVATE KEY"))).toBe(false);
    }
  });
});
