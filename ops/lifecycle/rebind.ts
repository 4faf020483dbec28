import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterIdentity, describeCluster } from "../../lib/cluster-identity-record";
import { Deployment } from "../engine/deployment";

/** What {@link rebind} did. */
export interface RebindOutcome {
  /** The cluster the state recorded before (`undefined`: none). */
  readonly from?: ClusterIdentity;
  /** The cluster it records now. */
  readonly to: ClusterIdentity;
  /** False when the state already belonged to `to`: nothing was written. */
  readonly rebound: boolean;
}

/** The server does not hold what the state records; nothing was changed. */
export class RebindRefused extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "RebindRefused";
  }
}

/**
 * Binds the state to the cluster VAULT_ADDR answers as (`live`), after a
 * disaster restore of the keystore into a server of another identity. Safe
 * by construction: a refresh-only plan is written first (nothing persisted),
 * and refused when the server lacks any object the state records, which is
 * what a refresh on the wrong server would drop; otherwise exactly that plan
 * is applied: the state's resources as the server holds them, and the new
 * cluster record. Vault is only read.
 */
export async function rebind(deployment: Deployment, live: ClusterIdentity): Promise<RebindOutcome> {
  deployment.useCluster(live);
  deployment.rebinding = true;
  await deployment.requireState();
  const from = await deployment.recordedCluster();
  if (from?.tokenAccessor === live.tokenAccessor) return { from, to: live, rebound: false };
  const dir = mkdtempSync(join(tmpdir(), "c42-rebind-"));
  try {
    const file = join(dir, "rebind.tfplan");
    await deployment.planOk(["-refresh-only", `-out=${file}`]);
    const plan = await deployment.showPlan(file);
    const gone = (plan.resource_drift ?? []).filter((r) => r.change.actions.includes("delete")).map((r) => r.address);
    if (gone.length > 0) {
      throw new RebindRefused(
        `${deployment.env.VAULT_ADDR} (${describeCluster(live)}) does not hold ${gone.length} of the objects the state ${deployment.stateWhere} records ` +
          `(${gone.join(", ")}): it is not a restore of this state's keystore, and binding the state to it would drop them. Nothing was changed`,
      );
    }
    await deployment.applyPlan(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { from, to: live, rebound: true };
}
