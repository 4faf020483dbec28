// A root CA made with OpenSSL, standing for a user's own root outside Vault,
// and what it signs: intermediate CSRs (as `openssl x509 -req` with CA
// extensions) and, for the error tests, certificates that are not CAs.
// Not a test file: jest's testMatch is `**/*.test.ts`.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A private directory (0700) for keys and certificates; remove it after use. */
export function privateTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o700);
  return dir;
}

/** Runs openssl in `dir`; its stdout is returned, its stderr only shown on failure. Keys stay in files. */
function openssl(dir: string, args: string[], input?: string): string {
  return execFileSync("openssl", args, { cwd: dir, input, stdio: ["pipe", "pipe", "pipe"] }).toString();
}

export interface ExternalRootCa {
  /** The directory holding its key. */
  readonly dir: string;
  /** File names of its certificate and key in `dir`. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly certificatePem: string;
  /** Signs a CSR as an intermediate CA (CA:TRUE, pathlen:0, keyCertSign + cRLSign, key identifiers); returns the PEM. */
  signIntermediate(csrPem: string, options?: { days?: number; name?: string; ca?: boolean }): string;
}

/** A self-signed root CA (EC P-256, CA:TRUE, keyCertSign + cRLSign) in `dir`, named `name`. */
export function makeExternalRoot(dir: string, name = "root", commonName = "Acme Corp Root CA", days = 3650): ExternalRootCa {
  const certFile = `${name}.pem`;
  const keyFile = `${name}.key`;
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  chmodSync(join(dir, keyFile), 0o600);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-out",
    certFile,
    "-subj",
    `/CN=${commonName}`,
    "-days",
    String(days),
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
  ]);
  return { dir, certFile, keyFile, certificatePem: readFileSync(join(dir, certFile), "utf8"), ...caSigner(dir, certFile, keyFile) };
}

let serial = 1000;

/** Signing with the CA whose certificate and key are the files `certFile` and `keyFile` in `dir`. */
export function caSigner(dir: string, certFile: string, keyFile: string): Pick<ExternalRootCa, "signIntermediate"> {
  return {
    signIntermediate(csrPem, options = {}) {
      const base = options.name ?? `signed-${++serial}`;
      writeFileSync(join(dir, `${base}.csr`), csrPem);
      const ca = options.ca ?? true;
      writeFileSync(
        join(dir, `${base}.ext`),
        ca
          ? "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n"
          : "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
      );
      openssl(dir, [
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        certFile,
        "-CAkey",
        keyFile,
        "-set_serial",
        String(++serial),
        "-days",
        String(options.days ?? 1825),
        "-sha256",
        "-extfile",
        `${base}.ext`,
        "-out",
        `${base}.pem`,
      ]);
      return readFileSync(join(dir, `${base}.pem`), "utf8");
    },
  };
}

/** A CSR with a fresh EC key (kept in `dir`), as Vault's `intermediate/generate/internal` would give. */
export function makeCsr(dir: string, name: string, commonName = "example.com Intermediate Authority"): string {
  openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${commonName}`,
  ]);
  return readFileSync(join(dir, `${name}.csr`), "utf8");
}
