import { ROTATION_OUTPUT } from "../../../lib/admin-rotation-phase";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../../lib/bundle-output-names";
import { recordedRotationPhase, rotationView } from "../../../ops/engine/rotation-record";

const current = { [BUNDLE_OUTPUTS.serialNumber]: { value: "0a:01" }, [BUNDLE_OUTPUTS.expiration]: { value: 1_800_000_000 } };
const next = { [NEXT_BUNDLE_OUTPUTS.serialNumber]: { value: "0b:02" }, [NEXT_BUNDLE_OUTPUTS.expiration]: { value: 1_800_000_060 } };

describe("recordedRotationPhase", () => {
  test("a state without the output (fresh, or from before rotations) is idle", () => {
    expect(recordedRotationPhase({})).toBe("idle");
    expect(recordedRotationPhase({ [ROTATION_OUTPUT]: { value: null } })).toBe("idle");
  });

  test.each(["idle", "started", "finishing"])("reads %s", (phase) => {
    expect(recordedRotationPhase({ [ROTATION_OUTPUT]: { value: phase } })).toBe(phase);
  });

  test("anything else is an error naming the output and the phases", () => {
    expect(() => recordedRotationPhase({ [ROTATION_OUTPUT]: { value: "paused" } })).toThrow(
      'output admin_rotation_phase holds "paused"; expected one of idle, started, finishing (was the state edited by hand?)',
    );
  });
});

describe("rotationView", () => {
  test("idle: the current certificate only, not in progress", () => {
    expect(rotationView({ ...current, [ROTATION_OUTPUT]: { value: "idle" } })).toEqual({
      phase: "idle",
      inProgress: false,
      current: { serial: "0a:01", notAfter: "2027-01-15T08:00:00.000Z" },
      next: undefined,
    });
  });

  test("started: both serials and expiries, in progress", () => {
    expect(rotationView({ ...current, ...next, [ROTATION_OUTPUT]: { value: "started" } })).toEqual({
      phase: "started",
      inProgress: true,
      current: { serial: "0a:01", notAfter: "2027-01-15T08:00:00.000Z" },
      next: { serial: "0b:02", notAfter: "2027-01-15T08:01:00.000Z" },
    });
  });

  test("finishing is in progress; no outputs at all (external root CA before signing) has no certificate", () => {
    expect(rotationView({ ...current, [ROTATION_OUTPUT]: { value: "finishing" } }).inProgress).toBe(true);
    expect(rotationView({})).toEqual({ phase: "idle", inProgress: false, current: undefined, next: undefined });
  });
});
