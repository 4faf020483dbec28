import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BundleIo } from "./bundle";
import { BlindSpotDrift, certAuthTuneDrift } from "./cert-auth-tune";
import { Deployment, PlanJson, ResourceChange } from "./deployment";

/** One resource that differs from the configuration: names only, never values. */
export interface DriftedResource {
  /** Terraform address, e.g. `vault_policy.policy_03D53757`. */
  readonly address: string;
  /** What a deploy would do (`update`, `create`, `delete`+`create`…), else what changed outside Terraform. */
  readonly actions: string[];
  /** Attributes that differ; empty when the whole resource is missing or new. */
  readonly attributes: string[];
}

/** The drift check's verdict; `--json` prints exactly this. */
export interface DriftReport {
  readonly inSync: boolean;
  readonly drifted: DriftedResource[];
}

/**
 * Collapses the empty forms a provider uses interchangeably (null, "", [],
 * {}) into null, recursively, so that a refresh turning `null` into `[]`
 * right after a create does not count as drift.
 */
export function normalizeValue(value: unknown): unknown {
  if (value === null || value === undefined || value === "") return null;
  if (Array.isArray(value)) return value.length === 0 ? null : value.map(normalizeValue);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = normalizeValue((value as Record<string, unknown>)[key]);
      if (v !== null) out[key] = v;
    }
    return Object.keys(out).length === 0 ? null : out;
  }
  return value;
}

/** True when two plan values differ by more than their empty forms. */
export function valuesDiffer(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalizeValue(a)) !== JSON.stringify(normalizeValue(b));
}

/**
 * Names of the top-level attributes a change touches: those whose before and
 * after differ, or whose after is only known at apply time. Empty when the
 * resource is created or deleted as a whole.
 */
export function changedAttributes(change: ResourceChange["change"]): string[] {
  const { before, after } = change;
  if (before === null || after === null) return [];
  const unknown = change.after_unknown ?? {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)]);
  return [...keys].filter((k) => isUnknown(unknown[k]) || valuesDiffer(before[k], after[k])).sort();
}

function isUnknown(marker: unknown): boolean {
  if (marker === true) return true;
  if (Array.isArray(marker)) return marker.some(isUnknown);
  if (marker !== null && typeof marker === "object") return Object.values(marker).some(isUnknown);
  return false;
}

const isNoOp = (actions: string[]) => actions.every((a) => a === "no-op" || a === "read");

/**
 * Builds the report from a plan: every resource the plan would change, every
 * resource changed outside Terraform (ignoring changes between empty forms),
 * and the differences a plan cannot see (`blind`), merged by address.
 */
export function buildDriftReport(plan: PlanJson, blind: readonly BlindSpotDrift[] = []): DriftReport {
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

/**
 * Plans into a private temporary directory and returns the plan's JSON. The
 * plan file embeds the state, private keys included: the directory is 0700
 * and removed before this returns.
 */
export async function planJson(deployment: Deployment): Promise<PlanJson> {
  const dir = mkdtempSync(join(tmpdir(), "c42-plan-"));
  try {
    chmodSync(dir, 0o700);
    const file = join(dir, "keystore.tfplan");
    const result = await deployment.planToFile(file);
    if (result.code !== 0 && result.code !== 2) {
      throw new Error(`tofu plan failed (exit ${result.code}):\n${result.stderr.trim().split("\n").slice(-25).join("\n")}`);
    }
    return await deployment.showPlan(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Synthesizes, inits, plans and asks Vault what the plan cannot see. */
export async function checkDrift(deployment: Deployment): Promise<DriftReport> {
  const plan = await planJson(deployment);
  const tune = await certAuthTuneDrift(deployment);
  return buildDriftReport(plan, tune ? [tune] : []);
}

/** Construct paths of the synthesized resources (`keystore/policy/policy`), by address. */
export function constructPaths(deployment: Deployment): Map<string, string> {
  const paths = new Map<string, string>();
  const file = join(deployment.stackDir, "cdk.tf.json");
  if (!existsSync(file)) return paths;
  type Synthesized = { resource?: Record<string, Record<string, { "//"?: { metadata?: { path?: string } } }>> };
  const json = JSON.parse(readFileSync(file, "utf8")) as Synthesized;
  for (const [type, resources] of Object.entries(json.resource ?? {})) {
    for (const [name, r] of Object.entries(resources)) {
      const path = r["//"]?.metadata?.path;
      if (path) paths.set(`${type}.${name}`, path);
    }
  }
  return paths;
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

const USAGE = `usage: drift [--json]
  Compares Vault with the configuration without changing either.
  Exit 0 in sync, 2 on drift (\`npm run deploy\` repairs it), 1 on error.
  --json  print {"inSync": bool, "drifted": [{"address", "actions", "attributes"}]}
`;

/** The `drift` command: resolves to 0 in sync, 2 on drift, 1 on error. */
export async function driftMain(argv: readonly string[], makeDeployment: () => Deployment, io: BundleIo): Promise<number> {
  let json: boolean;
  try {
    const { values } = parseArgs({ args: [...argv], strict: true, options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    json = values.json ?? false;
  } catch (e) {
    io.stderr(`drift: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  try {
    const deployment = makeDeployment();
    const report = await checkDrift(deployment);
    io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : formatDriftReport(report, constructPaths(deployment)));
    return report.inSync ? 0 : 2;
  } catch (e) {
    io.stderr(`drift: error: ${(e as Error).message}\n`);
    return 1;
  }
}
