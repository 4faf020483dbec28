import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import {
  explainStateError,
  isEncryptedState,
  noStateMessage,
  isPlainState,
  keepLastGoodState,
  lastGoodStateFile,
  looseStateFileWarning,
  readPlainState,
  removeLeftoverCopies,
  removePlainBackup,
  restoreLastGoodState,
  statePassphraseEnv,
} from "../../../ops/engine/state-files";

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
    expect(statePassphraseEnv({ C42_STATE_PASSPHRASE: "new passphrase 0123", C42_STATE_PASSPHRASE_PREVIOUS: "old passphrase 4567", VAULT_TOKEN: "t" })).toEqual(
      {
        TF_VAR_c42_state_passphrase: "new passphrase 0123",
        TF_VAR_c42_state_passphrase_previous: "old passphrase 4567",
      },
    );
  });

  test("is empty without passphrases", () => {
    expect(statePassphraseEnv({ C42_STATE_PASSPHRASE: "", PATH: "/bin" })).toEqual({});
  });
});

test("noStateMessage names the place and the setting to check", () => {
  expect(noStateMessage("/srv/state/keystore.tfstate")).toBe("There is no state at /srv/state/keystore.tfstate: check stateDir.");
  expect(noStateMessage("pg 10.0.0.5:5432/keystore", "backend")).toBe("There is no state at pg 10.0.0.5:5432/keystore: check backend.");
});

// The engine texts below are OpenTofu 1.10.10's, as printed (with its line wrapping).
describe("explainStateError", () => {
  test("an encrypted state without C42_STATE_PASSPHRASE", () => {
    const engine =
      "Error: Error acquiring the state lock\n\nError message: Unsupported state file format: This state file is encrypted\nand can not be read without an encryption configuration\n";
    expect(explainStateError(engine)).toBe("This state is encrypted: use OpenTofu and set C42_STATE_PASSPHRASE.");
  });

  test("Terraform on an encrypted state", () => {
    const engine =
      'Error: Failed to load state: Unsupported state file format: The state file does not have a "version" attribute, which is required to identify the format version.\n';
    expect(explainStateError(engine)).toBe("This state is encrypted: use OpenTofu and set C42_STATE_PASSPHRASE.");
  });

  test("a wrong passphrase", () => {
    const engine =
      "Error: Error acquiring the state lock\n\nError message: decryption failed for all provided methods\nattempted decryption failed for state: decryption failed: cipher: message\nauthentication failed\n";
    expect(explainStateError(engine)).toMatch(/^the state cannot be decrypted with C42_STATE_PASSPHRASE .*wrong passphrase\? The state was not changed\.$/);
  });

  test("a plain state with a passphrase set", () => {
    const engine = "Error message: encountered unencrypted payload without unencrypted method\nconfigured\n";
    expect(explainStateError(engine)).toMatch(
      /^C42_STATE_PASSPHRASE is set but the state is not encrypted yet: to encrypt it, deploy once with C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN=true/,
    );
  });

  test("a lock held by another run", () => {
    const engine = "Error: Error acquiring the state lock\n\nError message: Cannot lock state: pq: advisory lock already held\n";
    expect(explainStateError(engine)).toMatch(/^another run holds the state lock/);
  });

  test("a lock with its info names the holder and the exact unlock command", () => {
    const engine = [
      "Error: Error acquiring the state lock",
      "",
      "Error message: ConditionalCheckFailedException: The conditional request failed",
      "Lock Info:",
      "  ID:        9b2c4a1e-5f7d-4c3b-8a2e-1d0f9e8c7b6a",
      "  Path:      acme-state/c42-keystore/keystore.tfstate",
      "  Operation: OperationTypeApply",
      "  Who:       ci@runner-7",
      "  Version:   1.10.10",
      "  Created:   2026-11-27T03:00:00Z",
    ].join("\n");
    expect(explainStateError(engine)).toBe(
      "another run holds the state lock (by ci@runner-7, for OperationTypeApply, since 2026-11-27T03:00:00Z): a deploy or plan elsewhere is using this state. " +
        "If it is still running, let it finish (lockTimeout, C42_LOCK_TIMEOUT, sets how long a command waits). " +
        "If it crashed and no run is in progress, release the lock with: npx c42-keystore unlock 9b2c4a1e-5f7d-4c3b-8a2e-1d0f9e8c7b6a. Nothing was changed.",
    );
  });

  test("anything else is left to the engine", () => {
    expect(explainStateError("Error: Invalid provider configuration")).toBeUndefined();
  });
});

describe("removePlainBackup", () => {
  const ENCRYPTED = JSON.stringify({
    serial: 3,
    lineage: "l",
    meta: { "key_provider.pbkdf2.c42_state": "e30=" },
    encrypted_data: "AAAA",
    encryption_version: "v0",
  });
  const PLAIN = JSON.stringify({ version: 4, terraform_version: "1.10.10", serial: 2, lineage: "l", outputs: {}, resources: [] });
  let dir: string;
  let state: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keystore-backup-"));
    state = join(dir, "keystore.tfstate");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("tells the two formats apart", () => {
    writeFileSync(state, ENCRYPTED);
    writeFileSync(`${state}.backup`, PLAIN);
    expect([isEncryptedState(state), isPlainState(state)]).toEqual([true, false]);
    expect([isEncryptedState(`${state}.backup`), isPlainState(`${state}.backup`)]).toEqual([false, true]);
    expect([isEncryptedState(join(dir, "absent")), isPlainState(join(dir, "absent"))]).toEqual([false, false]);
  });

  test("removes a plain backup next to an encrypted state, and says so", () => {
    writeFileSync(state, ENCRYPTED);
    writeFileSync(`${state}.backup`, PLAIN);
    expect(removePlainBackup(state)).toBe(`removed ${state}.backup: it was the state before encryption, in plain text. The encrypted state is ${state}.`);
    expect(existsSync(`${state}.backup`)).toBe(false);
    expect(existsSync(state)).toBe(true);
  });

  test("removes a plain last good state next to an encrypted state too, each on its own line", () => {
    writeFileSync(state, ENCRYPTED);
    writeFileSync(`${state}.backup`, PLAIN);
    writeFileSync(lastGoodStateFile(state), PLAIN);
    expect(removePlainBackup(state)).toBe(
      `removed ${state}.backup: it was the state before encryption, in plain text. The encrypted state is ${state}.\n` +
        `removed ${state}.last-good: it was the last good state, kept before encryption, in plain text. The encrypted state is ${state}.`,
    );
    expect([existsSync(`${state}.backup`), existsSync(`${state}.last-good`)]).toEqual([false, false]);
  });

  test("keeps an encrypted backup", () => {
    writeFileSync(state, ENCRYPTED);
    writeFileSync(`${state}.backup`, ENCRYPTED);
    expect(removePlainBackup(state)).toBeUndefined();
    expect(existsSync(`${state}.backup`)).toBe(true);
  });

  test("keeps everything while the state itself is plain", () => {
    writeFileSync(state, PLAIN);
    writeFileSync(`${state}.backup`, PLAIN);
    expect(removePlainBackup(state)).toBeUndefined();
    expect(existsSync(`${state}.backup`)).toBe(true);
  });

  test("keeps a backup it cannot parse", () => {
    writeFileSync(state, ENCRYPTED);
    writeFileSync(`${state}.backup`, "not json");
    expect(removePlainBackup(state)).toBeUndefined();
    expect(existsSync(`${state}.backup`)).toBe(true);
  });
});

describe("the last good state", () => {
  const PLAIN = (serial: number) => JSON.stringify({ version: 4, terraform_version: "1.10.10", serial, lineage: "l", outputs: {}, resources: [] });
  const ENCRYPTED = JSON.stringify({ serial: 3, lineage: "l", meta: { k: "e30=" }, encrypted_data: "AAAA", encryption_version: "v0" });
  let dir: string;
  let state: string;
  const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keystore-last-good-"));
    state = join(dir, "keystore.tfstate");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["a plain state", PLAIN(7)],
    ["an encrypted state", ENCRYPTED],
  ])("keeps a copy of %s, 0600 even from a looser file", (_, text) => {
    writeFileSync(state, text, { mode: 0o644 });
    expect(keepLastGoodState(state)).toBe(true);
    expect(readFileSync(lastGoodStateFile(state), "utf8")).toBe(text);
    expect(mode(lastGoodStateFile(state))).toBe("600");
    expect(existsSync(`${lastGoodStateFile(state)}.tmp`)).toBe(false);
  });

  test.each([
    ["an empty file", ""],
    ["a truncated state", PLAIN(8).slice(0, 40)],
    ["JSON that is no state", "{}"],
  ])("never replaces the last good copy with %s", (_, text) => {
    writeFileSync(lastGoodStateFile(state), PLAIN(7));
    writeFileSync(state, text);
    expect(keepLastGoodState(state)).toBe(false);
    expect(readFileSync(lastGoodStateFile(state), "utf8")).toBe(PLAIN(7));
  });

  test("keeps nothing when there is no state yet", () => {
    expect(keepLastGoodState(state)).toBe(false);
    expect(existsSync(lastGoodStateFile(state))).toBe(false);
  });

  test("restores it over an empty state, keeps the empty file aside and names both files", () => {
    writeFileSync(lastGoodStateFile(state), PLAIN(7));
    writeFileSync(state, "");
    const notice = restoreLastGoodState(state);
    expect(notice).toBe(
      `warning: the state ${state} was empty; restored the last good state ${state}.last-good, kept before the last engine run that wrote the state. ` +
        `The damaged file is kept as ${state}.unusable (0600). Objects that run created in Vault after that copy are not in it: ` +
        "the next deploy takes over what its interrupted run recorded, or says what to do.",
    );
    expect(readFileSync(state, "utf8")).toBe(PLAIN(7));
    expect(mode(state)).toBe("600");
    expect(readFileSync(`${state}.unusable`, "utf8")).toBe("");
    expect(mode(`${state}.unusable`)).toBe("600");
  });

  test("restores it over a truncated state, saying how many bytes were left", () => {
    writeFileSync(lastGoodStateFile(state), PLAIN(7));
    const truncated = PLAIN(8).slice(0, 40);
    writeFileSync(state, truncated, { mode: 0o644 });
    expect(restoreLastGoodState(state)).toContain(
      `the state ${state} was unusable (40 bytes that are not a whole state: an engine run was stopped while writing it)`,
    );
    expect(readFileSync(state, "utf8")).toBe(PLAIN(7));
    expect(readFileSync(`${state}.unusable`, "utf8")).toBe(truncated);
    expect(mode(`${state}.unusable`)).toBe("600");
  });

  test("leaves a usable state, a missing one, and a damaged one without a good copy alone", () => {
    writeFileSync(lastGoodStateFile(state), PLAIN(7));
    expect(restoreLastGoodState(state)).toBeUndefined();
    expect(existsSync(state)).toBe(false);
    writeFileSync(state, PLAIN(9));
    expect(restoreLastGoodState(state)).toBeUndefined();
    expect(readFileSync(state, "utf8")).toBe(PLAIN(9));
    rmSync(lastGoodStateFile(state));
    writeFileSync(state, "");
    expect(restoreLastGoodState(state)).toBeUndefined();
    expect(existsSync(`${state}.unusable`)).toBe(false);
  });
});

describe("readPlainState (a local state without starting the engine)", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "keystore-plain-state-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const file = join(dir, "keystore.tfstate");
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  test("reads the outputs and resources of a plain state", () => {
    const outputs = { admin_rotation_phase: { value: "started", type: "string" }, key: { value: "k", type: "string", sensitive: true } };
    const resources = [{ mode: "managed", type: "vault_mount", name: "kv", instances: [] }];
    expect(readPlainState(write(JSON.stringify({ version: 4, outputs, resources })))).toEqual({ outputs, resources });
  });

  test("no state yet is an empty one", () => {
    expect(readPlainState(join(dir, "absent.tfstate"))).toEqual({ outputs: {}, resources: [] });
  });

  test.each([
    ["an encrypted state", JSON.stringify({ encrypted_data: "xyz", meta: {} })],
    ["a state cut short mid-write", '{"version": 4, "outputs": {'],
    ["an empty file", ""],
    ["JSON that is not an object", "null"],
  ])("%s is left to the engine (undefined)", (_, text) => {
    expect(readPlainState(write(text))).toBeUndefined();
  });
});

describe("removeLeftoverCopies: nothing beside an encrypted state that defeats the encryption", () => {
  const envelope = (slot: string, data = "AAAA") =>
    JSON.stringify({ serial: 3, lineage: "l", meta: { [`key_provider.pbkdf2.${slot}`]: "e30=" }, encrypted_data: data });
  const PLAIN = JSON.stringify({ version: 4, serial: 2, lineage: "l", outputs: {}, resources: [{ mode: "managed", instances: [] }] });
  let dir: string;
  let state: string;
  let backups: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keystore-leftovers-"));
    state = join(dir, "keystore.tfstate");
    backups = join(dir, "state-backups");
    mkdirSync(backups);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("plain copies a killed run left beside the state go, each said; migrate-state's one plain backup stays, its retried duplicates go", () => {
    writeFileSync(state, envelope("c42_state"));
    writeFileSync(`${state}.last-good`, PLAIN);
    writeFileSync(`${state}.last-good.tmp`, PLAIN.slice(0, 40));
    writeFileSync(`${state}.unusable`, '{"version":4,"resources":[{"private_key_pem":"-----BEGIN RSA PRIVATE KEY-----\\nMII');
    writeFileSync(join(backups, "keystore-2026-01-01T00-00-00-000Z.tfstate"), PLAIN);
    writeFileSync(join(backups, "keystore-2026-01-01T00-05-00-000Z.tfstate"), PLAIN);
    const notices = removeLeftoverCopies(state, backups);
    expect(notices).toEqual([
      `removed ${state}.last-good: a copy of the state in plain text (private keys in clear) that an earlier run left; the state ${state} is encrypted.`,
      `removed ${state}.unusable: a copy of the state in plain text (private keys in clear) that an earlier run left; the state ${state} is encrypted.`,
      `removed ${join(backups, "keystore-2026-01-01T00-05-00-000Z.tfstate")}: the same plain-text backup as ${join(backups, "keystore-2026-01-01T00-00-00-000Z.tfstate")}, written again by a retried migration; ${join(backups, "keystore-2026-01-01T00-00-00-000Z.tfstate")} is the backup.`,
    ]);
    expect(readdirSync(backups)).toEqual(["keystore-2026-01-01T00-00-00-000Z.tfstate"]);
    // The last good state is kept again, from the encrypted state (its temporary file reused).
    expect(readFileSync(`${state}.last-good`, "utf8")).toBe(readFileSync(state, "utf8"));
    expect(existsSync(`${state}.last-good.tmp`)).toBe(false);
  });

  test("after a rotation (the state in the rotated slot alone), every copy written before it goes, and the last good state is kept again from the state", () => {
    writeFileSync(state, envelope("c42_state_rotated", "NEW"));
    writeFileSync(`${state}.backup`, envelope("c42_state", "OLD1"));
    writeFileSync(`${state}.last-good`, envelope("c42_state", "OLD2"));
    writeFileSync(join(backups, "keystore-old.tfstate"), envelope("c42_state", "OLD3"));
    const notices = removeLeftoverCopies(state, backups);
    expect(notices).toEqual(
      [`${state}.backup`, `${state}.last-good`, join(backups, "keystore-old.tfstate")].map(
        (f) => `removed ${f}: a copy of the state encrypted before C42_STATE_PASSPHRASE was rotated, which the old passphrase opens.`,
      ),
    );
    expect(readFileSync(`${state}.last-good`, "utf8")).toBe(readFileSync(state, "utf8"));
    expect([existsSync(`${state}.backup`), readdirSync(backups)]).toEqual([false, []]);
    // The next run finds nothing more to remove.
    expect(removeLeftoverCopies(state, backups)).toEqual([]);
  });

  test("in the steady slot, encrypted copies stay; a plain state leaves everything alone", () => {
    writeFileSync(state, envelope("c42_state"));
    writeFileSync(`${state}.backup`, envelope("c42_state_rotated"));
    expect(removeLeftoverCopies(state, backups)).toEqual([]);
    writeFileSync(state, PLAIN);
    writeFileSync(`${state}.last-good`, PLAIN);
    expect(removeLeftoverCopies(state, backups)).toEqual([]);
    expect(existsSync(`${state}.last-good`)).toBe(true);
  });
});
