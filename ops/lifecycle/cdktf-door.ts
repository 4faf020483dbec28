import { dirname, join, resolve } from "node:path";
import { KeystoreConfig } from "../../lib/config";
import { parseDuration } from "../../lib/duration";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { Deployment } from "../engine/deployment";
import { clearDeployJournal, deployJournalFile, writeDeployJournal } from "../engine/deploy-journal";
import { cdktfEngine } from "../engine/engine";
import { engineRecordFile, recordEngine } from "../engine/engine-record";
import { keepLastGoodState, restoreLastGoodState } from "../engine/state-files";
import { CdktfCommand, cdktfParent } from "../lock/cdktf-parent";
import { holdProjectLock, setLockCommandName } from "../lock/held-locks";
import { assertStateCluster } from "./cluster-check";
import { prepareDeploy } from "./deploy";

/*
 * Issue 23: `npx cdktf deploy` gets what `npm run deploy` does around its apply,
 * as far as the app (main.ts) can give it. The app runs as a child of the
 * cdktf CLI before the CLI runs the engine, and ends before it; so:
 * - the project lock is taken in the CLI's name (its pid and start time) and
 *   held until the CLI ends, so a concurrent `npm run deploy` or second
 *   `cdktf deploy` waits for the whole cdktf run, or refuses in one line;
 * - for a deploy: a damaged state is restored from the last good state, an
 *   interrupted deploy's objects are taken over (or refused, naming `npm run
 *   adopt`), a CA step on a mount that holds an issuer is refused, the blind
 *   spots are repaired, the last good state is kept and the deploy journal
 *   written, all before the CLI's apply;
 * - a synth, diff, output or list writes nothing but cdktf.out.
 * What the app cannot do: anything after the CLI's apply (the journal stays
 * until the next command finds the state whole; the state files are tightened
 * to 0600 by the next command), and it never starts a rotation.
 */

/** What {@link throughCdktfDoor} did, for the app to say. */
export interface CdktfDoor {
  /** The command the cdktf CLI runs; `undefined` when the app was not started by cdktf. */
  readonly command?: CdktfCommand;
  /** One line per thing done before the CLI's apply that the user should know. */
  readonly notes: readonly string[];
  /** For a deploy: the deployment the door initialized (cdktf's engine and provider source), to read the state's records through. */
  readonly deployment?: Deployment;
}

/** A refusal of the app before anything is applied: one line, exit 1. */
export class CdktfDoorError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "CdktfDoorError";
  }
}

/** Commands after which the cdktf CLI writes the state (an unknown one is taken as one that may). */
const writesState = (command: CdktfCommand | undefined) => command === undefined || command === "deploy" || command === "watch" || command === "destroy";

/**
 * Takes the project lock for the cdktf CLI that runs this app (or for this
 * process, when cdktf did not start it), then does for a deploy what `npm run
 * deploy` does before its apply. Throws {@link CdktfDoorError} (or the
 * protection's own error) when the deploy must not go on.
 */
export async function throughCdktfDoor(config: KeystoreConfig, env: NodeJS.ProcessEnv = process.env): Promise<CdktfDoor> {
  const parent = cdktfParent();
  const command = parent?.command;
  const name = parent ? `cdktf ${command ?? "(unknown command)"}` : "cdktf app";
  setLockCommandName(name);
  // The cdktf CLI shows the app's stdout as it comes, its stderr only when the app fails.
  const log = (line: string) => void process.stdout.write(`${name}: ${line}\n`);
  // The checkout is where cdktf writes its output: the project directory, unless `--output` points elsewhere.
  const outdir = resolve(env.CDKTF_OUTDIR || "cdktf.out");
  const checkout = dirname(outdir);
  try {
    await holdProjectLock(checkout, parseDuration("lockTimeout", config.lockTimeout) * 1000, log, parent);
    if (!parent || !writesState(command)) return { command, notes: [] };
    return { command, ...(await beforeCdktfCommand(command, config, env, { outdir, checkout })) };
  } catch (e) {
    throw new CdktfDoorError(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function beforeCdktfCommand(
  command: CdktfCommand | undefined,
  config: KeystoreConfig,
  env: NodeJS.ProcessEnv,
  where: { readonly outdir: string; readonly checkout: string },
): Promise<{ notes: string[]; deployment?: Deployment }> {
  const stateFile = join(config.stateDir, `${KEYSTORE_STACK}.tfstate`);
  if (command === "destroy") {
    if (config.backend.type === "local") {
      const restored = restoreLastGoodState(stateFile);
      keepLastGoodState(stateFile);
      return { notes: restored ? [restored] : [] };
    }
    return { notes: [] };
  }
  return beforeCdktfApply(config, env, where);
}

/** For `cdktf deploy`: `npm run deploy`'s steps before the apply, with the engine and provider source cdktf uses. */
async function beforeCdktfApply(
  config: KeystoreConfig,
  env: NodeJS.ProcessEnv,
  where: { readonly outdir: string; readonly checkout: string },
): Promise<{ notes: string[]; deployment: Deployment }> {
  const engine = cdktfEngine(env);
  if (!engine) {
    throw new CdktfDoorError(
      `cannot identify the engine cdktf runs (TERRAFORM_BINARY_NAME=${env.TERRAFORM_BINARY_NAME ?? "unset, so terraform on PATH"}); ` +
        "expected OpenTofu or Terraform there. Nothing was changed",
    );
  }
  const deployment = new Deployment({
    env,
    config,
    // The same stack directory, engine and provider source as the CLI's init and apply that follow.
    outdir: where.outdir,
    projectDir: where.checkout,
    engine,
    providers: { kind: "user", reason: "the environment cdktf runs the engine with" },
  });
  // Before anything reads or writes there: the state's own cluster (ops/lifecycle/cluster-check.ts).
  await assertStateCluster(deployment);
  const { recovery, repaired } = await prepareDeploy(deployment, { autoStartRotation: false });
  const notes: string[] = [];
  if (recovery.tookOver.length > 0) {
    notes.push(
      `the deploy interrupted at ${recovery.interrupted?.startedAt ?? "an earlier time"} had made ${recovery.tookOver.join(", ")} without recording them; ` +
        "took them over as `npm run adopt` does (imported; its CAs used as they are, none made again)",
    );
  }
  for (const r of repaired) notes.push(`${r.address}: ${r.attribute} differed in Vault; wrote the configured value through the API`);
  if (deployment.config.backend.type === "local") keepLastGoodState(deployment.stateFile);
  // The CLI's engine writes the state next (main.ts refused one the setting `engine` does not allow): record it, as a run of ours does.
  recordEngine(engineRecordFile(deployment.config.stateDir, KEYSTORE_STACK), engine);
  // The CLI's apply runs after this process ends: the journal says what it is about to make, for the next
  // deploy if it is killed. Nothing here sees it end, so the next command clears it once the state is whole.
  const journal = deployJournalFile(deployment.config.stateDir);
  if (recovery.creates.length > 0) {
    writeDeployJournal(journal, { startedAt: new Date().toISOString(), vaultAddr: deployment.env.VAULT_ADDR ?? "", creates: recovery.creates });
  } else {
    clearDeployJournal(journal);
  }
  return { notes, deployment };
}
