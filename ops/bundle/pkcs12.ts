/*
 * PKCS#12 through the system `openssl` binary.
 *
 * Why openssl: Node's crypto cannot write PKCS#12, OpenSSL 3 writes exactly the
 * encryption we want (PBES2/AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC),
 * and it is already on every machine that runs this; no new dependency.
 *
 * Secrets never reach argv, the environment or a file:
 *   - the password goes through an extra pipe, the child's fd 3
 *     (`-passout fd:3` / `-passin fd:3`);
 *   - the private key goes through stdin.
 * Only the CA chain, which is public, goes through a file: OpenSSL 3 reads
 * large PEM input from a pipe very slowly (a 5 MB chain takes ~15 s on stdin and
 * under half a second from a file), so the chain gets a 0600 file in a
 * private mkdtemp directory that is removed afterwards.
 *
 * Portability: this needs OpenSSL 3 (checked with `openssl version` before
 * each use). LibreSSL, the `openssl` on macOS, is refused: its pkcs12 command
 * descends from OpenSSL 1.0 and differs in defaults and output, so we could not
 * promise what the file contains. Native Windows builds of OpenSSL cannot read
 * a password from `fd:`; use WSL there.
 */
import * as childProcess from "node:child_process";
import { KeyObject, X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { BundleError } from "./bundle-error";

/** What goes into a PKCS#12 file. */
export interface Pkcs12Input {
  /** The end-entity certificate (PEM). */
  readonly certificatePem: string;
  /** Its private key (PEM, PKCS#1 or PKCS#8, unencrypted). */
  readonly privateKeyPem: string;
  /** The CA certificates above it, issuer first (PEM, one per element). */
  readonly caChainPem: readonly string[];
  /** Encrypts the file and keys its MAC. */
  readonly password: string;
  /** Alias of the key entry (`friendlyName`), what `keytool -list` shows. */
  readonly friendlyName: string;
  /**
   * 3DES with a SHA-1 MAC, for old Java readers.
   * @default false - AES-256-CBC with PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC
   */
  readonly legacy?: boolean;
}

/** The contents of a PKCS#12 file. */
export interface Pkcs12Contents {
  /** The private key, PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** The certificate whose public key matches the private key. */
  readonly certificatePem: string;
  /** The other certificates, in file order. */
  readonly caChainPem: string[];
  /**
   * The algorithm lines of `openssl pkcs12 -info`, e.g.
   * `MAC: sha256, Iteration 2048` and
   * `Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256`.
   */
  readonly encryption: string;
}

const OPENSSL = "openssl";

// Spelled out even though they are OpenSSL 3's defaults, so that an openssl
// configured otherwise fails loudly instead of writing something weaker.
const MODERN_ENCRYPTION = ["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256"];
// Both work with OpenSSL 3's default provider; only RC2 would need `-legacy`.
const LEGACY_ENCRYPTION = ["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"];

/** Builds a PKCS#12 file (DER) holding the key, its certificate and the CA chain. */
export async function buildPkcs12(input: Pkcs12Input): Promise<Buffer> {
  checkPassword(input.password);
  // Control characters are exactly what this looks for.
  // eslint-disable-next-line no-control-regex
  if (input.friendlyName === "" || /[\x00-\x1f\x7f]/.test(input.friendlyName)) {
    throw new BundleError(
      "invalid-input",
      `friendly name ${JSON.stringify(input.friendlyName)} is not usable; expected a non-empty name without control characters`,
    );
  }
  await requireOpenssl3();

  const args = ["pkcs12", "-export", "-passout", "fd:3", "-name", input.friendlyName, ...(input.legacy ? LEGACY_ENCRYPTION : MODERN_ENCRYPTION)];
  const workDir = input.caChainPem.length > 0 ? await mkdtemp(join(tmpdir(), "c42-pkcs12-")) : undefined;
  try {
    if (workDir !== undefined) {
      const chainFile = join(workDir, "ca-chain.pem");
      await writeFile(chainFile, joinPem(input.caChainPem), { mode: 0o600, flag: "wx" });
      args.push("-certfile", chainFile);
    }
    // OpenSSL 3 reads both the key and the certificate from stdin when -in and -inkey are absent.
    const result = await runOpenssl(args, { stdin: joinPem([input.privateKeyPem, input.certificatePem]), password: input.password });
    if (result.status !== 0 || result.stdout.length === 0) {
      throw new BundleError("openssl-failed", `openssl pkcs12 -export failed (${describeExit(result)}): ${summarize(result.stderr)}`);
    }
    return result.stdout;
  } finally {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/** Opens a PKCS#12 file with its password; a wrong password rejects with code `wrong-password`. */
export async function readPkcs12(p12: Buffer, password: string): Promise<Pkcs12Contents> {
  checkPassword(password);
  await requireOpenssl3();
  // The file comes in on stdin: a DER file of any size is read quickly from a pipe.
  const result = await runOpenssl(["pkcs12", "-info", "-nodes", "-passin", "fd:3"], { stdin: p12, password });
  if (result.status !== 0) {
    if (/mac verify error|invalid password/i.test(result.stderr)) {
      throw new BundleError("wrong-password", "the PKCS#12 password is wrong: the file's MAC does not verify with it");
    }
    throw new BundleError("openssl-failed", `openssl could not read the PKCS#12 file (${describeExit(result)}): ${summarize(result.stderr)}`);
  }

  const blocks = pemBlocks(result.stdout.toString("utf8"));
  const keys = blocks.filter((b) => b.label.endsWith("PRIVATE KEY"));
  if (keys.length !== 1) {
    throw new BundleError("openssl-failed", `the PKCS#12 file holds ${keys.length} private keys; expected exactly one`);
  }
  const privateKeyPem = keys[0].pem;
  const publicKey = spki(createPublicKey(createPrivateKey(privateKeyPem)));
  const certificates = blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.pem);
  const leafIndex = certificates.findIndex((pem) => spki(new X509Certificate(pem).publicKey).equals(publicKey));
  if (leafIndex < 0) {
    throw new BundleError("openssl-failed", "the PKCS#12 file holds no certificate for its private key");
  }
  const encryption = result.stderr
    .split(/\r?\n/)
    .filter((line) => /^(MAC:|PKCS7 Encrypted data:|Shrouded Keybag:)/.test(line))
    .join("\n");
  return {
    privateKeyPem,
    certificatePem: certificates[leafIndex],
    caChainPem: certificates.filter((_, i) => i !== leafIndex),
    encryption,
  };
}

/**
 * Resolves to the `openssl version` text when the `openssl` on PATH is
 * OpenSSL 3 or later, and rejects with what to install otherwise.
 */
export async function requireOpenssl3(): Promise<string> {
  const result = await runOpenssl(["version"], {});
  const version = result.stdout.toString("utf8").trim();
  const match = /^OpenSSL (\d+)\./.exec(version);
  if (result.status === 0 && match && Number(match[1]) >= 3) return version;
  const found = version === "" ? `\`openssl version\` failed (${describeExit(result)})` : `the openssl on PATH is "${version.split("\n")[0]}"`;
  const hint = /^LibreSSL/.test(version)
    ? " LibreSSL (the macOS default) is not supported: its pkcs12 command differs in defaults and output, so the encryption of the file could not be guaranteed. Install OpenSSL 3 (e.g. `brew install openssl@3`) and put its bin directory first on PATH."
    : " Install OpenSSL 3 or later and put it first on PATH.";
  throw new BundleError(
    "openssl-unsupported",
    `${found}; building crashplan.p12 needs OpenSSL 3 (for \`-passout fd:\`, AES-256-CBC/PBKDF2 PKCS#12 and \`-macalg sha256\`).${hint}`,
  );
}

interface OpensslResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
}

function runOpenssl(args: readonly string[], input: { stdin?: string | Buffer; password?: string }): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    // `env` is explicit so that `openssl` is looked up on this `process.env.PATH`
    // even where that object is not Node's own (jest gives each test file a copy).
    const child = childProcess.spawn(OPENSSL, args, { stdio: ["pipe", "pipe", "pipe", "pipe"], env: process.env, windowsHide: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "ENOENT"
          ? new BundleError(
              "openssl-missing",
              "`openssl` was not found on PATH; building crashplan.p12 needs OpenSSL 3. Install it (e.g. `apt-get install openssl`, `brew install openssl@3`) and put it on PATH.",
            )
          : err,
      );
    });
    child.on("close", (status, signal) => {
      resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8"), status, signal });
    });

    // openssl may exit before reading its input (bad option, wrong file); its
    // stderr and exit status tell why, so a broken pipe here is not the story.
    const passwordPipe = child.stdio[3] as Writable | null;
    passwordPipe?.on("error", () => undefined);
    child.stdin?.on("error", () => undefined);
    passwordPipe?.end(input.password === undefined ? "" : `${input.password}\n`);
    child.stdin?.end(input.stdin ?? "");
  });
}

function checkPassword(password: string): void {
  // openssl reads one line from fd 3, so a line break would cut the password short.
  if (typeof password !== "string" || password === "" || /[\r\n\0]/.test(password)) {
    throw new BundleError("invalid-input", "the PKCS#12 password must be a non-empty single line");
  }
}

interface PemBlock {
  readonly label: string;
  readonly pem: string;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g)) {
    blocks.push({ label: match[1], pem: `${match[0]}\n` });
  }
  return blocks;
}

function joinPem(pems: readonly string[]): string {
  return pems.map((pem) => `${pem.trim()}\n`).join("");
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

function describeExit(result: OpensslResult): string {
  return result.signal ? `killed by ${result.signal}` : `exit status ${result.status}`;
}

function summarize(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return lines.slice(0, 3).join("; ") || "no message";
}
