import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GAUGES, formatHuman, formatPrometheus } from "../../../ops/health/format";
import { CheckResult, HealthState, buildReport, worstState } from "../../../ops/health/report";
import { parsePrometheus, sampleValue } from "../../helpers/prometheus";

const result = (name: string, state: HealthState, values: Record<string, number> = {}, reason = `${name} reason`): CheckResult => ({
  name,
  state,
  reason,
  values,
  seconds: 0.25,
});

describe("worst state and Nagios exit code", () => {
  test.each([
    [[], "OK", 0],
    [["OK", "OK"], "OK", 0],
    [["OK", "UNKNOWN"], "UNKNOWN", 3],
    [["UNKNOWN", "WARN"], "WARN", 1],
    [["WARN", "CRIT", "UNKNOWN"], "CRIT", 2],
  ] as [HealthState[], HealthState, number][])("%j → %s (exit %d)", (states, worst, exit) => {
    expect(worstState(states)).toBe(worst);
    expect(
      buildReport(
        new Date(0),
        states.map((s, i) => result(`c${i}`, s)),
      ).exitCode,
    ).toBe(exit);
  });
});

describe("human output", () => {
  test("the first line is the Nagios status line: the state and every check that is not OK", () => {
    const report = buildReport(new Date(0), [result("tls", "OK"), result("login", "CRIT", {}, "refused"), result("audit", "UNKNOWN", {}, "no token")]);
    const lines = formatHuman(report).split("\n");
    expect(lines[0]).toBe("KEYSTORE CRIT - login CRIT: refused; audit UNKNOWN: no token");
    expect(lines.slice(2, 6)).toEqual(["CHECK  STATE    REASON", "tls    OK       tls reason", "login  CRIT     refused", "audit  UNKNOWN  no token"]);
  });

  test("all OK says how many checks ran", () => {
    expect(formatHuman(buildReport(new Date(0), [result("tls", "OK"), result("node", "OK")])).split("\n")[0]).toBe("KEYSTORE OK - all 2 checks OK");
  });
});

describe("Prometheus output", () => {
  const report = buildReport(new Date("2026-01-02T03:04:05.678Z"), [
    result("tls", "OK", { up: 1, server_cert_expiry_seconds: 1867028907 }),
    result("raft", "WARN", { raft_voters: 3, raft_failure_tolerance: 0 }),
    result("audit", "UNKNOWN"),
    result('odd"name\\', "OK"),
  ]);

  test("a real parser reads every family as a gauge with the values given", () => {
    const families = parsePrometheus(formatPrometheus(report));
    expect(families.every((f) => f.type === "GAUGE" && f.help !== "")).toBe(true);
    expect(sampleValue(families, "c42_keystore_up")).toBe(1);
    expect(sampleValue(families, "c42_keystore_status")).toBe(1);
    expect(sampleValue(families, "c42_keystore_check_status", { check: "raft" })).toBe(1);
    expect(sampleValue(families, "c42_keystore_check_status", { check: "audit" })).toBe(3);
    expect(sampleValue(families, "c42_keystore_check_status", { check: 'odd"name\\' })).toBe(0);
    expect(sampleValue(families, "c42_keystore_check_duration_seconds", { check: "tls" })).toBe(0.25);
    expect(sampleValue(families, "c42_keystore_server_cert_expiry_seconds")).toBe(1867028907);
    expect(sampleValue(families, "c42_keystore_raft_voters")).toBe(3);
    expect(sampleValue(families, "c42_keystore_probe_timestamp_seconds")).toBe(Date.parse("2026-01-02T03:04:05Z") / 1000);
  });

  test("a gauge no check measured is left out rather than reported as 0", () => {
    const names = parsePrometheus(formatPrometheus(report)).map((f) => f.name);
    expect(names).not.toContain("c42_keystore_audit_devices");
    expect(names).not.toContain("c42_keystore_login_success");
  });

  test("up is 0 when the TLS check measured nothing (it timed out)", () => {
    const down = buildReport(new Date(0), [result("tls", "CRIT")]);
    expect(sampleValue(parsePrometheus(formatPrometheus(down)), "c42_keystore_up")).toBe(0);
  });
});

test("every metric the example alert rules use is one the probe writes", () => {
  const everything = buildReport(new Date(0), [result("tls", "OK", Object.fromEntries(Object.keys(GAUGES).map((g) => [g, 1])))]);
  const written = new Set(parsePrometheus(formatPrometheus(everything)).map((f) => f.name));
  const rules = readFileSync(join(__dirname, "..", "..", "..", "examples", "monitoring", "c42-keystore-alerts.yml"), "utf8");
  const used = [...new Set(rules.match(/c42_keystore_[a-z_]+/g))];
  expect(used.length).toBeGreaterThanOrEqual(6);
  expect(used.filter((m) => !written.has(m))).toEqual([]);
});
