import { execFileSync } from "node:child_process";
// jest.spyOn must reach the module object the code under test calls, not an import copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import fsPromises = require("node:fs/promises");
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_OUTPUTS } from "../../../lib/bundle-output-names";
import { BundleError, CODE42_UPLOAD_LIMIT_BYTES, P12_FILE, PASSWORD_FILE, TofuOutputs, WriteBundleOptions, writeBundle } from "../../../ops/bundle/bundle";
import { bundleMain } from "../../../ops/commands/bundle";
import { restoreEnvAfterEach } from "../../helpers/env";
import { TestPki, testPkiForAllTests } from "../../helpers/test-pki";

// Every failure must leave no file behind, not even a temporary one. The
// password must never show up in test output: assertions on it are written as
// `expect(x.includes(password)).toBe(false)`, never as a message.

jest.setTimeout(60_000);

/**
 * A CA certificate padded with an `nsComment` of `commentBytes` characters, to
 * make a real chain of a given size.
 */
function paddedCertificate(dir: string, name: string, commentBytes: number): string {
  const config = join(dir, `${name}.cnf`);
  writeFileSync(
    config,
    `[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=${name}\n[ext]\nbasicConstraints=critical,CA:TRUE\nnsComment=${"A".repeat(commentBytes)}\n`,
  );
  execFileSync(
    "openssl",
    ["req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-config", config, "-days", "30", "-out", `${name}.pem`],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  return readFileSync(join(dir, `${name}.pem`), "utf8");
}

let work: string;
let pki: TestPki;
let password: string;
let outputs: TofuOutputs;
let leaf: X509Certificate;
let otherKeyPem: string;

testPkiForAllTests("bundle-errors-test-", (fixture) => ({ work, pki, password, outputs } = fixture));
beforeAll(() => {
  leaf = new X509Certificate(pki.leafPem);
  execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other.key"], {
    cwd: work,
    stdio: ["ignore", "ignore", "pipe"],
  });
  otherKeyPem = readFileSync(join(work, "other.key"), "utf8");
});

/** An output directory that does not exist yet, inside a private one. */
function freshOutDir(): string {
  return join(mkdtempSync(join(work, "run-")), "out");
}

function withOutput(name: string, value: unknown): TofuOutputs {
  return { ...outputs, [name]: { sensitive: false, value } };
}

function without(...names: string[]): TofuOutputs {
  return Object.fromEntries(Object.entries(outputs).filter(([name]) => !names.includes(name)));
}

/**
 * Runs writeBundle into a fresh directory, expects a BundleError with `code`,
 * checks that nothing was written and that the message keeps the password out,
 * and returns the message.
 */
async function failure(code: string, options: Omit<WriteBundleOptions, "outDir">): Promise<string> {
  const outDir = freshOutDir();
  const error = await writeBundle({ ...options, outDir }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(BundleError);
  expect((error as BundleError).code).toBe(code);
  expect(existsSync(outDir)).toBe(false);
  expect(readdirSync(join(outDir, ".."))).toEqual([]);
  expect((error as Error).message.includes(password)).toBe(false);
  return (error as Error).message;
}

describe("a missing or incomplete deployment", () => {
  it("names every output when there are none", async () => {
    expect(await failure("missing-output", { outputs: {} })).toBe(
      "the deployment has none of the outputs the bundle is built from " +
        "(admin_certificate_pem, admin_private_key_pem, admin_ca_chain_pem, crashplan_p12_password); run `npm run deploy` first",
    );
  });

  it("names the one output that is missing", async () => {
    expect(await failure("missing-output", { outputs: without(BUNDLE_OUTPUTS.password) })).toBe(
      "the deployment is incomplete: output crashplan_p12_password is missing or empty; run `npm run deploy` first",
    );
  });

  it("names outputs that are empty or null", async () => {
    const outputsWithHoles = { ...withOutput(BUNDLE_OUTPUTS.privateKey, ""), [BUNDLE_OUTPUTS.caChain]: { value: null } };
    expect(await failure("missing-output", { outputs: outputsWithHoles })).toBe(
      "the deployment is incomplete: outputs admin_private_key_pem, admin_ca_chain_pem are missing or empty; run `npm run deploy` first",
    );
  });

  it("rejects outputs that are not what the stack writes", async () => {
    expect(await failure("invalid-output", { outputs: withOutput(BUNDLE_OUTPUTS.certificate, "not a certificate") })).toBe(
      "output admin_certificate_pem holds 0 certificates; expected exactly one",
    );
    expect(await failure("invalid-output", { outputs: withOutput(BUNDLE_OUTPUTS.caChain, "no PEM here") })).toBe(
      "output admin_ca_chain_pem holds no PEM certificate; expected the intermediate, then the root",
    );
    expect(
      await failure("invalid-output", { outputs: withOutput(BUNDLE_OUTPUTS.privateKey, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }),
    ).toBe("output admin_private_key_pem is not an unencrypted PEM private key");
    expect(await failure("invalid-output", { outputs: withOutput(BUNDLE_OUTPUTS.password, 42) })).toBe(
      "output crashplan_p12_password is a number; expected a string",
    );
  });
});

describe("a key that does not match the certificate", () => {
  it("is refused", async () => {
    expect(await failure("key-mismatch", { outputs: withOutput(BUNDLE_OUTPUTS.privateKey, otherKeyPem) })).toMatch(
      /^the private key in output admin_private_key_pem does not match the certificate in admin_certificate_pem \(their public keys differ\)/,
    );
  });
});

describe("a certificate outside its validity", () => {
  it("is refused when expired", async () => {
    const notAfter = new Date(leaf.validTo);
    const now = new Date(notAfter.getTime() + 1000);
    expect(await failure("expired", { outputs, now })).toBe(
      `the certificate expired at ${notAfter.toISOString()} (now ${now.toISOString()}); run \`npm run deploy\` to issue a new one`,
    );
  });

  it("is refused when not yet valid", async () => {
    const notBefore = new Date(leaf.validFrom);
    const now = new Date(notBefore.getTime() - 24 * 3600 * 1000);
    expect(await failure("not-yet-valid", { outputs, now })).toBe(
      `the certificate is not valid until ${notBefore.toISOString()} (now ${now.toISOString()}); check this machine's clock`,
    );
  });
});

describe("Code42's 5 MB upload limit", () => {
  it("refuses a bundle over 5 MiB", async () => {
    const padding = paddedCertificate(work, "padding-over", CODE42_UPLOAD_LIMIT_BYTES);
    const message = await failure("too-large", { outputs: withOutput(BUNDLE_OUTPUTS.caChain, pki.intermediatePem + pki.rootPem + padding) });
    expect(message).toMatch(
      /^crashplan\.p12 would be \d+ bytes, over Code42's upload limit of 5 MB \(5242880 bytes\); output admin_ca_chain_pem holds 3 certificates/,
    );
    expect(Number(/would be (\d+) bytes/.exec(message)![1])).toBeGreaterThan(CODE42_UPLOAD_LIMIT_BYTES);
  });

  it("writes a bundle just under it (the limit is 5 * 1024 * 1024, not 5,000,000)", async () => {
    const padding = paddedCertificate(work, "padding-under", 5_100_000);
    const written = await writeBundle({ outputs: withOutput(BUNDLE_OUTPUTS.caChain, pki.intermediatePem + pki.rootPem + padding), outDir: freshOutDir() });
    expect(written.bytes).toBeGreaterThan(5_000_000);
    expect(written.bytes).toBeLessThanOrEqual(CODE42_UPLOAD_LIMIT_BYTES);
  });
});

describe("existing files", () => {
  async function refusedOver(existing: string): Promise<void> {
    const outDir = freshOutDir();
    mkdirSync(outDir);
    writeFileSync(join(outDir, existing), "left alone\n", { mode: 0o600 });
    const error = await writeBundle({ outputs, outDir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe("exists");
    expect((error as Error).message).toBe(`refusing to overwrite ${join(outDir, existing)}; pass --force to replace the bundle`);
    expect(readdirSync(outDir)).toEqual([existing]);
    expect(readFileSync(join(outDir, existing), "utf8")).toBe("left alone\n");
  }

  it("are not overwritten without force: crashplan.p12", () => refusedOver(P12_FILE));
  it("are not overwritten without force: the password file", () => refusedOver(PASSWORD_FILE));
});

describe("file-system errors name the file and what to do, and leave nothing behind", () => {
  afterEach(() => jest.restoreAllMocks());

  it("a file where the output directory should be", async () => {
    const blocker = join(freshOutDir(), "..", `blocker-${Math.random().toString(36).slice(2)}`);
    writeFileSync(blocker, "");
    const outDir = join(blocker, "bundle");
    const error = await writeBundle({ outputs, outDir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe("file-system");
    expect((error as Error).message).toBe(
      `bundle --out: cannot create the directory ${outDir}: a part of the path is a file, not a directory; fix the path (ENOTDIR); choose another directory with --out DIR. No bundle was written.`,
    );
  });

  it("a read-only file system (EROFS) while writing", async () => {
    const outDir = freshOutDir();
    const realWriteFile = fsPromises.writeFile;
    // Only the bundle's own files fail; openssl's scratch file elsewhere is written as usual.
    jest
      .spyOn(fsPromises, "writeFile")
      .mockImplementation((file, ...rest) =>
        String(file).startsWith(outDir)
          ? Promise.reject(
              Object.assign(new Error(`EROFS: read-only file system, open '${String(file)}'`), { code: "EROFS", syscall: "open", path: String(file) }),
            )
          : realWriteFile(file, ...rest),
      );
    let stderr = "";
    const code = await bundleMain(["--out", outDir], outputs, { stdout: () => undefined, stderr: (text) => void (stderr += text) });
    expect(code).toBe(1);
    expect(stderr).toBe(
      `bundle: cannot write ${join(outDir, P12_FILE)}: the file system is read-only; choose a writable location (EROFS); choose another directory with --out DIR. No bundle was written.\n`,
    );
    expect(readdirSync(outDir)).toEqual([]);
  });
});

describe("bundleMain", () => {
  restoreEnvAfterEach("PATH");

  async function run(argv: string[], tofu: TofuOutputs): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await bundleMain(argv, tofu, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) });
    return { code, stdout, stderr };
  }

  it.each([
    ["a missing deployment", {}, /^bundle: the deployment has none of the outputs .*; run `npm run deploy` first\n$/],
    ["a key that does not match", "mismatch", /^bundle: the private key in output admin_private_key_pem does not match/],
    [
      "an incomplete deployment",
      "no-password",
      /^bundle: the deployment is incomplete: output crashplan_p12_password is missing or empty; run `npm run deploy` first\n$/,
    ],
  ])("exits 1 on %s, says why on stderr and writes nothing", async (_name, variant, expected) => {
    const tofu =
      variant === "mismatch"
        ? withOutput(BUNDLE_OUTPUTS.privateKey, otherKeyPem)
        : variant === "no-password"
          ? without(BUNDLE_OUTPUTS.password)
          : (variant as TofuOutputs);
    const outDir = freshOutDir();
    const result = await run(["--out", outDir, "--show-password"], tofu);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(expected);
    expect(result.stdout).toBe("");
    expect(`${result.stdout}${result.stderr}`.includes(password)).toBe(false);
    expect(existsSync(outDir)).toBe(false);
  });

  it("exits 1 and says what to install when openssl is missing, writing nothing", async () => {
    process.env.PATH = mkdtempSync(join(work, "empty-path-"));
    const outDir = freshOutDir();
    const result = await run(["--out", outDir], outputs);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^bundle: `openssl` was not found on PATH; building crashplan.p12 needs OpenSSL 3/);
    expect(existsSync(outDir)).toBe(false);
  });
});
