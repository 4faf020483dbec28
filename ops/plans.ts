import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { open as openZip } from "yauzl";
import { BundleIo } from "./bundle";
import { certAuthTuneDrift } from "./cert-auth-tune";
import { Deployment, PlanJson, ResourceChange } from "./deployment";
import { changedAttributes, planJson, valuesDiffer } from "./drift";

/** Where `plan` writes and `apply-plan` reads by default (relative to the working directory). */
export const DEFAULT_PLAN_FILE = join(".local", "plans", "keystore.tfplan");

/** The message `apply-plan` refuses with when Vault moved since the plan. */
export const SERVER_CHANGED = "the server changed since this plan was made; re-plan";

/** Which state a plan was made against, or what the state is now. */
export interface StateStamp {
  readonly serial: number;
  readonly lineage: string;
}

type Change = ResourceChange["change"];

const pending = (plan: PlanJson): Map<string, Change> =>
  new Map((plan.resource_changes ?? []).filter((r) => !r.change.actions.every((a) => a === "no-op" || a === "read")).map((r) => [r.address, r.change]));

/**
 * What differs between two plans of the same stack, one line per resource,
 * naming addresses and attributes but never values. Two plans agree when they
 * change the same resources with the same actions and, for in-place updates,
 * start from the same values and end at the same values: an update that would
 * start from something else means the object changed in Vault.
 */
export function comparePlans(saved: PlanJson, fresh: PlanJson): string[] {
  const a = pending(saved);
  const b = pending(fresh);
  const differences: string[] = [];
  for (const address of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const s = a.get(address);
    const f = b.get(address);
    if (!s || !f) {
      differences.push(s ? `${address}: the saved plan would ${s.actions.join("+")} it; a fresh plan leaves it alone`
        : `${address}: a fresh plan would ${f!.actions.join("+")} it; the saved plan leaves it alone`);
    } else if (s.actions.join("+") !== f.actions.join("+")) {
      differences.push(`${address}: the saved plan would ${s.actions.join("+")} it; a fresh plan would ${f.actions.join("+")} it`);
    } else if (s.actions.join("+") === "update") {
      const keys = [...new Set([...changedAttributes(s), ...changedAttributes(f), ...Object.keys(s.before ?? {}), ...Object.keys(f.before ?? {})])].sort();
      const moved = keys.filter((k) => valuesDiffer(s.before?.[k], f.before?.[k]) || valuesDiffer(s.after?.[k], f.after?.[k])
        || JSON.stringify(s.after_unknown?.[k] ?? false) !== JSON.stringify(f.after_unknown?.[k] ?? false));
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

/** What became of an `apply-plan`. */
export type ApplyPlanOutcome =
  | { readonly applied: true }
  | { readonly applied: false; readonly reason: "stale" | "server-changed"; readonly message: string };

/**
 * Applies a saved plan, but only one that still describes the server.
 * 1. A stale plan (the state moved since it was made) goes straight to the
 *    engine, which refuses it; its message is returned. An encrypted plan
 *    hides its state stamp: it is still refused, by step 2 or the engine.
 * 2. The engine applies a plan made before an out-of-band change in Vault
 *    blindly (the state did not move), so a fresh plan is made first; when its
 *    changes differ from the saved plan's (see {@link comparePlans}), or Vault
 *    has a change no plan can see, nothing is applied.
 */
export async function applySavedPlan(deployment: Deployment, file: string): Promise<ApplyPlanOutcome> {
  if (!existsSync(file)) throw new Error(`no saved plan at ${file}; make one with \`npm run plan\``);
  const saved = await deployment.showPlan(file);
  if (isStale(await planStateStamp(file), await currentStateStamp(deployment))) {
    try {
      await deployment.applyPlan(file);
    } catch (e) {
      return { applied: false, reason: "stale", message: `the engine refused the saved plan: ${engineMessage((e as Error).message)}\nthe state changed since this plan was made; re-plan` };
    }
    return { applied: true };
  }
  const differences = comparePlans(saved, await planJson(deployment));
  const tune = await certAuthTuneDrift(deployment);
  if (tune && !changedAttributes(saved.resource_changes?.find((r) => r.address === tune.address)?.change ?? { actions: [], before: null, after: null }).includes("tune")) {
    differences.push(`${tune.address}: ${tune.attribute} differs in Vault and the saved plan does not set it`);
  }
  if (differences.length > 0) {
    return { applied: false, reason: "server-changed", message: `${SERVER_CHANGED}:\n${differences.map((d) => `  ${d}\n`).join("")}nothing was applied` };
  }
  await deployment.applyPlan(file);
  return { applied: true };
}

/** The engine's error without its box drawing: "Saved plan is stale …". */
function engineMessage(message: string): string {
  return message.split("\n").map((l) => l.replace(/^[│╷╵]\s?/, "").trim()).filter((l) => l !== "").join(" ");
}

/** One line per pending change: address and actions, never values. */
export function formatPlanSummary(plan: PlanJson): string {
  const changes = [...pending(plan).entries()];
  if (changes.length === 0) return "no changes\n";
  return changes.map(([address, c]) => `  ${c.actions.join("+")} ${address}${c.actions.join("+") === "update" ? ` (${changedAttributes(c).join(", ")})` : ""}\n`).join("");
}

const PLAN_USAGE = `usage: plan [--out FILE]
  Synthesizes, inits against the provider mirror and writes a saved plan
  (default ${DEFAULT_PLAN_FILE}; directory 0700, file 0600). The plan embeds the
  state, private keys included: keep it private and short-lived.
`;

/** The `plan` command: resolves to 0 when the plan is written, 1 on error. */
export async function planMain(argv: readonly string[], makeDeployment: () => Deployment, io: BundleIo): Promise<number> {
  let out: string;
  try {
    const { values } = parseArgs({ args: [...argv], strict: true, options: { out: { type: "string" }, help: { type: "boolean", short: "h", default: false } } });
    if (values.help) {
      io.stdout(PLAN_USAGE);
      return 0;
    }
    out = resolve(process.cwd(), values.out ?? DEFAULT_PLAN_FILE);
  } catch (e) {
    io.stderr(`plan: ${(e as Error).message}\n${PLAN_USAGE}`);
    return 1;
  }
  try {
    const deployment = makeDeployment();
    // The saved plan must carry the repair of a change no plan sees by itself.
    if (await deployment.repairCertAuthTune()) io.stderr("plan: the cert auth tune differs in Vault; re-imported it so the plan repairs it\n");
    mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
    chmodSync(dirname(out), 0o700);
    const result = await deployment.planToFile(out);
    if (result.code !== 0 && result.code !== 2) {
      io.stderr(`plan: tofu plan failed (exit ${result.code}):\n${result.stderr.trim().split("\n").slice(-25).join("\n")}\n`);
      return 1;
    }
    chmodSync(out, 0o600);
    const summary = formatPlanSummary(await deployment.showPlan(out));
    io.stdout(`wrote ${out} (0600; it holds secrets)\n${summary}apply exactly this plan with: npm run apply-plan -- ${out}\n`);
    return 0;
  } catch (e) {
    io.stderr(`plan: error: ${(e as Error).message}\n`);
    return 1;
  }
}

const APPLY_PLAN_USAGE = `usage: apply-plan [FILE]
  Applies exactly a saved plan (default ${DEFAULT_PLAN_FILE}). Refuses a plan
  whose state has moved on (the engine's check) and a plan made before a change
  in Vault (a fresh plan must agree with it). Exit 0 applied, 1 refused or failed.
`;

/** The `apply-plan` command: resolves to 0 when applied, 1 when refused or failed. */
export async function applyPlanMain(argv: readonly string[], makeDeployment: () => Deployment, io: BundleIo): Promise<number> {
  let file: string;
  try {
    const { values, positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { help: { type: "boolean", short: "h", default: false } } });
    if (values.help) {
      io.stdout(APPLY_PLAN_USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new Error("expected at most one plan file");
    file = resolve(process.cwd(), positionals[0] ?? DEFAULT_PLAN_FILE);
  } catch (e) {
    io.stderr(`apply-plan: ${(e as Error).message}\n${APPLY_PLAN_USAGE}`);
    return 1;
  }
  try {
    const outcome = await applySavedPlan(makeDeployment(), file);
    if (!outcome.applied) {
      io.stderr(`apply-plan: refused: ${outcome.message}\n`);
      return 1;
    }
    io.stdout(`applied ${file}\n`);
    return 0;
  } catch (e) {
    io.stderr(`apply-plan: error: ${(e as Error).message}\n`);
    return 1;
  }
}
