import { VaultAnswer, VaultEndpoint, vaultCall } from "./client";
import { requireSuccess } from "./readers";
import { isRecord } from "./json";

/** What `sys/storage/raft/autopilot/state` says about a raft cluster's health. */
export interface AutopilotState {
  /** Every server healthy, as autopilot judges it. */
  readonly healthy: boolean;
  /** How many voters may fail with the cluster still electing a leader: (voters - 1) / 2 when all are healthy. */
  readonly failureTolerance: number;
  /** The node id of the leader. */
  readonly leader: string;
  /** Node ids of the voters, the leader included. */
  readonly voters: string[];
  /** Every server autopilot knows, by node id. */
  readonly servers: Record<string, AutopilotServer>;
}

/** One server in {@link AutopilotState}. */
export interface AutopilotServer {
  /** `leader`, `voter` or `non-voter`. */
  readonly status: string;
  readonly healthy: boolean;
  /** e.g. "127.0.0.1:41235" (the cluster address). */
  readonly address: string;
}

const ENDPOINT = "sys/storage/raft/autopilot/state";

function need<T>(from: Record<string, unknown>, name: string, is: (v: unknown) => boolean, expected: string): T {
  if (!is(from[name])) throw new Error(`${ENDPOINT}: field ${name} is not ${expected}`);
  return from[name] as T;
}
const isBoolean = (v: unknown) => typeof v === "boolean";
const isString = (v: unknown) => typeof v === "string";

/** Reads an answer of `sys/storage/raft/autopilot/state`, checking the fields it uses. */
export function readAutopilotState(answer: VaultAnswer): AutopilotState {
  const body = answer.json;
  const data = isRecord(body) ? body.data : undefined;
  if (!isRecord(data)) throw new Error(`${ENDPOINT} answered HTTP ${answer.status} without a data object`);
  const rawServers = need<Record<string, unknown>>(data, "servers", isRecord, "an object");
  const servers: Record<string, AutopilotServer> = {};
  for (const [id, s] of Object.entries(rawServers)) {
    if (!isRecord(s)) throw new Error(`${ENDPOINT}: servers.${id} is not an object`);
    servers[id] = {
      status: need<string>(s, "status", isString, "a string"),
      healthy: need<boolean>(s, "healthy", isBoolean, "a boolean"),
      address: need<string>(s, "address", isString, "a string"),
    };
  }
  return {
    healthy: need<boolean>(data, "healthy", isBoolean, "a boolean"),
    failureTolerance: need<number>(data, "failure_tolerance", (v) => typeof v === "number" && Number.isInteger(v), "an integer"),
    leader: need<string>(data, "leader", isString, "a string"),
    voters: need<string[]>(data, "voters", (v) => Array.isArray(v) && v.every(isString), "a list of strings"),
    servers,
  };
}

/** Asks `endpoint` (any node: standbys forward it) for the autopilot state; needs a token that may read it. */
export async function autopilotState(endpoint: VaultEndpoint, token: string): Promise<AutopilotState> {
  return readAutopilotState(requireSuccess(await vaultCall(endpoint, { path: ENDPOINT, token }), `reading ${ENDPOINT}`));
}

/** Whether `state` shows `voters` healthy voters and the failure tolerance such a cluster should have. */
export function isFullyReplicated(state: AutopilotState, voters: number): boolean {
  return state.healthy && state.voters.length === voters && state.failureTolerance === Math.floor((voters - 1) / 2);
}
