import { ClusterIdentity, describeCluster } from "../../lib/cluster-identity-record";
import { VaultEndpoint, endpointFromEnv, vaultCall, vaultToken } from "./client";
import { answerBody, answerData } from "./json";
import { requireSuccess } from "./readers";

/**
 * The cluster the server at `endpoint` belongs to: its token auth method's
 * accessor (`sys/mounts/auth/token`, read, as the stack reads it) and its id and
 * name (`sys/seal-status`, no token).
 */
export async function readClusterIdentity(endpoint: VaultEndpoint, token: string, signal?: AbortSignal): Promise<ClusterIdentity> {
  const [auth, seal] = await Promise.all([
    vaultCall(endpoint, { path: "sys/mounts/auth/token", token, signal }),
    vaultCall(endpoint, { path: "sys/seal-status", signal }),
  ]);
  requireSuccess(auth, "sys/mounts/auth/token (which cluster this is)");
  const accessor = answerData(auth, "sys/mounts/auth/token").accessor;
  if (typeof accessor !== "string" || accessor === "") throw new Error("sys/mounts/auth/token: field accessor is not a non-empty string");
  const status = answerBody(requireSuccess(seal, "sys/seal-status"), "sys/seal-status");
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return { tokenAccessor: accessor, clusterId: text(status.cluster_id), clusterName: text(status.cluster_name) };
}

/** Whether two readings name the same cluster (the token auth accessor binds; see lib/cluster-identity.ts). */
export function sameCluster(a: ClusterIdentity, b: ClusterIdentity): boolean {
  return a.tokenAccessor === b.tokenAccessor;
}

/**
 * The one-line refusal when VAULT_ADDR answers as another cluster than the one
 * the state at `where` was made on; `undefined` when it is the same one or the
 * state records none yet.
 */
export function otherClusterRefusal(addr: string, live: ClusterIdentity, recorded: ClusterIdentity | undefined, where: string): string | undefined {
  if (recorded === undefined || sameCluster(live, recorded)) return undefined;
  return (
    `VAULT_ADDR=${addr} answers as ${describeCluster(live)}, but the state ${where} belongs to ${describeCluster(recorded)}: ` +
    "point VAULT_ADDR (with VAULT_TOKEN and VAULT_CACERT) at that cluster; or, if this server holds a disaster restore of that keystore, " +
    "re-bind the state to it with `npm run rebind`. Nothing was changed."
  );
}

/**
 * For `cdktf synth/diff/deploy` (main.ts), which has no preflight: the cluster
 * VAULT_ADDR answers as, the refusal when the state at `where` belongs to
 * another (`recorded`, what it records), and the record the stack should write. Without VAULT_ADDR, or when the server does
 * not answer, nothing is known and nothing refused here: the engine then fails
 * to reach the server, or the stack's own check refuses the plan.
 */
export async function clusterForSynth(
  env: NodeJS.ProcessEnv,
  recorded: ClusterIdentity | undefined,
  where: string,
): Promise<{ readonly live?: ClusterIdentity; readonly refusal?: string; readonly toRecord?: ClusterIdentity }> {
  if (!env.VAULT_ADDR) return {};
  let live: ClusterIdentity;
  try {
    live = await readClusterIdentity(endpointFromEnv(env), vaultToken(env), AbortSignal.timeout(5000));
  } catch {
    return {};
  }
  // The state's own record when it names this cluster, as the commands build it (ops/engine/deployment.ts).
  const toRecord = recorded && sameCluster(recorded, live) ? recorded : live;
  return { live, refusal: otherClusterRefusal(env.VAULT_ADDR, live, recorded, where), toRecord };
}
