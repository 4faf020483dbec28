import { isFullyReplicated, readAutopilotState } from "../../../ops/vault/autopilot";

/** A `sys/storage/raft/autopilot/state` answer as OpenBao 2.4 gives it for three nodes (fields we do not read trimmed). */
const answer = (over: Record<string, unknown> = {}) => ({
  status: 200,
  json: {
    data: {
      healthy: true,
      failure_tolerance: 1,
      leader: "c42-node-1",
      voters: ["c42-node-1", "c42-node-2", "c42-node-3"],
      servers: {
        "c42-node-1": { id: "c42-node-1", status: "leader", healthy: true, address: "127.0.0.1:40001", node_status: "alive" },
        "c42-node-2": { id: "c42-node-2", status: "voter", healthy: true, address: "127.0.0.1:40003", node_status: "alive" },
        "c42-node-3": { id: "c42-node-3", status: "voter", healthy: true, address: "127.0.0.1:40005", node_status: "alive" },
      },
      ...over,
    },
  },
});

describe("readAutopilotState", () => {
  test("reads health, tolerance, leader, voters and each server's status", () => {
    const state = readAutopilotState(answer());
    expect(state).toEqual({
      healthy: true,
      failureTolerance: 1,
      leader: "c42-node-1",
      voters: ["c42-node-1", "c42-node-2", "c42-node-3"],
      servers: {
        "c42-node-1": { status: "leader", healthy: true, address: "127.0.0.1:40001" },
        "c42-node-2": { status: "voter", healthy: true, address: "127.0.0.1:40003" },
        "c42-node-3": { status: "voter", healthy: true, address: "127.0.0.1:40005" },
      },
    });
    expect(isFullyReplicated(state, 3)).toBe(true);
  });

  test("a voter short, a lower tolerance or an unhealthy cluster is not fully replicated", () => {
    expect(isFullyReplicated(readAutopilotState(answer({ voters: ["c42-node-1", "c42-node-2"] })), 3)).toBe(false);
    expect(isFullyReplicated(readAutopilotState(answer({ failure_tolerance: 0 })), 3)).toBe(false);
    expect(isFullyReplicated(readAutopilotState(answer({ healthy: false })), 3)).toBe(false);
  });

  test("a wrong shape fails naming the endpoint and the field, never the body", () => {
    expect(() => readAutopilotState({ status: 403, json: { errors: ["permission denied"] } })).toThrow(
      "sys/storage/raft/autopilot/state answered HTTP 403 without a data object",
    );
    expect(() => readAutopilotState(answer({ failure_tolerance: "1" }))).toThrow("sys/storage/raft/autopilot/state: field failure_tolerance is not an integer");
    expect(() => readAutopilotState(answer({ voters: "c42-node-1" }))).toThrow("field voters is not a list of strings");
    expect(() => readAutopilotState(answer({ servers: { a: { status: "voter", healthy: "yes", address: "x" } } }))).toThrow("field healthy is not a boolean");
  });
});
