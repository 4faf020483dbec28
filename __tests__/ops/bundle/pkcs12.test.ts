import { execFileSync } from "node:child_process";
// jest.spyOn must reach the module objects the code under test calls, not import copies.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import childProcess = require("node:child_process");
// eslint-disable-next-line @typescript-eslint/no-require-imports
import fsPromises = require("node:fs/promises");
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { BundleError } from "../../../ops/bundle/bundle-error";
import { buildPkcs12, readPkcs12 } from "../../../ops/bundle/pkcs12";
import { restoreEnvAfterEach } from "../../helpers/env";
import { TestPki, certDer, keyDer, randomPassword, testPkiForAllTests } from "../../helpers/test-pki";

// The password must never show up in test output: assertions on it are
// written as `expect(x.includes(password)).toBe(false)`, never as a message.

jest.setTimeout(60_000);

let work: string;
let pki: TestPki;
let password: string;

testPkiForAllTests("pkcs12-test-", (fixture) => ({ work, pki, password } = fixture));

function input(legacy?: boolean) {
  return {
    certificatePem: pki.leafPem,
    privateKeyPem: pki.leafKeyPem,
    caChainPem: [pki.intermediatePem, pki.rootPem],
    password,
    friendlyName: "crashplan",
    legacy,
  };
}

/** A 0600 file in a private directory, for tools that take a password file. */
function privatePasswordFile(): string {
  const dir = mkdtempSync(join(work, "pw-"));
  const file = join(dir, "password");
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

function keytoolList(p12: Buffer): string {
  const dir = mkdtempSync(join(work, "keytool-"));
  const file = join(dir, "crashplan.p12");
  writeFileSync(file, p12, { mode: 0o600 });
  return execFileSync("keytool", ["-list", "-v", "-storetype", "PKCS12", "-keystore", file, "-storepass:file", privatePasswordFile()], { encoding: "utf8" });
}

describe.each([
  { name: "default", legacy: undefined },
  { name: "legacy", legacy: true },
])("buildPkcs12 ($name encryption)", ({ legacy }) => {
  let p12: Buffer;

  beforeAll(async () => {
    p12 = await buildPkcs12(input(legacy));
  });

  it("round-trips: the same key, certificate and chain come back with the password", async () => {
    const contents = await readPkcs12(p12, password);
    expect(keyDer(contents.privateKeyPem).equals(keyDer(pki.leafKeyPem))).toBe(true);
    expect(certDer(contents.certificatePem).equals(certDer(pki.leafPem))).toBe(true);
    expect(contents.caChainPem.map((pem) => new X509Certificate(pem).subject)).toEqual(["CN=Test Intermediate CA", "CN=Test Root CA"]);
    expect(contents.caChainPem.map(certDer)).toEqual([certDer(pki.intermediatePem), certDer(pki.rootPem)]);
  });

  it("rejects a wrong password", async () => {
    const wrong = randomPassword();
    const error = await readPkcs12(p12, wrong).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe("wrong-password");
    expect((error as Error).message).toMatch(/password is wrong/);
    expect((error as Error).message.includes(password)).toBe(false);
    expect((error as Error).message.includes(wrong)).toBe(false);
  });

  it("is a keystore keytool reads: one PrivateKeyEntry with a chain of 3", () => {
    const listing = keytoolList(p12);
    expect(listing).toMatch(/Your keystore contains 1 entry/);
    expect(listing.match(/Entry type: PrivateKeyEntry/g)).toHaveLength(1);
    expect(listing).toMatch(/Alias name: crashplan\n/);
    expect(listing).toMatch(/Certificate chain length: 3\n/);
    expect(listing.includes(password)).toBe(false);
  });

  it("is accepted by Node's TLS with nothing but pfx and passphrase", () => {
    expect(() => createSecureContext({ pfx: p12, passphrase: password })).not.toThrow();
    expect(() => createSecureContext({ pfx: p12, passphrase: randomPassword() })).toThrow(/mac verify/i);
  });
});

describe("encryption", () => {
  it("defaults to AES-256-CBC with PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC", async () => {
    const { encryption } = await readPkcs12(await buildPkcs12(input()), password);
    expect(encryption).toMatch(/^MAC: sha256,/m);
    expect(encryption).toMatch(/^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, .*PRF hmacWithSHA256$/m);
    expect(encryption).toMatch(/^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, .*PRF hmacWithSHA256$/m);
    expect(encryption).not.toMatch(/3DES|TripleDES|RC2|sha1/i);
  });

  it("is 3DES with a SHA-1 MAC when legacy", async () => {
    const { encryption } = await readPkcs12(await buildPkcs12(input(true)), password);
    expect(encryption).toMatch(/^MAC: sha1,/m);
    expect(encryption).toMatch(/^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC,/m);
    expect(encryption).toMatch(/^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC,/m);
    expect(encryption).not.toMatch(/AES|RC2/);
  });

  it("writes the friendly name on the key and its certificate", async () => {
    const p12 = await buildPkcs12({ ...input(), friendlyName: "code42 admin" });
    const p12File = join(mkdtempSync(join(work, "name-")), "crashplan.p12");
    writeFileSync(p12File, p12, { mode: 0o600 });
    const text = execFileSync("openssl", ["pkcs12", "-in", p12File, "-nokeys", "-passin", `file:${privatePasswordFile()}`], { encoding: "utf8" });
    // -nokeys prints the certificates only: the leaf carries the name, the CA certificates none.
    expect(text.match(/friendlyName: code42 admin/g)).toHaveLength(1);
    expect(keytoolList(p12)).toMatch(/Alias name: code42 admin\n/);
  });
});

describe("secrets", () => {
  afterEach(() => jest.restoreAllMocks());

  it("never puts the password or the private key on a command line or in a file", async () => {
    const spawn = jest.spyOn(childProcess, "spawn");
    const writeFile = jest.spyOn(fsPromises, "writeFile");
    const p12 = await buildPkcs12(input());
    await readPkcs12(p12, password);
    await readPkcs12(await buildPkcs12(input(true)), password);
    await expect(readPkcs12(p12, randomPassword())).rejects.toThrow(BundleError);

    expect(spawn.mock.calls.length).toBeGreaterThanOrEqual(8);
    for (const call of spawn.mock.calls) {
      const [command, args, options] = call as unknown as [string, string[], childProcess.SpawnOptions];
      const argv = [command, ...args];
      expect(argv.some((arg) => arg.includes(password))).toBe(false);
      expect(argv.some((arg) => arg.includes("PRIVATE KEY"))).toBe(false);
      expect(options.env === undefined || !Object.values(options.env).some((value) => value?.includes(password))).toBe(true);
    }
    const passwordArgs = spawn.mock.calls.flatMap((call) =>
      (call as unknown as [string, string[]])[1].filter((_arg, i, all) => /^-pass(in|out)$/.test(all[i - 1] ?? "")),
    );
    expect(new Set(passwordArgs)).toEqual(new Set(["fd:3"]));

    expect(writeFile.mock.calls.length).toBeGreaterThanOrEqual(2);
    for (const call of writeFile.mock.calls) {
      const data = String(call[1]);
      expect(data.includes(password)).toBe(false);
      expect(data.includes("PRIVATE KEY")).toBe(false);
    }
  });

  it("refuses a password that openssl would cut at a line break", async () => {
    await expect(buildPkcs12({ ...input(), password: "first line\nsecond" })).rejects.toThrow(/non-empty single line/);
    await expect(buildPkcs12({ ...input(), password: "" })).rejects.toThrow(/non-empty single line/);
  });
});

describe("openssl on PATH", () => {
  restoreEnvAfterEach("PATH");

  function fakeOpenssl(versionLine: string): string {
    const dir = mkdtempSync(join(work, "fake-openssl-"));
    writeFileSync(join(dir, "openssl"), `#!/bin/sh\necho "${versionLine}"\n`);
    chmodSync(join(dir, "openssl"), 0o700);
    return dir;
  }

  it("says so when openssl is missing", async () => {
    process.env.PATH = mkdtempSync(join(work, "empty-path-"));
    const error = await buildPkcs12(input()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe("openssl-missing");
    expect((error as Error).message).toMatch(/`openssl` was not found on PATH; building crashplan.p12 needs OpenSSL 3/);
  });

  it("refuses LibreSSL and says what to install", async () => {
    process.env.PATH = fakeOpenssl("LibreSSL 3.3.6");
    await expect(readPkcs12(Buffer.from("not read"), password)).rejects.toThrow(
      /the openssl on PATH is "LibreSSL 3.3.6"; building crashplan.p12 needs OpenSSL 3 .*LibreSSL \(the macOS default\) is not supported.*brew install openssl@3/,
    );
  });

  it("refuses OpenSSL 1.1", async () => {
    process.env.PATH = fakeOpenssl("OpenSSL 1.1.1w  11 Sep 2023");
    await expect(buildPkcs12(input())).rejects.toThrow(/"OpenSSL 1.1.1w {2}11 Sep 2023"; building crashplan.p12 needs OpenSSL 3/);
  });
});
