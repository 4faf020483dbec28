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
  /**
   * For `pg`: the server and database the environment points at
   * (`host:port/database` from PG_CONN_STR or PGHOST/PGPORT/PGDATABASE; never a
   * user or password). The backend block does not hold it, so the engine
   * cannot see it change. @default - unknown (the engine's own record)
   */
  readonly connection?: string;
}

/**
 * `host:port/database` of the PostgreSQL server the pg backend will use: from
 * PG_CONN_STR (URL or `key=value` form), else libpq's PGHOST, PGPORT and
 * PGDATABASE. User, password and options are left out.
 */
export function pgConnection(env: NodeJS.ProcessEnv): string {
  const conn = env.PG_CONN_STR?.trim() ?? "";
  let host = env.PGHOST;
  let port = env.PGPORT;
  let db = env.PGDATABASE;
  if (/^postgres(ql)?:\/\//.test(conn)) {
    try {
      const url = new URL(conn);
      host = url.hostname || host;
      port = url.port || port;
      db = decodeURIComponent(url.pathname.replace(/^\//, "")) || db;
    } catch {
      // An unparseable string is the engine's to report; the variables then tell the location.
    }
  } else if (conn !== "") {
    const value = (key: string) => new RegExp(`(?:^|\\s)${key}\\s*=\\s*'?([^'\\s]+)`).exec(conn)?.[1];
    host = value("host") ?? host;
    port = value("port") ?? port;
    db = value("dbname") ?? db;
  }
  return `${host ?? "localhost"}:${port ?? "5432"}/${db ?? "(the user's database)"}`;
}

/** Where this checkout records the location its state was last initialized at (0600, no secrets). */
export function locationRecordFile(projectDir: string): string {
  return join(projectDir, ".local", "state-location.json");
}

/**
 * The location the synthesized `cdk.tf.json` in `stackDir` configures, with
 * the pg connection `env` points at; `undefined` before a synth.
 */
export function configuredLocation(stackDir: string, env: NodeJS.ProcessEnv): StateLocation | undefined {
  const file = join(stackDir, "cdk.tf.json");
  if (!existsSync(file)) return undefined;
  const json = JSON.parse(readFileSync(file, "utf8")) as { terraform?: { backend?: Record<string, unknown> } };
  const location = fromBlock(json.terraform?.backend);
  return location?.type === "pg" ? { ...location, connection: pgConnection(env) } : location;
}

/**
 * The location the state was last initialized at: this checkout's record
 * (written by {@link recordLocation} after each init), else the engine's own
 * backend record in the stack directory (`.terraform/terraform.tfstate`, which
 * predates our record); `undefined` when neither exists (a first run).
 */
export function recordedLocation(stackDir: string, recordFile: string): StateLocation | undefined {
  const ours = readJson(recordFile) as { type?: unknown; config?: unknown; connection?: unknown } | undefined;
  if (ours && typeof ours.type === "string" && isRecord(ours.config)) {
    return { type: ours.type, config: ours.config, ...(typeof ours.connection === "string" ? { connection: ours.connection } : {}) };
  }
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
  writeFileSync(tmp, JSON.stringify({ type: location.type, config: location.config, connection: location.connection }, null, 2) + "\n", {
    mode: 0o600,
    flag: "wx",
  });
  renameSync(tmp, recordFile);
}

/** Whether two locations name the same state (unset options ignored, keys in any order; a connection only when both know it). */
export function sameLocation(a: StateLocation, b: StateLocation): boolean {
  return sameBackendBlock(a, b) && (a.connection === undefined || b.connection === undefined || a.connection === b.connection);
}

/** Whether two locations have the same backend block: all the engine sees of them. */
export function sameBackendBlock(a: StateLocation, b: StateLocation): boolean {
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
  if (location.type === "pg") {
    const schema = `PostgreSQL schema "${String(c.schema_name ?? "terraform_remote_state")}"`;
    return location.connection ? `${schema} on ${location.connection}` : `${schema} (connection from PG_CONN_STR or the PG* variables)`;
  }
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
export function assertStateLocationUnchanged(stackDir: string, recordFile: string, env: NodeJS.ProcessEnv): void {
  const to = configuredLocation(stackDir, env);
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
