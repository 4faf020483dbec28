import { open as openZip } from "yauzl";
import { Deployment } from "./deployment";
import { PlanJson, changedAttributes, pendingChanges, valuesDiffer } from "./plan-json";

/** Which state a plan was made against, or what the state is now. */
export interface StateStamp {
  readonly serial: number;
  readonly lineage: string;
}

/**
 * What differs between two plans of the same stack, one line per resource,
 * naming addresses and attributes but never values. Two plans agree when they
 * change the same resources with the same actions and, for in-place updates,
 * start from the same values and end at the same values: an update that would
 * start from something else means the object changed in Vault.
 */
export function comparePlans(saved: PlanJson, fresh: PlanJson): string[] {
  const a = pendingChanges(saved);
  const b = pendingChanges(fresh);
  const differences: string[] = [];
  for (const address of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const s = a.get(address);
    const f = b.get(address);
    if (!s || !f) {
      differences.push(
        s
          ? `${address}: the saved plan would ${s.actions.join("+")} it; a fresh plan leaves it alone`
          : `${address}: a fresh plan would ${f!.actions.join("+")} it; the saved plan leaves it alone`,
      );
    } else if (s.actions.join("+") !== f.actions.join("+")) {
      differences.push(`${address}: the saved plan would ${s.actions.join("+")} it; a fresh plan would ${f.actions.join("+")} it`);
    } else if (s.actions.join("+") === "update") {
      const keys = [...new Set([...changedAttributes(s), ...changedAttributes(f), ...Object.keys(s.before ?? {}), ...Object.keys(f.before ?? {})])].sort();
      const moved = keys.filter(
        (k) =>
          valuesDiffer(s.before?.[k], f.before?.[k]) ||
          valuesDiffer(s.after?.[k], f.after?.[k]) ||
          JSON.stringify(s.after_unknown?.[k] ?? false) !== JSON.stringify(f.after_unknown?.[k] ?? false),
      );
      if (moved.length > 0) differences.push(`${address}: the update differs in ${moved.join(", ")}`);
    }
  }
  return differences;
}

/**
 * The serial and lineage of the state a saved plan was made against (its
 * `tfstate` entry); nothing when the plan is encrypted (C42_STATE_PASSPHRASE
 * encrypts the whole file), and then only the engine can tell.
 */
export function planStateStamp(file: string): Promise<StateStamp | undefined> {
  return new Promise((resolvePromise, reject) => {
    openZip(file, { lazyEntries: true }, (err, zip) => {
      if (err) return resolvePromise(undefined);
      let found = false;
      zip.on("error", reject);
      zip.on("end", () => {
        if (!found) resolvePromise(undefined);
      });
      zip.on("entry", (entry) => {
        if (entry.fileName !== "tfstate") return zip.readEntry();
        found = true;
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", reject);
          stream.on("end", () => {
            zip.close();
            resolvePromise(stampOf(Buffer.concat(chunks).toString()));
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** The serial and lineage of the deployment's current state; nothing before the first apply. */
export async function currentStateStamp(deployment: Deployment): Promise<StateStamp | undefined> {
  const pulled = await deployment.tofuOk(["state", "pull"], { quiet: true });
  return pulled.stdout.trim() === "" ? undefined : stampOf(pulled.stdout);
}

function stampOf(stateJson: string): StateStamp | undefined {
  // The state holds private keys: keep the two fields, drop the rest.
  try {
    const { serial, lineage } = JSON.parse(stateJson) as { serial?: number; lineage?: string };
    return typeof serial === "number" && typeof lineage === "string" ? { serial, lineage } : undefined;
  } catch {
    return undefined;
  }
}

/** The engine's own rule: a plan is stale when both states have a lineage and the serial or lineage moved. */
export function isStale(planned: StateStamp | undefined, current: StateStamp | undefined): boolean {
  if (!planned?.lineage || !current?.lineage) return false;
  return planned.lineage !== current.lineage || planned.serial !== current.serial;
}

/** The engine's error without its box drawing: "Saved plan is stale …". */
export function engineMessage(message: string): string {
  return message
    .split("\n")
    .map((l) => l.replace(/^[│╷╵]\s?/, "").trim())
    .filter((l) => l !== "")
    .join(" ");
}

/** One line per pending change: address and actions, never values. */
export function formatPlanSummary(plan: PlanJson): string {
  const changes = [...pendingChanges(plan).entries()];
  if (changes.length === 0) return "no changes\n";
  return changes
    .map(([address, c]) => `  ${c.actions.join("+")} ${address}${c.actions.join("+") === "update" ? ` (${changedAttributes(c).join(", ")})` : ""}\n`)
    .join("");
}
