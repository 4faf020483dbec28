import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureParentDir } from "../common/private-files";

/**
 * Where the state lives: the synthesized `terraform.backend` block, e.g.
 * `{ type: "local", config: { path: "/x/keystore.tfstate" } }`. It never holds
 * a credential: the backends read theirs from the environment, and a setting
 * that carries one is refused (lib/state-backend.ts).
 */
export interface StateLocation {
  readonly type: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Where this checkout records the location its state was last initialized at (0600, no secrets). */
export function locationRecordFile(projectDir: string): string {
  return join(projectDir, ".local", "state-location.json");
}

/** The location the synthesized `cdk.tf.json` in `stackDir` configures; `undefined` before a synth. */
export function configuredLocation(stackDir: string): StateLocation | undefined {
  const file = join(stackDir, "cdk.tf.json");
  if (!existsSync(file)) return undefined;
  const json = JSON.parse(readFileSync(file, "utf8")) as { terraform?: { backend?: Record<string, unknown> } };
  return fromBlock(json.terraform?.backend);
}

/**
 * The location the state was last initialized at: this checkout's record
 * (written by {@link recordLocation} after each init), else the engine's own
 * backend record in the stack directory (`.terraform/terraform.tfstate`, which
 * predates our record); `undefined` when neither exists (a first run).
 */
export function recordedLocation(stackDir: string, recordFile: string): StateLocation | undefined {
  const ours = readJson(recordFile) as { type?: unknown; config?: unknown } | undefined;
  if (ours && typeof ours.type === "string" && isRecord(ours.config)) return { type: ours.type, config: ours.config };
  const engine = readJson(join(stackDir, ".terraform", "terraform.tfstate")) as { backend?: { type?: unknown; config?: unknown } } | undefined;
  const backend = engine?.backend;
  if (backend && typeof backend.type === "string" && isRecord(backend.config)) return { type: backend.type, config: withoutUnset(backend.config) };
  return undefined;
}

/** Records `location` for this checkout (0600; replaced atomically). */
export function recordLocation(recordFile: string, location: StateLocation): void {
  ensureParentDir(recordFile, "the state location record");
  const tmp = `${recordFile}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, JSON.stringify({ type: location.type, config: location.config }, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  renameSync(tmp, recordFile);
}

/** Whether two locations name the same state (unset options ignored, keys in any order). */
export function sameLocation(a: StateLocation, b: StateLocation): boolean {
  return a.type === b.type && canonical(withoutUnset(a.config)) === canonical(withoutUnset(b.config));
}

/** The backend block that puts the state at `location`, for `terraform.backend` in cdk.tf.json. */
export function backendBlock(location: StateLocation): Record<string, unknown> {
  return { [location.type]: location.config };
}

/** A location for people: the local file, or the backend and its options (never a credential: none is in the block). */
export function describeLocation(location: StateLocation): string {
  const c = location.config;
  if (location.type === "local") return `the local file ${String(c.path ?? "terraform.tfstate")}`;
  if (location.type === "pg")
    return `PostgreSQL schema "${String(c.schema_name ?? "terraform_remote_state")}" (connection from PG_CONN_STR or the PG* variables)`;
  const options = Object.entries(withoutUnset(c))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
  return `the ${location.type} backend${options ? ` (${options})` : ""}`;
}

/**
 * The state's location changed since this checkout last used it (a new
 * `stateDir`, another `backend.type` or backend option). Raised before the
 * engine runs, so nothing was changed.
 */
export class StateLocationChangedError extends Error {
  public readonly from: StateLocation;
  public readonly to: StateLocation;

  public constructor(from: StateLocation, to: StateLocation) {
    super(
      `the state location changed: this checkout last used ${describeLocation(from)}, the configuration now says ${describeLocation(to)}. ` +
        "Nothing was changed. To move the state there (the old state is backed up first), run: npm run migrate-state  " +
        "(c42-keystore migrate-state); to start with no state at the new location instead, which then knows nothing of the objects already in Vault: " +
        "npm run migrate-state -- --fresh; or set the location back (stateDir/C42_STATE_DIR, backend.*/C42_BACKEND_*)",
    );
    this.name = "StateLocationChangedError";
    this.from = from;
    this.to = to;
  }
}

/** Fails with a {@link StateLocationChangedError} when the recorded location differs from the configured one. */
export function assertStateLocationUnchanged(stackDir: string, recordFile: string): void {
  const to = configuredLocation(stackDir);
  const from = recordedLocation(stackDir, recordFile);
  if (to && from && !sameLocation(from, to)) throw new StateLocationChangedError(from, to);
}

function fromBlock(block: Record<string, unknown> | undefined): StateLocation | undefined {
  const entries = Object.entries(block ?? {});
  if (entries.length !== 1 || !isRecord(entries[0][1])) return entries.length === 0 ? { type: "local", config: {} } : undefined;
  return { type: entries[0][0], config: entries[0][1] };
}

function withoutUnset(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== null && v !== undefined && v !== ""));
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
