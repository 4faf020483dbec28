import { readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { EngineKind, EngineTarget, engineLabel } from "../../lib/engine-target";
import { ensureParentDir, writePrivateFile } from "../common/private-files";

/**
 * Which engine last wrote a state: the state's own `terraform_version` does
 * not say (OpenTofu writes that field too), so each run that writes the state
 * leaves this record beside it, in the state directory of the checkout. With
 * `engine=auto` it keeps the state with that engine, whatever else appears on
 * PATH or in the toolchain cache later; only an explicit `engine` moves it.
 */
export interface EngineRecord {
  readonly kind: EngineKind;
  readonly version: string;
}

/** `<stateDir>/keystore.engine.json`. */
export function engineRecordFile(stateDir: string, stack: string): string {
  return join(stateDir, `${stack}.engine.json`);
}

/** The record, or undefined when there is none or it is not one (a hand edit is not trusted). */
export function readEngineRecord(file: string): EngineRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object") return undefined;
  const { kind, version } = parsed as Record<string, unknown>;
  const known = (["tofu", "terraform"] as const).find((k) => k === kind);
  return known !== undefined && typeof version === "string" ? { kind: known, version } : undefined;
}

/** Writes the record (0600) when it differs from what is there. */
export function recordEngine(file: string, engine: EngineTarget): void {
  const old = readEngineRecord(file);
  if (old?.kind === engine.kind && old.version === engine.version) return;
  ensureParentDir(file, "the state directory (stateDir)");
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writePrivateFile(tmp, JSON.stringify({ kind: engine.kind, version: engine.version }) + "\n");
  renameSync(tmp, file);
}

/** `OpenTofu 1.10.10` for a record. */
export function describeRecord(record: EngineRecord): string {
  return engineLabel(record);
}
