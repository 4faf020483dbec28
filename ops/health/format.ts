import { CheckResult, HealthReport, NAGIOS_EXIT } from "./report";

/** Every metric name starts with this. */
export const METRIC_PREFIX = "c42_keystore_";

/** The gauges a check may report, with their HELP text; a check's `values` use these names without the prefix. */
export const GAUGES: Readonly<Record<string, string>> = {
  server_cert_expiry_seconds: "Expiry of the Vault server's TLS certificate, Unix time",
  admin_cert_expiry_seconds: "Expiry of the admin certificate in crashplan.p12, Unix time",
  initialized: "1 when the server is initialised",
  sealed: "1 when the server is sealed",
  active: "1 when the probed node is the active node",
  raft_voters: "Raft voters autopilot counts",
  raft_failure_tolerance: "Voters that may fail with the cluster still electing a leader (autopilot)",
  raft_healthy: "1 when autopilot calls every server healthy",
  audit_devices: "Enabled audit devices",
  login_success: "1 when a login with crashplan.p12 over mTLS succeeded, else 0",
  login_token_ttl_seconds: "TTL of the token the login returned (revoked right after)",
  admin_rotation_in_progress: "1 while a two-phase rotation of the admin certificate is in progress (its second login role exists)",
  admin_next_cert_expiry_seconds: "Expiry of the next admin certificate during a rotation, Unix time",
  backup_age_seconds: "Age of the newest complete backup (its manifest's createdAt)",
  backup_verified: "1 when the newest backup was verified by a restore into a scratch server",
  backup_verify_failed: "1 when verify-backup found the newest backup damaged or incomplete",
  drift: "1 when Vault differs from the configuration (only with --drift)",
  drifted_resources: "Resources that differ from the configuration (only with --drift)",
};

/** The first line (as Nagios shows it), then one row per check: name, state, reason. */
export function formatHuman(report: HealthReport): string {
  const bad = report.checks.filter((c) => c.state !== "OK");
  const headline = bad.length === 0 ? `all ${report.checks.length} checks OK` : bad.map((c) => `${c.name} ${c.state}: ${c.reason}`).join("; ");
  const width = Math.max(5, ...report.checks.map((c) => c.name.length)) + 2;
  const rows = report.checks.map((c) => `${c.name.padEnd(width)}${c.state.padEnd(9)}${c.reason}`);
  return `KEYSTORE ${report.state} - ${headline}\n\n${"CHECK".padEnd(width)}${"STATE".padEnd(9)}REASON\n${rows.join("\n")}\n`;
}

/** The report as JSON, as `--json` prints it. */
export function formatJson(report: HealthReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

// Label values escape backslash, double quote and newline (exposition format).
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The Prometheus text exposition format, for node_exporter's textfile
 * collector: `up`, the overall and per-check status (0 OK, 1 WARN, 2 CRIT,
 * 3 UNKNOWN, as the exit codes), each check's duration, and every gauge a
 * check measured (a gauge a check could not measure is left out, not zero).
 */
export function formatPrometheus(report: HealthReport): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: ReadonlyArray<readonly [string, number]>) => {
    lines.push(`# HELP ${METRIC_PREFIX}${name} ${help}`, `# TYPE ${METRIC_PREFIX}${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${METRIC_PREFIX}${name}${labels} ${value}`);
  };
  const checkLabel = (c: CheckResult) => `{check="${label(c.name)}"}`;
  const tls = report.checks.find((c) => c.name === "tls");
  gauge("up", "1 when the Vault API answered a TLS handshake with a certificate trusted by VAULT_CACERT, else 0", [["", tls?.values.up ?? 0]]);
  gauge("status", "Worst check state: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN (the probe's exit code)", [["", NAGIOS_EXIT[report.state]]]);
  gauge(
    "check_status",
    "State of one check: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN",
    report.checks.map((c) => [checkLabel(c), NAGIOS_EXIT[c.state]] as const),
  );
  gauge(
    "check_duration_seconds",
    "Time one check took",
    report.checks.map((c) => [checkLabel(c), c.seconds] as const),
  );
  gauge("probe_timestamp_seconds", "When the probe ran, Unix time", [["", Math.floor(new Date(report.time).getTime() / 1000)]]);
  for (const [name, help] of Object.entries(GAUGES)) {
    const samples = report.checks.filter((c) => c.values[name] !== undefined).map((c) => ["", c.values[name]] as const);
    if (samples.length > 0) gauge(name, help, samples);
  }
  return `${lines.join("\n")}\n`;
}
