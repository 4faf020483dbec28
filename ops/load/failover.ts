import { readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterStatus } from "../server/cluster";
import { LAYOUT, TLS } from "../server/layout";
import { signal } from "../server/process";
import { VaultEndpoint, vaultCall } from "../vault/client";
import { LoadOptions, LoadRun, WriteRecord, runLoad } from "./load";

/** What {@link loadWithLeaderKill} measured. */
export interface FailoverRun {
  readonly run: LoadRun;
  /** The node that was active and was SIGKILLed, and its pid. */
  readonly killed: { readonly nodeId: string; readonly pid: number };
  /** Writes acknowledged before the kill. */
  readonly acknowledgedBeforeKill: number;
  /** Milliseconds from the kill to the first acknowledgement of a write sent after it (the new leader serving). */
  readonly firstWriteAfterKillMs?: number;
  /** Requests that failed, of every kind. */
  readonly failedRequests: number;
  /** Acknowledged writes that a survivor does not return with their value: `<node> <path> <why>`. Must be empty. */
  readonly lost: string[];
}

/**
 * Runs the load against every node of the local cluster in `clusterDir`
 * (the active node first; or only against `through`, e.g. its load balancer), SIGKILLs the active node once `killAfterWrites`
 * writes are acknowledged, lets the load finish on the survivors, then reads
 * every acknowledged key back from each survivor with the cluster's root
 * token and reports any that is missing or different.
 */
export async function loadWithLeaderKill(
  clusterDir: string,
  killAfterWrites: number,
  load: Omit<LoadOptions, "endpoints" | "onWriteAcknowledged">,
  through?: readonly VaultEndpoint[],
): Promise<FailoverRun> {
  const caPem = readFileSync(join(clusterDir, LAYOUT.tls, TLS.caCert), "utf8");
  const status = await clusterStatus(clusterDir);
  const active = status.nodes.find((n) => n.role === "active");
  if (!active || active.pid === undefined) throw new Error(`no active node in ${clusterDir}: ${status.nodes.map((n) => `${n.nodeId} ${n.role}`).join(", ")}`);
  const killed = { nodeId: active.nodeId, pid: active.pid };
  const order = [active, ...status.nodes.filter((n) => n !== active)];
  const endpoint = (addr: string): VaultEndpoint => ({ addr, caPem });
  let killedAt = 0;
  let acknowledgedBeforeKill = 0;
  let firstAfter: number | undefined;
  const run = await runLoad({
    ...load,
    endpoints: through ?? order.map((n) => endpoint(n.addr)),
    onWriteAcknowledged: (acknowledged, sentAt) => {
      if (killedAt === 0 && acknowledged >= killAfterWrites) {
        signal(killed.pid, "SIGKILL");
        killedAt = Date.now();
        acknowledgedBeforeKill = acknowledged;
      } else if (killedAt !== 0 && firstAfter === undefined && sentAt > killedAt) {
        // Writes sent before the kill may still be acknowledged by the dying leader; only a write sent after it shows a leader serving.
        firstAfter = Date.now() - killedAt;
      }
    },
  });
  const token = readFileSync(join(clusterDir, LAYOUT.rootToken), "utf8").trim();
  const lost: string[] = [];
  for (const survivor of order.slice(1)) lost.push(...(await readBack(endpoint(survivor.addr), token, run.writes)).map((l) => `${survivor.nodeId} ${l}`));
  const r = run.report;
  return {
    run,
    killed,
    acknowledgedBeforeKill,
    firstWriteAfterKillMs: firstAfter,
    failedRequests: r.write.failed + r.read.failed + r.login.failed,
    lost,
  };
}

/** Reads every acknowledged write back through `endpoint`; returns `<path> <why>` for each that is missing or different. */
export async function readBack(endpoint: VaultEndpoint, token: string, writes: readonly WriteRecord[]): Promise<string[]> {
  const lost: string[] = [];
  for (const w of writes.filter((w) => w.acknowledged)) {
    const answer = await vaultCall(endpoint, { path: w.path, token });
    const data = (answer.json as { data?: { archiveKey?: unknown } } | undefined)?.data;
    if (answer.status !== 200) lost.push(`${w.path} HTTP ${answer.status}`);
    else if (data?.archiveKey !== w.archiveKey) lost.push(`${w.path} holds another value`);
  }
  return lost;
}
