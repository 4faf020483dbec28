import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config";

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
