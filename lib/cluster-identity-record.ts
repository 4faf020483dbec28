/** The state output that records which Vault cluster the state belongs to. */
export const CLUSTER_OUTPUT = "c42_cluster";

/**
 * Which Vault cluster a server belongs to. The token auth method's accessor is
 * what binds: every cluster makes its own at initialisation (it cannot be
 * disabled, and two clusters share one only when one holds a snapshot of the
 * other), a restored snapshot keeps it, and the Vault provider can read it at
 * plan time (`sys/mounts/auth/token`, which needs read and no sudo). The cluster id and name are what people know a cluster by (`bao
 * status`); the provider cannot read them, so they are given at synth.
 */
export interface ClusterIdentity {
  /** `auth_token_…`: the accessor of the cluster's token auth method. */
  readonly tokenAccessor: string;
  /** The cluster id (`sys/health`); empty when unknown. */
  readonly clusterId: string;
  /** The cluster name (`sys/health`); empty when unknown. */
  readonly clusterName: string;
}

/** Reads the {@link CLUSTER_OUTPUT} output's value; `undefined` when the state records none. */
export function parseClusterRecord(value: unknown): ClusterIdentity | undefined {
  if (value === undefined || value === null) return undefined;
  const record = value as Partial<Record<keyof ClusterIdentity, unknown>>;
  if (typeof record !== "object" || typeof record.tokenAccessor !== "string" || record.tokenAccessor === "") {
    throw new Error(`output ${CLUSTER_OUTPUT} is not a cluster record (was the state edited by hand?)`);
  }
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return { tokenAccessor: record.tokenAccessor, clusterId: text(record.clusterId), clusterName: text(record.clusterName) };
}

/** How a message names a cluster: `vault-cluster-1a2b3c4d (id 5e6f…, token auth auth_token_9a8b7c6d)`. */
export function describeCluster(c: ClusterIdentity): string {
  if (c.clusterId === "") return `the cluster whose token auth is ${c.tokenAccessor}`;
  return `${c.clusterName || "cluster"} (id ${c.clusterId}, token auth ${c.tokenAccessor})`;
}
