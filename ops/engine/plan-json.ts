/** The parts of `tofu show -json <plan>` this project reads. */
export interface PlanJson {
  readonly resource_changes?: ResourceChange[];
  readonly resource_drift?: ResourceChange[];
  /** The root module's input variables as the plan recorded them. */
  readonly variables?: Record<string, { readonly value?: unknown }>;
}

/**
 * A root-module variable that no resource reads: a saved plan records its
 * value, so a command can leave a note in a plan that only that plan carries
 * (addresses and attribute names; never secrets).
 */
export const PLAN_NOTES_VARIABLE = "c42_plan_notes";

/** One entry of a plan's `resource_changes` or `resource_drift`. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly change: Change;
}

/** What a plan does to one resource. */
export interface Change {
  readonly actions: string[];
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  /** Attributes whose planned value is only known after apply (`true`, or nested). */
  readonly after_unknown?: Record<string, unknown>;
  readonly replace_paths?: unknown[];
}

/** True for the actions of a resource a plan leaves alone. */
export const isNoOp = (actions: readonly string[]): boolean => actions.every((a) => a === "no-op" || a === "read");

/** The changes a plan would make, by address; resources it leaves alone are left out. */
export function pendingChanges(plan: PlanJson): Map<string, Change> {
  return new Map((plan.resource_changes ?? []).filter((r) => !isNoOp(r.change.actions)).map((r) => [r.address, r.change]));
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
export function changedAttributes(change: Change): string[] {
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

/** One line of the engine's machine-readable output (`plan -json`): the fields read here. */
export interface UiMessage {
  readonly type?: string;
  readonly change?: { readonly action?: string };
  readonly diagnostic?: { readonly severity?: string; readonly summary?: string; readonly detail?: string; readonly address?: string };
}

/** The messages of a `-json` run, one JSON object a line; other lines are skipped. */
export function readUiMessages(stdout: string): UiMessage[] {
  const messages: UiMessage[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) messages.push(parsed as UiMessage);
    } catch {
      // not a message
    }
  }
  return messages;
}

/**
 * True for a message that puts a resource in a drift report: a planned change
 * other than a read, or a resource changed outside the engine. The engine
 * sends one for every such entry of the plan's `resource_changes` and
 * `resource_drift`, so a plan without any has nothing to report.
 */
export function reportsDrift(message: UiMessage): boolean {
  if (message.type === "resource_drift") return true;
  return message.type === "planned_change" && message.change?.action !== "read" && message.change?.action !== "noop";
}

/** The error and warning diagnostics of a `-json` run, as the engine prints them without `-json`. */
export function diagnosticsText(messages: readonly UiMessage[]): string {
  return messages
    .filter((m) => m.type === "diagnostic" && m.diagnostic)
    .map(({ diagnostic: d }) => {
      const severity = d?.severity === "warning" ? "Warning" : "Error";
      const where = d?.address ? `\n  with ${d.address}\n` : "";
      return `${severity}: ${d?.summary ?? ""}\n${where}${d?.detail ? `\n${d.detail}\n` : ""}`;
    })
    .join("\n");
}
