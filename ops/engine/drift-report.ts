import { PlanJson, changedAttributes, isNoOp } from "./plan-json";

/** A difference a plan cannot see (a provider blind spot): where it is, never its values. */
export interface AttributeDrift {
  /** Terraform address of the resource, e.g. `vault_auth_backend.certAuth_backend_E3AD8DCF`. */
  readonly address: string;
  /** The attribute that differs, e.g. `tune.default_lease_ttl`. */
  readonly attribute: string;
}

/** One resource that differs from the configuration: names only, never values. */
export interface DriftedResource {
  /** Terraform address, e.g. `vault_policy.policy_03D53757`. */
  readonly address: string;
  /** What a deploy would do (`update`, `create`, `delete`+`create`…), else what changed outside Terraform. */
  readonly actions: string[];
  /** Attributes that differ; empty when the whole resource is missing or new. */
  readonly attributes: string[];
}

/** Another cert role that accepts the admin certificate: Code42's nameless login could land there (ops/lifecycle/shadowing.ts). */
export interface CertRoleShadow {
  /** The role's name, e.g. `c42-load-client`. */
  readonly role: string;
  /** The policies its tokens carry. */
  readonly policies: string[];
  /** Which certificate it accepts and how, e.g. `admin certificate 1a:2b:… (pins it)`. */
  readonly accepts: string;
  /** What to do: such a role is reported, never removed (it may be Code42's own). */
  readonly advice: string;
}

/** The drift check's verdict; `drift --json` prints exactly this. */
export interface DriftReport {
  readonly inSync: boolean;
  readonly drifted: DriftedResource[];
  /** Other cert roles that accept the admin certificate; present only when there is one (then `inSync` is false). */
  readonly shadowing?: CertRoleShadow[];
  /** Why the cert roles could not be read for shadowing (the token may not list them); present only then. */
  readonly shadowingNotChecked?: string;
}

/** The report with the shadowing roles added: any makes it out of sync, since Code42's login is at stake. */
export function withShadowing(report: DriftReport, shadowing: readonly CertRoleShadow[]): DriftReport {
  if (shadowing.length === 0) return report;
  return { ...report, inSync: false, shadowing: [...shadowing] };
}

/** One line per shadowing role: name, policies, what it accepts, what to do. */
export function formatShadowing(shadowing: readonly CertRoleShadow[], prefix: string): string {
  return shadowing
    .map((s) => `${prefix}: cert role ${s.role} (policies ${s.policies.length > 0 ? s.policies.join(", ") : "none"}) accepts the ${s.accepts}: ${s.advice}\n`)
    .join("");
}

/**
 * Builds the report from a plan: every resource the plan would change, every
 * resource changed outside Terraform (ignoring changes between empty forms),
 * and the differences a plan cannot see (`blind`), merged by address.
 */
export function buildDriftReport(plan: PlanJson, blind: readonly AttributeDrift[] = []): DriftReport {
  const byAddress = new Map<string, { actions: string[]; attributes: Set<string> }>();
  const add = (address: string, actions: string[], attributes: string[], planned: boolean) => {
    const entry = byAddress.get(address);
    if (!entry) {
      byAddress.set(address, { actions: [...actions], attributes: new Set(attributes) });
      return;
    }
    if (planned) entry.actions = [...actions];
    attributes.forEach((a) => entry.attributes.add(a));
  };
  for (const r of plan.resource_drift ?? []) {
    if (isNoOp(r.change.actions)) continue;
    const attributes = changedAttributes(r.change);
    const wholeResource = r.change.before === null || r.change.after === null;
    if (wholeResource || attributes.length > 0) add(r.address, r.change.actions, attributes, false);
  }
  for (const r of plan.resource_changes ?? []) {
    if (!isNoOp(r.change.actions)) add(r.address, r.change.actions, changedAttributes(r.change), true);
  }
  for (const b of blind) add(b.address, ["update"], [b.attribute], false);
  const drifted = [...byAddress.entries()]
    .map(([address, e]) => ({ address, actions: e.actions, attributes: [...e.attributes].sort() }))
    .sort((a, b) => a.address.localeCompare(b.address));
  return { inSync: drifted.length === 0, drifted };
}

/** One line per drifted resource: address, construct path, actions and attributes. */
export function formatDriftReport(report: DriftReport, paths: ReadonlyMap<string, string> = new Map()): string {
  const note = report.shadowingNotChecked ? `note: ${report.shadowingNotChecked}\n` : "";
  if (report.inSync) return `in sync: Vault matches the configuration\n${note}`;
  const shadowing = formatShadowing(report.shadowing ?? [], "shadow");
  const lines = report.drifted.map((d) => {
    const where = paths.has(d.address) ? ` (${paths.get(d.address)})` : "";
    const what = d.attributes.length > 0 ? d.attributes.join(", ") : "whole resource";
    return `drift: ${d.address}${where}: ${d.actions.join("+")}: ${what}\n`;
  });
  return lines.join("") + shadowing + note;
}
