import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { KeystoreValidationError } from "./errors";

/** A chain file holds a few certificates of a few KB each; anything larger is not one. */
export const MAX_CERTIFICATE_FILE_BYTES = 64 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** A CA certificate signed outside Vault, with the chain up to the root that signed it. */
export interface SignedCaChain {
  /** The certificates as PEM, the signed CA first and the root last, one per line block. */
  readonly pem: string;
  /** The signed CA certificate (the first in the file). */
  readonly certificate: X509Certificate;
  /** The root certificate (the last in the file). */
  readonly root: X509Certificate;
  /** The signed CA's validity from notBefore to notAfter, in seconds. */
  readonly validitySeconds: number;
}

/**
 * Reads and checks a PEM file holding a CA certificate signed outside Vault,
 * followed by the certificates up to and including the self-signed root:
 * the file exists, is a regular file of at most 64 KiB, holds certificates
 * only (a private key is refused without being echoed), each is a CA
 * (basic constraints CA:TRUE), each is signed by the next, the last signs
 * itself, and the first has not expired. Whether the first certificate's key
 * is the one Vault holds for the CSR can only be seen in Vault; the
 * IntermediateCa checks it right after the certificate is set. Relative paths
 * are resolved against the working directory.
 */
export function readSignedCaChainFile(setting: string, file: string, constructPath?: string): SignedCaChain {
  const fail = (expected: string): never => {
    throw new KeystoreValidationError(setting, file, expected, constructPath);
  };
  const path = resolve(file);
  let size = 0;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) fail("is not a regular file; expected a PEM file with the signed intermediate certificate followed by your root CA's certificate");
    size = stat.size;
  } catch (e) {
    if (e instanceof KeystoreValidationError) throw e;
    fail(
      `cannot be read (${(e as NodeJS.ErrnoException).code}); expected a PEM file with the signed intermediate certificate followed by your root CA's certificate`,
    );
  }
  if (size > MAX_CERTIFICATE_FILE_BYTES) fail(`is ${size} bytes; expected a PEM certificate chain of at most ${MAX_CERTIFICATE_FILE_BYTES} bytes`);

  const text = readFileSync(path, "utf8");
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const others = blocks.filter((b) => b[1] !== "CERTIFICATE").map((b) => b[1]);
  if (others.length > 0) {
    // Name the block type only: the content may be a private key.
    fail(`holds a ${others[0]} block; expected certificates only (keep your root CA's key out of this file)`);
  }
  if (blocks.length < 2) {
    fail(
      `holds ${blocks.length} certificate${blocks.length === 1 ? "" : "s"}; expected the signed intermediate certificate followed by your root CA's certificate`,
    );
  }
  const certificates = blocks.map((b, i) => {
    try {
      return new X509Certificate(b[0]);
    } catch (e) {
      return fail(`has a certificate #${i + 1} that does not parse (${(e as Error).message}); expected PEM X.509 certificates`);
    }
  });
  certificates.forEach((c, i) => {
    if (!c.ca)
      fail(
        `has certificate #${i + 1} (${c.subject.replace(/\n/g, ", ")}) without basic constraints CA:TRUE; expected CA certificates only (sign the CSR with a CA extension, e.g. openssl's v3_intermediate_ca)`,
      );
  });
  for (let i = 0; i + 1 < certificates.length; i++) {
    const [child, parent] = [certificates[i], certificates[i + 1]];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      fail(
        `has certificate #${i + 1} (${child.subject.replace(/\n/g, ", ")}) not signed by certificate #${i + 2}; expected each certificate to be signed by the next, ending with the root`,
      );
    }
  }
  const root = certificates[certificates.length - 1];
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    fail(`ends with ${root.subject.replace(/\n/g, ", ")}, which is not self-signed; expected the chain to end with your root CA's certificate`);
  }
  const first = certificates[0];
  const notAfter = Date.parse(first.validTo);
  if (notAfter <= Date.now()) fail(`has an intermediate certificate that expired on ${first.validTo}; expected a currently valid certificate`);
  return {
    pem: certificates.map((c) => c.toString().trim()).join("\n") + "\n",
    certificate: first,
    root,
    validitySeconds: Math.floor((notAfter - Date.parse(first.validFrom)) / 1000),
  };
}
