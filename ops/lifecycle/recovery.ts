import { AdoptionInput } from "../../lib/adoption-record";
import { Deployment } from "../engine/deployment";
import { EngineError } from "../engine/engine-run";
import { StateResource } from "../engine/state-resources";
import { DeployJournal, clearDeployJournal, deployJournalFile, readDeployJournal, writeDeployJournal } from "../engine/deploy-journal";
import { adopt } from "./adopt";
import { FoundObject, inspectForAdoption } from "./adopt-inspect";

/*
 * Issue 16: after a deploy was interrupted (its engine killed mid-apply), the
 * next deploy converges. Vault then holds objects the state does not record;
 * the deploy journal says whether this checkout's interrupted run made them.
 * If it did, they are taken over the way `npm run adopt` does (imported, CAs
 * used as they are, never made a second time); if not, the deploy refuses
 * and names `npm run adopt`. The state itself is never left unusable (see
 * keepLastGoodState in ops/engine/state-files.ts).
 */

/**
 * The parts of the stack (named as adopt and the settings name them) that the
 * state does not record, from the configuration and the state alone.
 */
export function unrecordedParts(deployment: Deployment, recorded: readonly StateResource[], adopted: AdoptionInput | undefined): string[] {
  const c = deployment.config;
  const has = (type: string, id?: string) => recorded.some((r) => r.type === type && (id === undefined || r.id === id));
  const parts: [string, boolean][] = [
    ["kv", has("vault_mount", c.kv.path)],
    ["certAuth", has("vault_auth_backend", c.certAuth.path)],
  ];
  if (!c.rootCa.external) {
    parts.push(["pki", has("vault_mount", c.pki.path)], ["rootCa", has("vault_pki_secret_backend_root_cert") || adopted?.rootIssuerId !== undefined]);
  }
  parts.push(
    ["pki_int", has("vault_mount", c.pki_int.path)],
    ["intermediateCa", has("vault_pki_secret_backend_intermediate_set_signed") || adopted?.intermediateIssuerId !== undefined],
    ["role", has("vault_pki_secret_backend_role", `${c.pki_int.path}/roles/${c.role.name}`)],
    ["policy", has("vault_policy", c.policy.name)],
    ["certRole", has("vault_cert_auth_backend_role", `auth/${c.certAuth.path}/certs/${c.certRole.name}`)],
  );
  return parts.filter(([, isRecorded]) => !isRecorded).map(([part]) => part);
}

/** What {@link recoverBeforeApply} found and did. */
export interface Recovery {
  /** Objects an interrupted deploy made that this deploy took over (where they are in Vault). */
  readonly tookOver: readonly string[];
  /** The journal of the interrupted run, when there was one for this server. */
  readonly interrupted?: DeployJournal;
  /** What this deploy's apply is about to create, for its journal (see {@link journaledApply}). */
  readonly creates: readonly string[];
  /** What the state records now (after a takeover, with what was taken over). */
  readonly recorded: readonly StateResource[];
}

/** Vault holds objects the state does not record, and no interrupted run of this checkout made them. Nothing was changed. */
export class UnrecordedObjectsError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "UnrecordedObjectsError";
  }
}

/**
 * Before a deploy's apply: when the state does not record every part of the
 * stack, asks Vault (by the configured paths and names) whether they exist
 * anyway. Objects found that the state does not record are taken over, with
 * adopt's own code and no question, when the journal of an interrupted deploy
 * to this server says that run was about to create them; otherwise the deploy
 * is refused with what was found and the command that fixes it.
 */
export async function recoverBeforeApply(deployment: Deployment): Promise<Recovery> {
  await deployment.ensureInit();
  const file = deployJournalFile(deployment.config.stateDir);
  const previous = readDeployJournal(file);
  const interrupted = previous && previous.vaultAddr === deployment.env.VAULT_ADDR ? previous : undefined;
  const recorded = await deployment.stateResources();
  const missing = unrecordedParts(deployment, recorded, await deployment.adoption());
  if (missing.length === 0) return { tookOver: [], interrupted, creates: [], recorded };
  const findings = await inspectForAdoption(deployment);
  const found = findings.objects.filter((o) => o.exists && missing.includes(o.part));
  if (found.length === 0) return { tookOver: [], interrupted, creates: union(missing, interrupted), recorded };
  const notOurs = found.filter((o) => !interrupted?.creates.includes(o.part));
  if (notOurs.length > 0) throw new UnrecordedObjectsError(refusal(deployment, notOurs, previous, file));
  // adopt() itself leaves alone what the state records (fitToState). The admin certificate the
  // interrupted run had Vault issue is of no use: its key died with the engine. A new one is
  // issued, and the login role is written again to pin that one.
  const adoption = { ...findings.adoption, adminCertificatePem: undefined };
  await journaledApply(deployment, union(missing, interrupted), () => adopt(deployment, { ...findings, adoption }));
  const after = await deployment.stateResources();
  return { tookOver: found.map((o) => o.where), interrupted, creates: unrecordedParts(deployment, after, await deployment.adoption()), recorded: after };
}

/**
 * Runs an engine apply with the deploy journal written first (when it is
 * about to create anything) and removed once the engine ended on its own,
 * whether it succeeded or reported an error (its state is whole then). A run
 * ended by a signal keeps it, for the next deploy to read; so does one whose
 * command was killed.
 */
export async function journaledApply<T>(deployment: Deployment, creates: readonly string[], apply: () => Promise<T>): Promise<T> {
  const file = deployJournalFile(deployment.config.stateDir);
  const previous = readDeployJournal(file);
  if (creates.length > 0) writeDeployJournal(file, { startedAt: new Date().toISOString(), vaultAddr: deployment.env.VAULT_ADDR ?? "", creates });
  try {
    const result = await apply();
    clearDeployJournal(file);
    return result;
  } catch (e) {
    if (e instanceof EngineError && e.signal !== undefined) throw e;
    // Ended on its own: its state records what it made. An earlier interrupted run's record still holds.
    if (previous) writeDeployJournal(file, previous);
    else clearDeployJournal(file);
    throw e;
  }
}

const union = (missing: readonly string[], interrupted: DeployJournal | undefined): string[] => [...new Set([...(interrupted?.creates ?? []), ...missing])];

function refusal(deployment: Deployment, objects: readonly FoundObject[], journal: DeployJournal | undefined, journalFile: string): string {
  const state = deployment.config.backend.type === "local" ? deployment.stateFile : `the ${deployment.config.backend.type} backend's state`;
  const why = !journal
    ? `no deploy of this checkout was interrupted while making them (no journal at ${journalFile})`
    : journal.vaultAddr !== deployment.env.VAULT_ADDR
      ? `the interrupted deploy recorded in ${journalFile} went to ${journal.vaultAddr}, not this server`
      : `the deploy interrupted at ${journal.startedAt} (journal ${journalFile}) was not making them`;
  return (
    `${deployment.env.VAULT_ADDR} already holds ${objects.map((o) => `${o.where} (${o.part})`).join(", ")}, which ${state} does not record, and ${why}. ` +
    "A deploy would fail on mounts already in use, or add a second CA issuer beside the existing one. Nothing was changed. " +
    "To take them over without replacing any mount, CA or issuer, run: npm run adopt"
  );
}
