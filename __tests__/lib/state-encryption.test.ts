import { synthToDisk } from "../helpers/synth-to-disk";

const PASSPHRASE = 'unit-test passphrase ${not-a-template} "quoted"';
const PREVIOUS = "unit-test previous passphrase 0123";

/** A full synth into a directory, with the passphrases in process.env too, as a user would have them. */
function synthWith(env: Record<string, string>) {
  const { files, json } = synthToDisk(env, "keystore-enc");
  return { files, json, encryption: json.terraform.encryption, variables: json.variable };
}

const passphraseVariable = {
  type: "string",
  sensitive: true,
  nullable: false,
  description: "Passphrase of the state and plan encryption (from C42_STATE_PASSPHRASE)",
};

describe("without C42_STATE_PASSPHRASE", () => {
  const { json, encryption, variables } = synthWith({});

  test("no encryption block and no passphrase variable are synthesized", () => {
    expect(json.terraform).toHaveProperty("backend.local");
    expect(encryption).toBeUndefined();
    // Only the local state file's path (StateRecords), no passphrase.
    expect(Object.keys(variables)).toEqual(["c42_state_file"]);
  });
});

describe("with C42_STATE_PASSPHRASE", () => {
  const { files, encryption, variables } = synthWith({ C42_STATE_PASSPHRASE: PASSPHRASE });

  test("pbkdf2 key providers read the passphrase from a sensitive input variable", () => {
    expect(encryption.key_provider).toEqual({
      pbkdf2: {
        c42_state: { passphrase: "${var.c42_state_passphrase}" },
        c42_state_rotated: { passphrase: "${var.c42_state_passphrase}" },
      },
    });
    expect(variables.c42_state_passphrase).toEqual(passphraseVariable);
  });

  test("aes_gcm methods take their keys as interpolations (the bare form crashes OpenTofu 1.10)", () => {
    expect(encryption.method).toEqual({
      aes_gcm: {
        c42_state: { keys: "${key_provider.pbkdf2.c42_state}" },
        c42_state_rotated: { keys: "${key_provider.pbkdf2.c42_state_rotated}" },
      },
    });
  });

  test("state and plan are enforced, naming the method as a bare reference; the state reads the rotated slot as fallback", () => {
    expect(encryption.state).toEqual({ method: "method.aes_gcm.c42_state", enforced: true, fallback: { method: "method.aes_gcm.c42_state_rotated" } });
    expect(encryption.plan).toEqual({ method: "method.aes_gcm.c42_state", enforced: true });
  });

  test("the passphrase value appears in no synthesized file", () => {
    expect(Object.keys(files).length).toBeGreaterThan(0);
    for (const [file, text] of Object.entries(files)) {
      expect({ file, leaks: text.includes(PASSPHRASE) || text.includes("unit-test passphrase") }).toEqual({ file, leaks: false });
    }
  });
});

describe("rotating: C42_STATE_PASSPHRASE_PREVIOUS as well", () => {
  const { files, encryption, variables } = synthWith({ C42_STATE_PASSPHRASE: PASSPHRASE, C42_STATE_PASSPHRASE_PREVIOUS: PREVIOUS });

  test("the state is read with the previous passphrase from the main slot and written with the new one to the rotated slot", () => {
    expect(encryption.key_provider.pbkdf2).toEqual({
      c42_state: { passphrase: "${var.c42_state_passphrase_previous}" },
      c42_state_rotated: { passphrase: "${var.c42_state_passphrase}" },
    });
    expect(encryption.state).toEqual({ method: "method.aes_gcm.c42_state_rotated", enforced: true, fallback: { method: "method.aes_gcm.c42_state" } });
    expect(encryption.plan).toEqual({ method: "method.aes_gcm.c42_state_rotated", enforced: true });
  });

  test("both passphrases are sensitive variables, and neither value is in any file", () => {
    expect(Object.keys(variables).sort()).toEqual(["c42_state_file", "c42_state_passphrase", "c42_state_passphrase_previous"]);
    expect(variables.c42_state_passphrase_previous).toMatchObject({ type: "string", sensitive: true, nullable: false });
    for (const text of Object.values(files)) {
      expect(text).not.toContain(PASSPHRASE);
      expect(text).not.toContain(PREVIOUS);
    }
  });
});

describe("migrating a plain state: stateEncryption.migrateFromPlain", () => {
  const { encryption, variables } = synthWith({ C42_STATE_PASSPHRASE: PASSPHRASE, C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true" });

  test("the state may be read unencrypted (not enforced, unencrypted fallback) and is written encrypted", () => {
    expect(encryption).toEqual({
      key_provider: { pbkdf2: { c42_state: { passphrase: "${var.c42_state_passphrase}" } } },
      method: { aes_gcm: { c42_state: { keys: "${key_provider.pbkdf2.c42_state}" } }, unencrypted: { c42_plain: {} } },
      state: { method: "method.aes_gcm.c42_state", enforced: false, fallback: { method: "method.unencrypted.c42_plain" } },
      plan: { method: "method.aes_gcm.c42_state", enforced: true },
      // The stack's own state records (StateRecords) are read the way the state is.
      remote_state_data_sources: { default: { method: "method.aes_gcm.c42_state", fallback: { method: "method.unencrypted.c42_plain" } } },
    });
    expect(Object.keys(variables).sort()).toEqual(["c42_state_file", "c42_state_passphrase"]);
  });
});
