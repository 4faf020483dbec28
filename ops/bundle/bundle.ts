import { X509Certificate, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { lstat, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BUNDLE_OUTPUTS } from "../../lib/bundle-output-names";
import { errorMessage } from "../common/errors";
import { assertOwnTarget, ensureDir, fileSystemError, isFileSystemError } from "../common/private-files";
import { colonHex } from "../common/serial";
import { BundleError } from "./bundle-error";
import { buildPkcs12 } from "./pkcs12";

export { BundleError, BundleErrorCode } from "./bundle-error";

/** Code42's console refuses keystore uploads larger than this. */
export const CODE42_UPLOAD_LIMIT_BYTES = 5 * 1024 * 1024;
/** Name of the PKCS#12 file in the output directory. */
export const P12_FILE = "crashplan.p12";
/** Name of the password file next to it. */
export const PASSWORD_FILE = "crashplan.p12.password";

/** The shape of `tofu output -json`. */
export type TofuOutputs = Record<string, { readonly value: unknown; readonly sensitive?: boolean }>;

/** Options of {@link writeBundle}. */
export interface WriteBundleOptions {
  /** The deployed stack's outputs, as `tofu output -json` prints them. */
  readonly outputs: TofuOutputs;
  /** Directory to write into; created 0700 if missing, used as it is (never chmodded) if not. */
  readonly outDir: string;
  /**
   * Replace existing files.
   * @default false
   */
  readonly force?: boolean;
  /**
   * 3DES with a SHA-1 MAC, for old Java readers.
   * @default false - AES-256-CBC with PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC
   */
  readonly legacy?: boolean;
  /**
   * Alias of the key entry.
   * @default "crashplan"
   */
  readonly friendlyName?: string;
  /**
   * The time the certificate must be valid at.
   * @default - the current time
   */
  readonly now?: Date;
}

/** What {@link writeBundle} wrote. */
export interface WrittenBundle {
  /** Absolute path of `crashplan.p12`. */
  readonly p12Path: string;
  /** Absolute path of the password file. */
  readonly passwordPath: string;
  /** Size of `crashplan.p12`. */
  readonly bytes: number;
  /** Serial number of the certificate, as Vault writes it (`1a:2b:…`). */
  readonly serial: string;
  /** Expiry of the certificate. */
  readonly notAfter: Date;
}

interface BundleInputs {
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly caChainPem: string[];
  readonly password: string;
}

/**
 * Writes `crashplan.p12` (key, certificate, full chain) and
 * `crashplan.p12.password` into `outDir`, both 0600. Every check runs before
 * the first byte is written, so a failure leaves no file behind.
 */
export async function writeBundle(options: WriteBundleOptions): Promise<WrittenBundle> {
  const inputs = readBundleInputs(options.outputs);
  checkKeyMatches(inputs);
  const notAfter = checkValidity(inputs.certificate, options.now ?? new Date());

  const outDir = resolve(options.outDir);
  const p12Path = join(outDir, P12_FILE);
  const passwordPath = join(outDir, PASSWORD_FILE);
  if (!options.force) {
    const existing = (await Promise.all([p12Path, passwordPath].map(async (path) => ((await exists(path)) ? path : undefined)))).filter(
      (path) => path !== undefined,
    );
    if (existing.length > 0) {
      throw new BundleError("exists", `refusing to overwrite ${existing.join(" and ")}; pass --force to replace the bundle`);
    }
  }

  const p12 = await buildPkcs12({
    certificatePem: inputs.certificatePem,
    privateKeyPem: inputs.privateKeyPem,
    caChainPem: inputs.caChainPem,
    password: inputs.password,
    friendlyName: options.friendlyName ?? "crashplan",
    legacy: options.legacy,
  });
  if (p12.length > CODE42_UPLOAD_LIMIT_BYTES) {
    throw new BundleError(
      "too-large",
      `${P12_FILE} would be ${p12.length} bytes, over Code42's upload limit of 5 MB (${CODE42_UPLOAD_LIMIT_BYTES} bytes); ` +
        `output ${BUNDLE_OUTPUTS.caChain} holds ${inputs.caChainPem.length} certificates, expected the intermediate and the root`,
    );
  }

  try {
    ensureDir(outDir, "bundle --out");
  } catch (err) {
    throw new BundleError("file-system", `${errorMessage(err)}; choose another directory with --out DIR. No bundle was written.`);
  }
  // The two names are renamed over: only regular files of this user (or new names) may be there.
  for (const path of [p12Path, passwordPath]) {
    try {
      assertOwnTarget(path, "bundle --out");
    } catch (err) {
      throw new BundleError("file-system", `${errorMessage(err)}. No bundle was written.`);
    }
  }
  // Temporary names in the same directory, so the renames are atomic and a
  // reader never sees a half-written file; "wx" + 0600 means a temporary file
  // is never world-readable, not even for a moment.
  const tag = randomBytes(6).toString("hex");
  const p12Temp = join(outDir, `.${P12_FILE}.${tag}.tmp`);
  const passwordTemp = join(outDir, `.${PASSWORD_FILE}.${tag}.tmp`);
  try {
    await writeFile(p12Temp, p12, { mode: 0o600, flag: "wx" });
    await writeFile(passwordTemp, `${inputs.password}\n`, { mode: 0o600, flag: "wx" });
    await rename(passwordTemp, passwordPath);
    await rename(p12Temp, p12Path);
  } catch (err) {
    await Promise.all([rm(p12Temp, { force: true }), rm(passwordTemp, { force: true })]);
    throw asBundleError(err, p12Path);
  }
  return { p12Path, passwordPath, bytes: p12.length, serial: colonHex(inputs.certificate.serialNumber), notAfter };
}

function readBundleInputs(outputs: TofuOutputs): BundleInputs {
  const required = [BUNDLE_OUTPUTS.certificate, BUNDLE_OUTPUTS.privateKey, BUNDLE_OUTPUTS.caChain, BUNDLE_OUTPUTS.password];
  const valueOf = (name: string): unknown => (outputs !== null && typeof outputs === "object" ? outputs[name]?.value : undefined);
  const missing = required.filter((name) => {
    const value = valueOf(name);
    return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
  });
  if (missing.length > 0) {
    const what =
      missing.length === required.length
        ? `has none of the outputs the bundle is built from (${missing.join(", ")})`
        : `is incomplete: ${missing.length > 1 ? `outputs ${missing.join(", ")} are` : `output ${missing[0]} is`} missing or empty`;
    throw new BundleError("missing-output", `the deployment ${what}; run \`npm run deploy\` first`);
  }

  const certificatePem = stringOutput(BUNDLE_OUTPUTS.certificate, valueOf(BUNDLE_OUTPUTS.certificate));
  const certificates = certificatesIn(BUNDLE_OUTPUTS.certificate, certificatePem);
  if (certificates.length !== 1) {
    throw new BundleError("invalid-output", `output ${BUNDLE_OUTPUTS.certificate} holds ${certificates.length} certificates; expected exactly one`);
  }
  const chainValue = valueOf(BUNDLE_OUTPUTS.caChain);
  const chainText = Array.isArray(chainValue)
    ? chainValue.map((pem, i) => stringOutput(`${BUNDLE_OUTPUTS.caChain}[${i}]`, pem)).join("\n")
    : stringOutput(BUNDLE_OUTPUTS.caChain, chainValue);
  const chain = certificatesIn(BUNDLE_OUTPUTS.caChain, chainText);
  if (chain.length === 0) {
    throw new BundleError("invalid-output", `output ${BUNDLE_OUTPUTS.caChain} holds no PEM certificate; expected the intermediate, then the root`);
  }
  const password = stringOutput(BUNDLE_OUTPUTS.password, valueOf(BUNDLE_OUTPUTS.password));
  if (/[\r\n\0]/.test(password)) {
    throw new BundleError("invalid-output", `output ${BUNDLE_OUTPUTS.password} is not a single line; expected a random_password result`);
  }
  return {
    certificate: certificates[0].certificate,
    certificatePem: certificates[0].pem,
    privateKeyPem: stringOutput(BUNDLE_OUTPUTS.privateKey, valueOf(BUNDLE_OUTPUTS.privateKey)),
    caChainPem: chain.map((c) => c.pem),
    password,
  };
}

function stringOutput(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new BundleError("invalid-output", `output ${name} is a ${Array.isArray(value) ? "list" : typeof value}; expected a string`);
  }
  return value;
}

function certificatesIn(name: string, text: string): { pem: string; certificate: X509Certificate }[] {
  const pems = text.match(/-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem, i) => {
    try {
      return { pem: `${pem}\n`, certificate: new X509Certificate(pem) };
    } catch {
      throw new BundleError("invalid-output", `output ${name}: certificate ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

function checkKeyMatches(inputs: BundleInputs): void {
  let publicKey: Buffer;
  try {
    publicKey = createPublicKey(createPrivateKey(inputs.privateKeyPem)).export({ type: "spki", format: "der" });
  } catch {
    // Node's message could quote the input; this one cannot.
    throw new BundleError("invalid-output", `output ${BUNDLE_OUTPUTS.privateKey} is not an unencrypted PEM private key`);
  }
  if (!publicKey.equals(inputs.certificate.publicKey.export({ type: "spki", format: "der" }))) {
    throw new BundleError(
      "key-mismatch",
      `the private key in output ${BUNDLE_OUTPUTS.privateKey} does not match the certificate in ${BUNDLE_OUTPUTS.certificate} ` +
        "(their public keys differ); the outputs look like they come from different deploys: run `npm run deploy` again",
    );
  }
}

function checkValidity(certificate: X509Certificate, now: Date): Date {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now.getTime() > notAfter.getTime()) {
    throw new BundleError(
      "expired",
      `the certificate expired at ${notAfter.toISOString()} (now ${now.toISOString()}); run \`npm run deploy\` to issue a new one`,
    );
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new BundleError(
      "not-yet-valid",
      `the certificate is not valid until ${notBefore.toISOString()} (now ${now.toISOString()}); check this machine's clock`,
    );
  }
  return notAfter;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    // ENOTDIR: a file stands where a directory of the path should; creating the directory reports it.
    if (["ENOENT", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) return false;
    throw err;
  }
}

/** A file-system error as a BundleError naming the file and what to do; other errors unchanged. */
function asBundleError(err: unknown, file: string): unknown {
  if (!isFileSystemError(err)) return err;
  return new BundleError("file-system", `${fileSystemError(err, file, "write")}; choose another directory with --out DIR. No bundle was written.`);
}
