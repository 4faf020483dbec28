import { Construct } from "constructs";
import { TerraformOutput, TerraformResource } from "cdktf";
import { DataVaultPkiSecretBackendIssuers } from "@cdktf/provider-vault/lib/data-vault-pki-secret-backend-issuers";
import { IPkiMount } from "./pki-mount";
import { StateRecords } from "./state-records";

/** Properties of an {@link IssuerGuard}. */
export interface IssuerGuardProps {
  /** The mount a CA step of this stack adds an issuer to. */
  readonly mount: IPkiMount;
  /** What the state records, read back at plan time: the record below is one of its outputs. */
  readonly records: StateRecords;
  /**
   * The output (of this stack) that records the issuers the stack made on the
   * mount ({@link IssuerGuard.record}), read back at plan time.
   */
  readonly output: string;
  /**
   * The output whose presence tells a state that completed an apply before
   * this record existed: its issuers are then taken as recorded, as before.
   */
  readonly presentSinceFirstApply: string;
}

/**
 * Issue 23: on a PKI mount that already holds an issuer, Vault's
 * `root/generate/internal` and `intermediate/set-signed` do not fail: they add
 * another issuer beside it, silently. That happens when a deploy was killed
 * after the CA step and before its state was written (the next plan makes the
 * CA again), with a state from elsewhere, or a keystore built by hand.
 *
 * This guard says it in the stack, so the engine refuses such a plan whoever
 * runs it (`npm run deploy`, `cdktf deploy`, a raw `tofu plan`/`apply` of
 * cdktf.out): it lists the mount's issuers (`vault_pki_secret_backend_issuers`,
 * read at plan time once the mount exists; in the apply, before the CA step,
 * when the mount is made by it) and a precondition on each CA step refuses
 * while the mount holds an issuer the state does not record and none it does.
 * The record is an output per mount, read back at plan time with the state's
 * other records. What remains: a state edited by hand (`state rm` of a CA
 * keeps its record) is believed.
 */
export class IssuerGuard extends Construct {
  /** The mount's issuers as Vault lists them. */
  public readonly issuers: DataVaultPkiSecretBackendIssuers;
  private readonly props: IssuerGuardProps;

  public constructor(scope: Construct, id: string, props: IssuerGuardProps) {
    super(scope, id);
    this.props = props;
    this.issuers = new DataVaultPkiSecretBackendIssuers(this, "issuers", { backend: props.mount.path });
  }

  /**
   * Records `ids` (an HCL list expression) as the issuers this stack made on
   * the mount, in the output {@link IssuerGuardProps.output}: one output per
   * mount, so that an apply that fails after the first CA step still records it.
   */
  public record(ids: string): TerraformOutput {
    const output = new TerraformOutput(this, "record", {
      value: `\${${ids}}`,
      description: `The CA issuers this stack made on the mount (ids): a plan refuses a CA step there while the mount holds any other`,
    });
    output.overrideLogicalId(this.props.output);
    return output;
  }

  /**
   * Refuses a plan in which `step` (a resource that makes a CA on the mount)
   * is to be made while the mount holds an issuer the state does not record.
   * A step the state records is known by its issuer still being on the mount:
   * then nothing is made, and other issuers there are left alone.
   */
  public guard(step: TerraformResource, makes: string): void {
    // An empty mount: Vault answers 404 and the provider leaves `keys` null.
    const keys = `(${this.issuers.fqn}.keys == null ? [] : ${this.issuers.fqn}.keys)`;
    const record = this.props.records.recordedOutput(this.props.output);
    const before = this.props.records.recordedOutput(this.props.presentSinceFirstApply);
    // A state written by an import records the outputs of resources it does not hold yet as null.
    const recordedOrBefore = `(${record} != null ? ${record} : ${before} != null ? ${keys} : [])`;
    const recorded = `[for id in ${recordedOrBefore} : id if id != null]`;
    const unrecorded = `[for id in ${keys} : id if !contains(${recorded}, id)]`;
    step.addOverride("lifecycle.precondition", [
      {
        // The state's own issuer still on the mount: the step is not made again (a no-op), whatever else the mount holds.
        condition: `\${length(${unrecorded}) == 0 || anytrue([for id in ${recorded} : contains(${keys}, id)])}`,
        error_message:
          `${this.props.mount.path}/ already holds issuer \${join(", ", ${unrecorded})}, which the state does not record, and this configuration makes ${makes} there (${step.terraformResourceType}): ` +
          "Vault would add another issuer beside it, silently. Nothing was changed. " +
          "If a deploy of this checkout was interrupted, run it again (npm run deploy or npx cdktf deploy takes over what that run made); " +
          "otherwise bring the existing CA under management without replacing it: npm run adopt",
      },
    ]);
  }
}
