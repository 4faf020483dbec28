import { Construct } from "constructs";
import { Fn, Op, TerraformOutput } from "cdktf";
import { DataVaultGenericSecret } from "@cdktf/provider-vault/lib/data-vault-generic-secret";
import { CLUSTER_OUTPUT, ClusterIdentity } from "./cluster-identity-record";
import { StateRecordCheck, StateRecords } from "./state-records";

/** The live read of the cluster's token auth method: `data.vault_generic_secret.c42_cluster_token_auth`. */
export const CLUSTER_DATA_SOURCE = "c42_cluster_token_auth";

/** Properties of a {@link ClusterRecord}. */
export interface ClusterRecordProps {
  /**
   * The cluster at VAULT_ADDR as the command that synthesizes read it. Its id
   * and name are recorded only if the engine then finds the same token
   * accessor (a JSON applied elsewhere records the accessor alone).
   * @default - the accessor alone is recorded
   */
  readonly known?: ClusterIdentity;
}

/**
 * Records in the state which cluster it was made on: the token auth method
 * read at plan time (`data.vault_generic_secret` of `sys/mounts/auth/token`) and the
 * {@link CLUSTER_OUTPUT} output. {@link sameClusterCheck} is the check that
 * stops a plan on another cluster before any refresh is persisted.
 */
export class ClusterRecord extends Construct {
  /** The token auth method's mount of the cluster the engine talks to. */
  public readonly tokenAuth: DataVaultGenericSecret;
  /** Its accessor (not a secret: the generic read marks every value sensitive). */
  public readonly tokenAccessor: string;

  public constructor(scope: Construct, id: string, props: ClusterRecordProps = {}) {
    super(scope, id);
    this.tokenAuth = new DataVaultGenericSecret(this, "tokenAuth", { path: "sys/mounts/auth/token", withLeaseStartTime: false });
    // A fixed address, so that checks over the state's records can name the live accessor in their text.
    this.tokenAuth.overrideLogicalId(CLUSTER_DATA_SOURCE);
    this.tokenAccessor = Fn.nonsensitive(this.tokenAuth.data.lookup("accessor"));
    const known = props.known;
    const same = known ? Op.eq(this.tokenAccessor, known.tokenAccessor) : undefined;
    const ifSame = (value: string | undefined) => (same && value ? Fn.conditional(same, value, "") : "");
    new TerraformOutput(this, CLUSTER_OUTPUT, {
      value: { tokenAccessor: this.tokenAccessor, clusterId: ifSame(known?.clusterId), clusterName: ifSame(known?.clusterName) },
      description: "The Vault cluster this state belongs to (its token auth method's accessor, and its id and name); npm run rebind moves it",
    }).overrideLogicalId(CLUSTER_OUTPUT);
  }

  /**
   * The refusal for {@link StateRecords}: the plan fails, inside the engine
   * whoever runs it (a raw `tofu plan` in cdktf.out, a CI job, `cdktf
   * deploy`), when the engine talks to another cluster than the one the state
   * records, before any refresh there is persisted. A state that records no
   * cluster yet (made before the record existed) passes, and is bound by its
   * next apply.
   */
  public sameClusterCheck(): StateRecordCheck {
    const recorded = (field: keyof ClusterIdentity) => StateRecords.recorded(`${CLUSTER_OUTPUT}.${field}`, "");
    const live = `nonsensitive(data.vault_generic_secret.${CLUSTER_DATA_SOURCE}.data["accessor"])`;
    return {
      condition: `contains(["", ${live}], ${recorded("tokenAccessor")})`,
      errorMessage:
        `This state belongs to the Vault cluster whose token auth is \${${recorded("tokenAccessor")}} ` +
        `(name "\${${recorded("clusterName")}}", id "\${${recorded("clusterId")}}"), but the engine talks to the cluster whose token auth is \${${live}}: ` +
        "a refresh there would drop from the state everything that server lacks, the admin key among it. " +
        "Point VAULT_ADDR (with VAULT_TOKEN and VAULT_CACERT) at the state's cluster; or, after a disaster restore into a new server, " +
        "re-bind the state to it with npm run rebind. Nothing was changed.",
    };
  }
}
