/** The input variable the passphrase reaches OpenTofu through: `TF_VAR_c42_state_passphrase`. */
export const STATE_PASSPHRASE_VARIABLE = "c42_state_passphrase";

/** The input variable of the passphrase being rotated away from: `TF_VAR_c42_state_passphrase_previous`. */
export const STATE_PASSPHRASE_PREVIOUS_VARIABLE = "c42_state_passphrase_previous";

/**
 * The two key slots. A pbkdf2 key provider records its salt in the state under
 * its own name, and OpenTofu refuses two providers with the same name, so a
 * new passphrase cannot be written under the name the old one is read from.
 * Rotation therefore writes the `rotated` slot, and the steady configuration
 * reads either slot (the second as fallback) and writes the `main` one.
 */
export const STATE_KEY_SLOTS = { main: "c42_state", rotated: "c42_state_rotated" } as const;

/**
 * How an encrypted state's envelope (`meta`) names the rotated key slot: a
 * state that names it alone was last written by a rotation, with the new
 * passphrase; every copy that does not name it predates that rotation.
 */
export const ROTATED_STATE_KEY_META = `key_provider.pbkdf2.${STATE_KEY_SLOTS.rotated}`;
