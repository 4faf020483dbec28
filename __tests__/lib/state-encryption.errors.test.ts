import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { EngineTarget } from "../../lib/engine-target";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "keystore-enc-errors-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const load = (env: Record<string, string>) => () => loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
const LONG = "a passphrase long enough";

test("a passphrase shorter than pbkdf2's 16 characters is refused, showing its length, never its value", () => {
  const attempt = load({ C42_STATE_PASSPHRASE: "tooShort-9" });
  expect(attempt).toThrow('C42_STATE_PASSPHRASE: "10 characters (value hidden)" is too short; expected at least 16 characters (OpenTofu\'s pbkdf2 minimum)');
  expect(attempt).not.toThrow(/tooShort/);
});

test("a short previous passphrase is refused the same way", () => {
  const attempt = load({ C42_STATE_PASSPHRASE: LONG, C42_STATE_PASSPHRASE_PREVIOUS: "old-secret" });
  expect(attempt).toThrow(/^C42_STATE_PASSPHRASE_PREVIOUS: "10 characters \(value hidden\)" is too short/);
  expect(attempt).not.toThrow(/old-secret/);
});

test("a previous passphrase without a new one is refused", () => {
  expect(load({ C42_STATE_PASSPHRASE_PREVIOUS: LONG })).toThrow(/^C42_STATE_PASSPHRASE_PREVIOUS: "set \(value hidden\)" needs C42_STATE_PASSPHRASE/);
});

test("migrating from a plain state needs the passphrase to encrypt it with", () => {
  expect(load({ C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true" })).toThrow(/^stateEncryption\.migrateFromPlain: true needs C42_STATE_PASSPHRASE/);
});

test("migrating from plain and rotating at once is refused (OpenTofu reads with one fallback)", () => {
  expect(load({ C42_STATE_PASSPHRASE: LONG, C42_STATE_PASSPHRASE_PREVIOUS: LONG + "!", C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "1" })).toThrow(
    /^stateEncryption\.migrateFromPlain: true cannot be combined with C42_STATE_PASSPHRASE_PREVIOUS/,
  );
});

test("an empty passphrase means encryption off, not an error", () => {
  expect(load({ C42_STATE_PASSPHRASE: "" })().stateEncryption).toEqual({ enabled: false, rotating: false, migrateFromPlain: false });
});

describe("under Terraform", () => {
  const synthFor = (engine: EngineTarget, env: Record<string, string>) => () =>
    Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config: load(env)(), engine }));

  test("a passphrase is refused before anything is written: state encryption is OpenTofu's", () => {
    const attempt = synthFor({ kind: "terraform", version: "1.11.4" }, { C42_STATE_PASSPHRASE: LONG });
    expect(attempt).toThrow(
      'engine: "Terraform 1.11.4" cannot encrypt the state: C42_STATE_PASSPHRASE is set, and state and plan encryption is an OpenTofu feature; ' +
        "expected OpenTofu 1.10 or later (engine, C42_ENGINE; for cdktf TERRAFORM_BINARY_NAME), or C42_STATE_PASSPHRASE unset (at keystore)",
    );
    expect(attempt).not.toThrow(new RegExp(LONG));
  });

  test("without a passphrase Terraform synthesizes, and OpenTofu keeps its encryption block", () => {
    expect(JSON.parse(synthFor({ kind: "terraform", version: "1.5.7" }, {})()).terraform.encryption).toBeUndefined();
    expect(JSON.parse(synthFor({ kind: "tofu", version: "1.10.10" }, { C42_STATE_PASSPHRASE: LONG })()).terraform.encryption.state.enforced).toBe(true);
  });
});
