import { Construct } from "constructs";
import { TerraformStack, TerraformVariable } from "cdktf";
import { STATE_KEY_SLOTS, STATE_PASSPHRASE_PREVIOUS_VARIABLE, STATE_PASSPHRASE_VARIABLE } from "./state-encryption-keys";

const PLAIN = "c42_plain";

/** Properties of a {@link StateEncryption}. */
export interface StateEncryptionProps {
  /**
   * Re-encrypt: read the state with the previous passphrase and write it with
   * the new one.
   * @default false
   */
  readonly rotating?: boolean;
  /**
   * Read a state that is not encrypted yet and write it back encrypted. The
   * state block is not `enforced` while this is on: OpenTofu forbids an
   * unencrypted fallback otherwise.
   * @default false
   */
  readonly migrateFromPlain?: boolean;
}

/**
 * OpenTofu state and plan encryption (`terraform.encryption`): pbkdf2 key
 * provider, AES-GCM, enforced for state and plan files. The passphrase is an
 * input variable, so the synthesized JSON holds only `${var.…}` and the value
 * comes from `TF_VAR_c42_state_passphrase` in the engine's environment.
 *
 * The reference forms are the ones OpenTofu 1.10 accepts in JSON: `keys` as an
 * interpolation (`"${key_provider.pbkdf2.x}"`; the bare form crashes the
 * engine, opentofu#3482), `method` as a bare traversal (`"method.aes_gcm.x"`;
 * an interpolation is refused as not a static reference).
 */
export class StateEncryption extends Construct {
  /** The passphrase variable. */
  public readonly passphrase: TerraformVariable;
  /** The previous passphrase's variable, while rotating. */
  public readonly previousPassphrase?: TerraformVariable;

  public constructor(scope: Construct, id: string, props: StateEncryptionProps = {}) {
    super(scope, id);
    this.passphrase = secretVariable(this, STATE_PASSPHRASE_VARIABLE, "Passphrase of the state and plan encryption (from C42_STATE_PASSPHRASE)");
    if (props.rotating) {
      this.previousPassphrase = secretVariable(
        this,
        STATE_PASSPHRASE_PREVIOUS_VARIABLE,
        "Passphrase the state is encrypted with before rotation (from C42_STATE_PASSPHRASE_PREVIOUS)",
      );
    }
    const current = ref(STATE_PASSPHRASE_VARIABLE);
    const key = (slot: string) => ({ keys: "${key_provider.pbkdf2." + slot + "}" });
    const method = (slot: string) => `method.aes_gcm.${slot}`;

    let encryption: Record<string, unknown>;
    if (props.migrateFromPlain) {
      encryption = {
        key_provider: { pbkdf2: { [STATE_KEY_SLOTS.main]: { passphrase: current } } },
        method: { aes_gcm: { [STATE_KEY_SLOTS.main]: key(STATE_KEY_SLOTS.main) }, unencrypted: { [PLAIN]: {} } },
        state: { method: method(STATE_KEY_SLOTS.main), enforced: false, fallback: { method: `method.unencrypted.${PLAIN}` } },
        plan: { method: method(STATE_KEY_SLOTS.main), enforced: true },
      };
    } else {
      const [write, read] = props.rotating ? [STATE_KEY_SLOTS.rotated, STATE_KEY_SLOTS.main] : [STATE_KEY_SLOTS.main, STATE_KEY_SLOTS.rotated];
      const readPassphrase = props.rotating ? ref(STATE_PASSPHRASE_PREVIOUS_VARIABLE) : current;
      encryption = {
        key_provider: { pbkdf2: { [write]: { passphrase: current }, [read]: { passphrase: readPassphrase } } },
        method: { aes_gcm: { [write]: key(write), [read]: key(read) } },
        state: { method: method(write), enforced: true, fallback: { method: method(read) } },
        plan: { method: method(write), enforced: true },
      };
    }
    // The stack reads its own state back at plan time (StateRecords): with the same methods, fallback included.
    const state = encryption.state as { method: string; fallback: { method: string } };
    encryption.remote_state_data_sources = { default: { method: state.method, fallback: state.fallback } };
    TerraformStack.of(this).addOverride("terraform.encryption", encryption);
  }
}

function secretVariable(scope: Construct, name: string, description: string): TerraformVariable {
  const variable = new TerraformVariable(scope, name, { type: "string", sensitive: true, nullable: false, description });
  // The name is what TF_VAR_<name> must match: it cannot carry a hash suffix.
  variable.overrideLogicalId(name);
  return variable;
}

function ref(variableName: string): string {
  return "${var." + variableName + "}";
}
