import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explainStateError, looseStateFileWarning, statePassphraseEnv } from "../ops/state-files";

describe("looseStateFileWarning", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keystore-state-files-"));
    file = join(dir, "keystore.tfstate");
    writeFileSync(file, "{}");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each(["0644", "0640", "0604", "0660", "0666", "0610"])("warns about mode %s, naming the file and the mode", (mode) => {
    chmodSync(file, parseInt(mode, 8));
    expect(looseStateFileWarning(file)).toBe(`warning: ${file} is readable by other users (mode ${mode}); it holds private keys. Tightening to 0600.`);
  });

  test.each(["0600", "0400", "0700"])("passes mode %s (owner only)", (mode) => {
    chmodSync(file, parseInt(mode, 8));
    expect(looseStateFileWarning(file)).toBeUndefined();
  });

  test("passes a file that does not exist yet", () => {
    expect(looseStateFileWarning(join(dir, "absent.tfstate"))).toBeUndefined();
  });
});

describe("statePassphraseEnv", () => {
  test("maps the C42 passphrases to the TF_VAR inputs of the encryption block, and nothing else", () => {
    expect(statePassphraseEnv({ C42_STATE_PASSPHRASE: "new passphrase 0123", C42_STATE_PASSPHRASE_PREVIOUS: "old passphrase 4567", VAULT_TOKEN: "t" })).toEqual({
      TF_VAR_c42_state_passphrase: "new passphrase 0123",
      TF_VAR_c42_state_passphrase_previous: "old passphrase 4567",
    });
  });

  test("is empty without passphrases", () => {
    expect(statePassphraseEnv({ C42_STATE_PASSPHRASE: "", PATH: "/bin" })).toEqual({});
  });
});

// The engine texts below are OpenTofu 1.10.10's, as printed (with its line wrapping).
describe("explainStateError", () => {
  test("an encrypted state without C42_STATE_PASSPHRASE", () => {
    const engine = "Error: Error acquiring the state lock\n\nError message: Unsupported state file format: This state file is encrypted\nand can not be read without an encryption configuration\n";
    expect(explainStateError(engine)).toBe("the state is encrypted, but C42_STATE_PASSPHRASE is not set: set it to the passphrase the state was encrypted with. The state was not changed.");
  });

  test("a wrong passphrase", () => {
    const engine = "Error: Error acquiring the state lock\n\nError message: decryption failed for all provided methods\nattempted decryption failed for state: decryption failed: cipher: message\nauthentication failed\n";
    expect(explainStateError(engine)).toMatch(/^the state cannot be decrypted with C42_STATE_PASSPHRASE .*wrong passphrase\? The state was not changed\.$/);
  });

  test("a plain state with a passphrase set", () => {
    const engine = "Error message: encountered unencrypted payload without unencrypted method\nconfigured\n";
    expect(explainStateError(engine)).toMatch(/^C42_STATE_PASSPHRASE is set but the state is not encrypted yet: to encrypt it, deploy once with C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN=true/);
  });

  test("a lock held by another run", () => {
    const engine = "Error: Error acquiring the state lock\n\nError message: Cannot lock state: pq: advisory lock already held\n";
    expect(explainStateError(engine)).toMatch(/^another run holds the state lock/);
  });

  test("anything else is left to the engine", () => {
    expect(explainStateError("Error: Invalid provider configuration")).toBeUndefined();
  });
});
