// A throwaway PKI for the bundle and PKCS#12 tests, and the `tofu output -json`
// a deployment of the stack prints for it. Not a test file: jest's testMatch is
// `**/*.test.ts`.

import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { TofuOutputs } from "../../ops/bundle/bundle";

export interface TestPki {
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly leafPem: string;
  /** PKCS#1, as Vault returns it. */
  readonly leafKeyPem: string;
}

/** Root CA → intermediate CA → clientAuth leaf, RSA 2048, made with openssl in `dir`. */
export function makeTestPki(dir: string): TestPki {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  writeFileSync(join(dir, "ca.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
  writeFileSync(join(dir, "leaf.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-subj",
    "/CN=Test Root CA",
    "-days",
    "30",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=Test Intermediate CA");
  openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "30", "-extfile", "ca.ext", "-out", "int.pem");
  openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=crashplan-admin");
  openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "int.pem",
    "-CAkey",
    "int.key",
    "-CAcreateserial",
    "-days",
    "30",
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.pem",
  );
  return {
    rootPem: read("root.pem"),
    intermediatePem: read("int.pem"),
    leafPem: read("leaf.pem"),
    leafKeyPem: createPrivateKey(read("leaf.key")).export({ type: "pkcs1", format: "pem" }).toString(),
  };
}

export function randomPassword(length = 32): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

/** What `tofu output -json` prints for the deployed stack. */
export function tofuOutputs(pki: TestPki, password: string): TofuOutputs {
  const leaf = new X509Certificate(pki.leafPem);
  const outputs: Record<string, { sensitive: boolean; type: string; value: unknown }> = {
    [BUNDLE_OUTPUTS.caChain]: { sensitive: false, type: "string", value: pki.intermediatePem + pki.rootPem },
    [BUNDLE_OUTPUTS.certificate]: { sensitive: false, type: "string", value: pki.leafPem },
    [BUNDLE_OUTPUTS.expiration]: { sensitive: false, type: "number", value: Math.floor(Date.parse(leaf.validTo) / 1000) },
    [BUNDLE_OUTPUTS.privateKey]: { sensitive: true, type: "string", value: pki.leafKeyPem },
    [BUNDLE_OUTPUTS.serialNumber]: { sensitive: false, type: "string", value: vaultSerial(leaf.serialNumber) },
    [BUNDLE_OUTPUTS.password]: { sensitive: true, type: "string", value: password },
  };
  return outputs;
}

/** A serial number as Vault writes it: lower-case hex pairs joined by colons. */
function vaultSerial(hex: string): string {
  return (hex.length % 2 ? `0${hex}` : hex).toLowerCase().match(/../g)!.join(":");
}

/** A private key as PKCS#8 DER, to compare keys whatever their PEM form. */
export const keyDer = (pem: string) => createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
/** A certificate as DER, to compare certificates whatever their PEM form. */
export const certDer = (pem: string) => new X509Certificate(pem).raw;

export interface TestPkiFixture {
  /** A private directory under the system's tmp, removed after the file's tests. */
  readonly work: string;
  readonly pki: TestPki;
  readonly password: string;
  /** tofuOutputs(pki, password). */
  readonly outputs: TofuOutputs;
}

/**
 * Before all tests of the calling file: makes a work directory named from
 * `prefix`, a test PKI in it and a random password, and hands them to `use`.
 * After all tests: removes the work directory. A file that needs more set up
 * adds its own beforeAll after this call; it runs after this one.
 */
export function testPkiForAllTests(prefix: string, use: (fixture: TestPkiFixture) => void): void {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), prefix));
    const pki = makeTestPki(work);
    const password = randomPassword();
    use({ work, pki, password, outputs: tofuOutputs(pki, password) });
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });
}

/** A self-signed P-256 certificate made by OpenSSL in `dir` (cert.pem, key.pem). */
export interface SelfSignedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
}

/**
 * Makes a self-signed EC certificate with OpenSSL, as a server certificate a
 * test can serve or inspect: `cn` as subject, valid for `days`, and any
 * further `openssl req` arguments (serial, extensions).
 */
export function selfSignedCertificate(dir: string, options: { cn: string; days: number; extraArgs?: string[] }): SelfSignedCertificate {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-subj",
      `/CN=${options.cn}`,
      "-days",
      String(options.days),
      ...(options.extraArgs ?? []),
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  const certPem = readFileSync(join(dir, "cert.pem"), "utf8");
  return { certPem, keyPem: readFileSync(join(dir, "key.pem"), "utf8"), certificate: new X509Certificate(certPem) };
}
