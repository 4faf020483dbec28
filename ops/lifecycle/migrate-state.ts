import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDir, writePrivateFile } from "../common/private-files";
import { Deployment } from "../engine/deployment";
import { isEncryptedState } from "../engine/state-files";
import { assertStateCluster } from "./cluster-check";
import { StateLocation, backendBlock, configuredLocation, describeLocation, recordedLocation, sameBackendBlock, sameLocation } from "../engine/state-location";

/** What {@link migrateState} did. */
export interface MigrationResult {
  /** Where the state was (for an encryption in place, where it still is). */
  readonly from: StateLocation;
  readonly to: StateLocation;
  /** `--fresh`: the new location was started empty instead of receiving the old state. */
  readonly fresh: boolean;
  /** The 0600 copy of the old state taken first; `undefined` when the old location held none. */
  readonly backup?: string;
  /** The backup is in plain text although the state is encrypted (a remote state, as the engine pulled it). */
  readonly backupInPlainText: boolean;
  /** Resources the old state held. */
  readonly oldResources: number;
  /** Resources the state at the new location holds now. */
  readonly resources: number;
  /** The state stayed where it was and was rewritten encrypted (C42_STATE_PASSPHRASE on a plain state). */
  readonly encryptedInPlace: boolean;
}

/** Options of {@link migrateState}. */
export interface MigrateOptions {
  /** Start with no state at the new location (`init -reconfigure`) instead of moving the old one there. @default false */
  readonly fresh?: boolean;
  /** The clock, for the backup's name. @default the current time */
  readonly now?: () => Date;
}

/**
 * Moves the state from where this checkout last used it to where the
 * configuration now puts it: a 0600 backup of the old state first, then the
 * engine's own `init -migrate-state -force-copy`, then a check that the new
 * location holds as many resources as the old one did. Refused, with nothing
 * changed, when the new location already holds a state. With `fresh`, the new
 * location is used empty (`init -reconfigure`). With nothing to move but
 * C42_STATE_PASSPHRASE set on a plain state (the deployment is built with
 * `stateEncryption.migrateFromPlain`), the state is rewritten encrypted where it is.
 */
export async function migrateState(deployment: Deployment, options: MigrateOptions = {}): Promise<MigrationResult> {
  await deployment.holdLock();
  deployment.synth();
  const cdkTfJson = join(deployment.stackDir, "cdk.tf.json");
  const configured = readFileSync(cdkTfJson, "utf8");
  const to = configuredLocation(deployment.stackDir, deployment.env) as StateLocation;
  const from = recordedLocation(deployment.stackDir, deployment.locationRecord);
  const now = options.now?.() ?? new Date();

  if (!from || sameLocation(from, to)) return encryptInPlace(deployment, to, from !== undefined, now);

  if (sameBackendBlock(from, to) && !options.fresh) {
    // Only the environment moved (PG_CONN_STR, PG*): the engine sees the same backend and would not move anything.
    throw new Error(
      `the state cannot be moved from ${describeLocation(from)} to ${describeLocation(to)} by the engine: the connection comes from the environment, ` +
        "not the backend block. Nothing was changed. Copy the schema to the new database with PostgreSQL's tools (pg_dump --schema), " +
        "or set PG_CONN_STR back; then, to accept the new database as it is, run `npm run migrate-state -- --fresh`",
    );
  }
  if (to.type === "local") ensureDir(deployment.config.stateDir, "stateDir (C42_STATE_DIR)");
  const init = (mode: string[]) => deployment.tofuOk(["init", "-input=false", "-no-color", ...mode], { quiet: true });
  await init(["-reconfigure"]);
  const already = resourceCount(await pull(deployment));
  if (already > 0 && !options.fresh) {
    throw new Error(
      `${describeLocation(to)} already holds a state with ${already} resources; moving the old state there would overwrite it. Nothing was changed: ` +
        "point the configuration at an empty location, or remove that state first, or use it as it is with `npm run migrate-state -- --fresh`",
    );
  }

  // The engine moves the state from the backend its working directory was last initialized with: make that the old one.
  const json = JSON.parse(configured) as { terraform: Record<string, unknown> };
  json.terraform.backend = backendBlock(from);
  writeFileSync(cdkTfJson, JSON.stringify(json, null, 2));
  await init(["-reconfigure"]);
  const old = await pull(deployment);
  const backup = backUp(deployment, from, old, now);

  writeFileSync(cdkTfJson, configured);
  await init(options.fresh ? ["-reconfigure"] : ["-migrate-state", "-force-copy"]);
  deployment.recordStateLocation();
  if (to.type === "local" && existsSync(String(to.config.path))) chmodSync(String(to.config.path), 0o600);
  const resources = resourceCount(await pull(deployment));
  const oldResources = resourceCount(old);
  if (!options.fresh && resources !== oldResources) {
    throw new Error(
      `the migration did not complete: ${describeLocation(to)} holds ${resources} resources, the old state ${oldResources}. ` +
        `The old state is unchanged at ${describeLocation(from)}${backup ? ` and backed up in ${backup}` : ""}`,
    );
  }
  const backupInPlainText = backup !== undefined && from.type !== "local" && deployment.config.stateEncryption.enabled;
  return { from, to, fresh: options.fresh === true, backup, backupInPlainText, oldResources, resources, encryptedInPlace: false };
}

/** Nothing to move: rewrite a plain state encrypted where it is, when C42_STATE_PASSPHRASE asks for it. */
async function encryptInPlace(deployment: Deployment, at: StateLocation, recorded: boolean, now: Date): Promise<MigrationResult> {
  const where = describeLocation(at);
  const e = deployment.config.stateEncryption;
  const nothing = `nothing to migrate: the state is at ${where}, ${recorded ? "where this checkout last used it" : "and no earlier location is recorded for this checkout"}`;
  if (!e.enabled || !e.migrateFromPlain) throw new Error(nothing);
  if (at.type !== "local") {
    // A remote backend may skip writing a state whose content did not change, so a refresh is no proof; a deploy is.
    throw new Error(
      `${nothing}; to encrypt a state kept in the ${at.type} backend, deploy once with C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN=true (docs/security.md)`,
    );
  }
  const file = String(at.config.path);
  // A migration killed after the engine wrote the state encrypted leaves its plain copies: a retry removes them first.
  deployment.removeLeftoverCopies();
  if (!existsSync(file) || isEncryptedState(file)) throw new Error(`${nothing}, and it is ${existsSync(file) ? "encrypted already" : "empty"}`);
  // The refresh below must not run against another cluster than the state's.
  await assertStateCluster(deployment);
  const old = await pull(deployment);
  const backup = backUp(deployment, at, old, now);
  // A refresh writes the state back through the encryption block (plain fallback on read, encrypted on write); Vault is only read.
  await deployment.refreshState();
  const count = resourceCount(old);
  return {
    from: at,
    to: at,
    fresh: false,
    backup,
    backupInPlainText: false,
    oldResources: count,
    resources: resourceCount(await pull(deployment)),
    encryptedInPlace: true,
  };
}

async function pull(deployment: Deployment): Promise<string> {
  return (await deployment.tofuOk(["state", "pull"], { quiet: true })).stdout;
}

function resourceCount(state: string): number {
  if (state.trim() === "") return 0;
  const resources = (JSON.parse(state) as { resources?: unknown[] }).resources;
  return Array.isArray(resources) ? resources.length : 0;
}

/**
 * Keeps a 0600 copy of the old state in `<project>/.local/state-backups/`: a
 * local state file byte for byte (still encrypted if it was), a remote one as
 * the engine pulled it. `undefined` when there was no state.
 */
function backUp(deployment: Deployment, from: StateLocation, pulled: string, now: Date): string | undefined {
  const localFile = from.type === "local" ? String(from.config.path) : undefined;
  const bytes = localFile && existsSync(localFile) ? readFileSync(localFile) : pulled.trim() !== "" ? Buffer.from(pulled) : undefined;
  if (!bytes) return undefined;
  const dir = deployment.stateBackupDir;
  ensureDir(dir, "the state backup directory");
  // A retry of a migration that was killed finds its own backup: the same bytes are kept once.
  const same = readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .find((f) => statSync(f).isFile() && readFileSync(f).equals(bytes));
  if (same) return same;
  const file = join(dir, `keystore-${now.toISOString().replace(/[:.]/g, "-")}.tfstate`);
  writePrivateFile(file, bytes.toString("utf8"));
  return file;
}
