import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/*
 * Issue 16: a deploy killed mid-apply (SIGKILL, out of memory, a reboot)
 * leaves objects in Vault that no state records. The journal is how the next
 * deploy tells them from objects someone else made: written before the apply,
 * removed once the engine ended on its own (success or an error it reported,
 * after which its state is whole). Still there at the next deploy, it means
 * the run was interrupted. It names objects only: no secrets.
 */

/** What an interrupted deploy was about to create. */
export interface DeployJournal {
  /** When the run started (ISO 8601). */
  readonly startedAt: string;
  /** The server it deployed to (VAULT_ADDR). */
  readonly vaultAddr: string;
  /**
   * The objects the run was about to create, as `kind:name` keys (`mount:pki`,
   * `issuer:pki`, `policy:crashplanPolicy`): every configured object neither
   * the state nor Vault held when it started.
   */
  readonly creates: readonly string[];
}

/** The journal of the deploys of the state in `stateDir`: `<stateDir>/keystore.deploy-journal.json`, 0600. */
export function deployJournalFile(stateDir: string): string {
  return join(stateDir, "keystore.deploy-journal.json");
}

/** Writes the journal (0600; whole or not at all: a temporary file renamed). */
export function writeDeployJournal(file: string, journal: DeployJournal): void {
  const temporary = `${file}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, JSON.stringify(journal, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** Reads the journal; `undefined` when there is none. A file that is not a journal is an error naming it. */
export function readDeployJournal(file: string): DeployJournal | undefined {
  if (!existsSync(file)) return undefined;
  const bad = () => new Error(`${file} is not a deploy journal (expected startedAt, vaultAddr and creates); remove it if no deploy was interrupted`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw bad();
  }
  const j = parsed as Partial<Record<keyof DeployJournal, unknown>> | null;
  if (typeof j !== "object" || j === null || typeof j.startedAt !== "string" || typeof j.vaultAddr !== "string") throw bad();
  if (!Array.isArray(j.creates) || !j.creates.every((k) => typeof k === "string")) throw bad();
  return { startedAt: j.startedAt, vaultAddr: j.vaultAddr, creates: j.creates as string[] };
}

/** Removes the journal: the run it recorded ended on its own. */
export function clearDeployJournal(file: string): void {
  rmSync(file, { force: true });
}
