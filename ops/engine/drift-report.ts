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

/** The drift check's verdict; `drift --json` prints exactly this. */
export interface DriftReport {
  readonly inSync: boolean;
  readonly drifted: DriftedResource[];
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
  if (report.inSync) return "in sync: Vault matches the configuration\n";
  const lines = report.drifted.map((d) => {
    const where = paths.has(d.address) ? ` (${paths.get(d.address)})` : "";
    const what = d.attributes.length > 0 ? d.attributes.join(", ") : "whole resource";
    return `drift: ${d.address}${where}: ${d.actions.join("+")}: ${what}\n`;
  });
  return lines.join("");
}
