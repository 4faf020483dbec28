import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { IntermediateCa } from "../../lib/ca-chain";
import { MAX_CERTIFICATE_FILE_BYTES } from "../../lib/certificate-file";
import { caSigner, makeCsr, makeExternalRoot, privateTempDir } from "../helpers/external-root";
import { caChainInScope, pkiMountsInScope } from "../helpers/scopes";

// The signed certificate file is checked before anything is synthesized: each
// error names intermediateCa.signedCertificateFile, the file, and what it
// should hold.

let dir: string;
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const build = (signedCertificateFile: string) => () =>
  Testing.synthScope((scope) => {
    const { pkiInt } = pkiMountsInScope(scope);
    new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, signedCertificateFile });
  });
const setting = (path: string) => `intermediateCa.signedCertificateFile: ${JSON.stringify(path)}`.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

let root: ReturnType<typeof makeExternalRoot>;
let other: ReturnType<typeof makeExternalRoot>;
let intermediatePem: string;
let midPem: string;

beforeAll(() => {
  dir = privateTempDir("c42-external-errors-");
  root = makeExternalRoot(dir, "root");
  other = makeExternalRoot(dir, "other", "Some Other Root");
  intermediatePem = root.signIntermediate(makeCsr(dir, "int"));
  midPem = root.signIntermediate(makeCsr(dir, "mid", "Acme Issuing CA"), { name: "mid" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("IntermediateCa's signed certificate file is refused when it", () => {
  test("does not exist", () => {
    const path = join(dir, "missing.pem");
    expect(build(path)).toThrow(
      new RegExp(
        `^${setting(path)} cannot be read \\(ENOENT\\); expected a PEM file with the signed intermediate certificate followed by your root CA's certificate \\(at stack/intermediateCa\\)$`,
      ),
    );
  });

  test("is a directory", () => {
    const path = join(dir, "a-directory");
    mkdirSync(path);
    expect(build(path)).toThrow(new RegExp(`^${setting(path)} is not a regular file; expected a PEM file`));
  });

  test("is larger than 64 KiB", () => {
    const path = file("big.pem", intermediatePem + root.certificatePem + "#".repeat(MAX_CERTIFICATE_FILE_BYTES));
    expect(build(path)).toThrow(new RegExp(`^${setting(path)} is \\d+ bytes; expected a PEM certificate chain of at most 65536 bytes`));
  });

  test("holds a private key, without showing it", () => {
    const key = readFileSync(join(dir, "int.key"), "utf8");
    const path = file("with-key.pem", intermediatePem + key + root.certificatePem);
    expect(build(path)).toThrow(
      new RegExp(`^${setting(path)} holds a PRIVATE KEY block; expected certificates only \\(keep your root CA's key out of this file\\)`),
    );
    expect(build(path)).not.toThrow(/MI[A-Za-z0-9+/]{20}/);
  });

  test("holds only the intermediate, without the root", () => {
    const path = file("alone.pem", intermediatePem);
    expect(build(path)).toThrow(
      new RegExp(`^${setting(path)} holds 1 certificate; expected the signed intermediate certificate followed by your root CA's certificate`),
    );
  });

  test("holds no PEM at all", () => {
    const path = file("empty.pem", "not a certificate\n");
    expect(build(path)).toThrow(new RegExp(`^${setting(path)} holds 0 certificates; expected`));
  });

  test("holds a certificate that does not parse", () => {
    const path = file("garbage.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" + root.certificatePem);
    expect(build(path)).toThrow(new RegExp(`^${setting(path)} has a certificate #1 that does not parse \\(.*\\); expected PEM X\\.509 certificates`));
  });

  test("holds a certificate that is not a CA (signed without CA:TRUE)", () => {
    const leaf = root.signIntermediate(makeCsr(dir, "leaf", "crashplan-admin"), { ca: false });
    const path = file("leaf.pem", leaf + root.certificatePem);
    expect(build(path)).toThrow(
      new RegExp(`^${setting(path)} has certificate #1 \\(CN=crashplan-admin\\) without basic constraints CA:TRUE; expected CA certificates only`),
    );
  });

  test("is followed by a root that did not sign it", () => {
    const path = file("wrong-root.pem", intermediatePem + other.certificatePem);
    expect(build(path)).toThrow(
      new RegExp(
        `^${setting(path)} has certificate #1 \\(CN=example\\.com Intermediate Authority\\) not signed by certificate #2; expected each certificate to be signed by the next, ending with the root`,
      ),
    );
  });

  test("ends below the root", () => {
    const belowMid = caSigner(dir, "mid.pem", "mid.key").signIntermediate(makeCsr(dir, "below"));
    const path = file("no-root.pem", belowMid + midPem);
    expect(build(path)).toThrow(
      new RegExp(`^${setting(path)} ends with CN=Acme Issuing CA, which is not self-signed; expected the chain to end with your root CA's certificate`),
    );
  });

  test("is given together with a root inside Vault", () => {
    const path = file("ok.pem", intermediatePem + root.certificatePem);
    const both = () =>
      Testing.synthScope((scope) => {
        caChainInScope(scope, { intermediate: { signedCertificateFile: path } });
      });
    expect(both).toThrow(
      new RegExp(
        `^${setting(path)} is set, but stack/rootCa signs this intermediate inside Vault; expected no file, or rootCa\\.external set to true so that your own root signs it`,
      ),
    );
  });
});

test("a chain through an issuing CA up to the root is accepted", () => {
  const belowMid = caSigner(dir, "mid.pem", "mid.key").signIntermediate(makeCsr(dir, "below2"));
  expect(build(file("three.pem", belowMid + midPem + root.certificatePem))).not.toThrow();
});
