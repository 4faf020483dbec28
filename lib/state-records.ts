import { isAbsolute } from "node:path";
import { Construct } from "constructs";
import { LocalBackend, TerraformBackend, TerraformRemoteState, TerraformStack, TerraformVariable } from "cdktf";
import { ROTATION_OUTPUT, ROTATION_PHASES, RotationInput } from "./admin-rotation-phase";
import { KeystoreValidationError } from "./errors";

/** The data source's address in every synthesized stack: `data.terraform_remote_state.state_records`. */
export const STATE_RECORDS_DATA_SOURCE = "state_records";

/**
 * With the local backend, the variable that holds the state file's path for
 * `fileexists`: a variable's default is a literal in the JSON, so the path
 * (which carries the project directory's name) never enters an expression.
 */
export const STATE_FILE_VARIABLE = "c42_state_file";

/** One refusal at plan time: a condition over what the state records. */
export interface StateRecordCheck {
  /**
   * An HCL expression, true when the plan may go on. It reads the state's
   * outputs through {@link StateRecords.recorded} (`self.outputs` of the data
   * source).
   */
  readonly condition: string;
  /**
   * What the engine prints when the condition is false: which record, what
   * this JSON was synthesized for, and what to do. A template: it may quote
   * `${StateRecords.recorded(...)}`.
   */
  readonly errorMessage: string;
}

/** Properties of a {@link StateRecords}. */
export interface StateRecordsProps {
  /**
   * The stack's own state backend (what `addStateBackend` returned): the
   * records are read from the same state, with the same settings, credentials
   * from the same environment (PG_CONN_STR for pg).
   */
  readonly backend: TerraformBackend;
  /**
   * The rotation phase this JSON builds and the one the state recorded when it
   * was synthesized: a plan is refused when the state records any other.
   * @default { phase: "idle" }
   */
  readonly rotation?: RotationInput;
  /**
   * Whether the state existed when this JSON was synthesized. Both engines fail
   * a `terraform_remote_state` that finds no state, and only a local state can
   * be looked for at plan time (`file`), so for any other backend a JSON
   * synthesized before the first apply reads no records (and checks nothing).
   * Ignored for the local backend.
   * @default true
   */
  readonly stateExisted?: boolean;
}

/**
 * The records the stack keeps in its own state (the rotation phase today),
 * read back at plan time by the engine itself (`terraform_remote_state` of the
 * stack's own backend), so that a JSON synthesized for other records is
 * refused whoever runs it: `cdktf deploy`, a CI job applying an old
 * `cdktf.out`, or `tofu plan`/`apply` typed in `cdktf.out/stacks/keystore`.
 * The commands synthesize from the state at every run and always pass.
 *
 * Each record is one postcondition on the data source ({@link addCheck}); the
 * rotation check is added here. An encrypted state is read with the state's
 * own encryption methods (`StateEncryption` configures
 * `remote_state_data_sources`).
 *
 * The data source holds the state's root outputs, sensitive ones included,
 * in the state and in saved plans: no more than the state itself holds.
 */
export class StateRecords extends Construct {
  /**
   * Whether the engine reads the state back at plan time: always with the
   * local backend (it looks for the file then); with any other backend only
   * when the state existed at synth. A JSON that reads nothing back cannot
   * tell "the state records no issuer" from "this JSON predates the state"
   * (two first deploys at once, the second applied after the first), so the
   * checks that need the records are left out of it; the commands' own checks
   * run before every apply.
   */
  public readonly readsBack: boolean;
  /** The `terraform_remote_state` data source (count 0 or 1). */
  public readonly remoteState: TerraformRemoteState;
  private readonly checks: StateRecordCheck[] = [];

  /**
   * The HCL expression of output `output` (or `output.attribute`) as the state records it, `fallback`
   * when it records none (no state yet, or a state older than the output): for
   * a {@link StateRecordCheck}.
   */
  public static recorded(output: string, fallback: string): string {
    checkOutputName("StateRecords.recorded output", output);
    return `try(self.outputs.${output}, ${hclString(fallback)})`;
  }

  public constructor(scope: Construct, id: string, props: StateRecordsProps) {
    super(scope, id);
    const stack = TerraformStack.of(this);
    const local = props.backend instanceof LocalBackend ? localStatePath(props.backend) : undefined;
    if (local !== undefined && !isAbsolute(local)) {
      throw new KeystoreValidationError(
        "stateDir",
        local,
        "is not an absolute path; expected one, since the engine reads the state from cdktf.out/stacks/keystore",
        this.node.path,
      );
    }
    this.remoteState = props.backend.getRemoteStateDataSource(this, STATE_RECORDS_DATA_SOURCE, stack.node.id);
    this.remoteState.overrideLogicalId(STATE_RECORDS_DATA_SOURCE);
    let count: string | number = props.stateExisted === false ? 0 : 1;
    if (local !== undefined) {
      const file = new TerraformVariable(this, STATE_FILE_VARIABLE, {
        type: "string",
        nullable: false,
        default: local,
        description: "The local state file, read back at plan time once it exists (set by synth; never override it)",
      });
      file.overrideLogicalId(STATE_FILE_VARIABLE);
      // Not fileexists: while the engine holds the lock on a first run, the local backend has created the file empty.
      count = `\${try(length(trimspace(file(var.${STATE_FILE_VARIABLE}))) > 0 ? 1 : 0, 0)}`;
    }
    this.remoteState.addOverride("count", count);
    this.readsBack = count !== 0;
    this.addRotationCheck(props.rotation ?? { phase: "idle" });
  }

  /**
   * The HCL expression of output `output` (or `output.attribute`) as the state
   * records it, for a condition elsewhere in the stack (a CA step's
   * precondition): `null` when the state records none (no state yet, or a
   * state older than the output).
   */
  public recordedOutput(output: string): string {
    checkOutputName("StateRecords.recordedOutput output", output);
    return `try(${this.remoteState.fqn}[0].outputs.${output}, null)`;
  }

  /** Adds a refusal: the plan fails with `errorMessage` when `condition` is false. */
  public addCheck(check: StateRecordCheck): void {
    if (check.condition.trim() === "" || check.errorMessage.trim() === "") {
      throw new KeystoreValidationError("StateRecords.addCheck", check, "has an empty condition or error message; expected both", this.node.path);
    }
    this.checks.push(check);
    this.remoteState.addOverride(
      "lifecycle.postcondition",
      this.checks.map((c) => ({ condition: `\${${c.condition}}`, error_message: c.errorMessage })),
    );
  }

  /**
   * The state must record the phase this JSON was built from or the one it
   * builds; any other means the rotation moved on since (a `rotate start`
   * after this JSON was synthesized), and applying it would undo that: delete
   * `crashplanUser-next` while Code42 may already hold its bundle.
   */
  private addRotationCheck(rotation: RotationInput): void {
    const allowed = [...new Set([rotation.recorded ?? rotation.phase, rotation.phase])];
    for (const phase of allowed) {
      if (!ROTATION_PHASES.includes(phase)) {
        throw new KeystoreValidationError("rotation.phase", phase, `is not a rotation phase; expected one of ${ROTATION_PHASES.join(", ")}`, this.node.path);
      }
    }
    const recorded = StateRecords.recorded(ROTATION_OUTPUT, "idle");
    const built = allowed.map((p) => `"${p}"`).join(" or ");
    this.addCheck({
      condition: `contains([${allowed.map(hclString).join(", ")}], ${recorded})`,
      errorMessage:
        `The state records admin certificate rotation phase "\${${recorded}}", but this configuration was synthesized for phase ${built}: ` +
        "applied, it would undo the rotation (and could delete crashplanUser-next while Code42 holds its bundle). Nothing was changed. " +
        "Synthesize again from the state (npm run deploy, npx cdktf deploy or npx cdktf synth) and plan again.",
    });
  }
}

function checkOutputName(setting: string, output: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/.test(output)) {
    throw new KeystoreValidationError(
      setting,
      output,
      "is not an output name (or output.attribute); expected letters, digits, '_' and '-', attributes after a '.'",
    );
  }
}

/** The path a local backend writes the state to, as synthesized. */
function localStatePath(backend: LocalBackend): string | undefined {
  const synthesized = backend.toTerraform() as { terraform?: { backend?: { local?: { path?: unknown } } } };
  const path = synthesized.terraform?.backend?.local?.path;
  return typeof path === "string" ? path : undefined;
}

/** `value` as an HCL string literal (HCL's escapes for quotes and backslashes are JSON's). */
function hclString(value: string): string {
  return JSON.stringify(value);
}
