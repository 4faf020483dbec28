import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RotationPhase } from "../../lib/admin-rotation-phase";
import { ADOPTION_OUTPUT, AdoptionImports, AdoptionInput, parseAdoptionRecord } from "../../lib/adoption-record";
import { CLUSTER_OUTPUT, ClusterIdentity, parseClusterRecord } from "../../lib/cluster-identity-record";
import { KeystoreConfig, loadConfig } from "../../lib/config";
import { parseDuration } from "../../lib/duration";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { parseEnvFile } from "../common/env-file";
import { PROJECT_DIR } from "../common/paths";
import { holdProjectLock } from "../lock/held-locks";
import { ensureDir } from "../common/private-files";
import { PLAN_NOTES_VARIABLE, PlanJson, diagnosticsText, readUiMessages, reportsDrift } from "./plan-json";
import { recordedRotationPhase } from "./rotation-record";
import { assertStateLocationUnchanged, configuredLocation, describeLocation, locationRecordFile, recordLocation } from "./state-location";
import { forgetInit, initIsCurrent, recordInit } from "./init-fingerprint";
import {
  ENCRYPTED_STATE_MESSAGE,
  isEncryptedState,
  keepLastGoodState,
  lastGoodStateFile,
  looseStateDirWarning,
  noStateMessage,
  looseStateFileWarning,
  removeLeftoverCopies,
  removePlainBackup,
  readPlainState,
  restoreLastGoodState,
  StateOutputs,
  StateRead,
  statePassphraseEnv,
} from "./state-files";
import { Engine, describeEngine, engineSwitchNote, resolveEngine } from "./engine";
import { EngineRecord, engineRecordFile, readEngineRecord, recordEngine } from "./engine-record";
import { ProviderSource, chooseProviderSource, describeProviderSource, providerEnv, providerSourceHint } from "./provider-source";
import { SynthOutcome, synthesizeWithCache } from "./synth-cache";
import { EngineError, EngineOutput, PLANNING_FAILED, StateMovedError, TofuResult, engineFailure, withStateLockTimeout, writesState } from "./engine-run";
import { StateResource, stateResources } from "./state-resources";

const NO_VAULT_ADDR =
  "VAULT_ADDR is not set and no local server is recorded in .local/vault.env; run `npm run server:start`, or set VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT";

/** What a backend that holds no state yet gives. */
const NO_STATE: StateRead = { outputs: {}, resources: [] };

const PROCESS_OUTPUT: EngineOutput = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) };

/** How a {@link Deployment} talks to its surroundings. */
export interface DeploymentOptions {
  /** Base environment: settings (`C42_*`) and the Vault connection. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where cdktf writes the synthesized stacks. @default "<project>/cdktf.out" */
  readonly outdir?: string;
  /** The project directory (config file and relative paths). @default the repository root */
  readonly projectDir?: string;
  /**
   * Echo the engine's output while it runs (progress on long applies): to the
   * given writers (a command passes its CommandIo), or with `true` to this
   * process's stdout and stderr. @default false
   */
  readonly echo?: boolean | EngineOutput;
  /** The engine. @default the one the setting `engine` chooses (see engine.ts) */
  readonly engine?: Engine;
  /** Where the providers come from. @default by the rule in provider-source.ts */
  readonly providers?: ProviderSource;
  /** Stops any engine run (SIGTERM) when aborted; the run then rejects. @default - runs are never stopped */
  readonly signal?: AbortSignal;
  /** The settings, loaded already (the cdktf app's). @default loaded from `env` and the project directory */
  readonly config?: KeystoreConfig;
}

/**
 * The Vault connection the provider reads: the environment's when VAULT_ADDR
 * is set, else the local server's `.local/vault.env` when there is one.
 */
export function resolveVaultEnv(env: NodeJS.ProcessEnv, projectDir: string): NodeJS.ProcessEnv {
  if (env.VAULT_ADDR) return env;
  const local = join(projectDir, ".local", "vault.env");
  if (existsSync(local)) return { ...env, ...parseEnvFile(readFileSync(local, "utf8")) };
  return env;
}

/** What a synth builds from besides the configuration, as the state records it (the last apply's). */
export interface SynthRecords {
  /** The admin certificate's rotation phase. */
  readonly phase: RotationPhase;
  /** What `npm run adopt` adopted, when anything. */
  readonly adoption?: AdoptionInput;
  /** Whether there is a state at all (lib/state-records.ts: a remote backend's JSON reads its records back only then). */
  readonly stateExisted: boolean;
  /** The Vault cluster the state belongs to (lib/cluster-identity.ts); `undefined` while it records none. */
  readonly cluster?: ClusterIdentity;
  /** Where the state is, for messages: the local file, or the backend's location. */
  readonly where: string;
}

/**
 * One stack on one Vault server: synthesizes it, then drives the engine
 * (OpenTofu or Terraform, see engine.ts) in the synthesized directory, with
 * providers from the source provider-source.ts picks. Secrets reach
 * the engine only through its environment, never its argv.
 */
export class Deployment {
  public readonly env: NodeJS.ProcessEnv;
  public readonly projectDir: string;
  public readonly outdir: string;
  public readonly stackDir: string;
  public readonly config: KeystoreConfig;
  private readonly echo?: EngineOutput;
  private engineInUse?: Engine;
  private providersInUse?: ProviderSource;
  private readonly signal?: AbortSignal;
  private initialized = false;
  private recordedPhase: RotationPhase = "idle";
  private targetPhase?: RotationPhase;
  private recordedAdoption?: AdoptionInput;
  /** How many managed resources the state recorded when {@link readRecordedPhase} last read it. */
  private recordedResources = 0;
  /** The Vault cluster the state records (see lib/cluster-identity.ts). */
  private recordedClusterIdentity?: ClusterIdentity;
  /** The cluster at VAULT_ADDR, as the command read it (see {@link useCluster}). */
  private liveCluster?: ClusterIdentity;
  /**
   * Set by `npm run rebind` only: the stack omits the check that the engine
   * talks to the cluster the state records (ops/lifecycle/rebind.ts guards that run instead).
   */
  public rebinding = false;
  /** Whether the state existed when last read (a remote backend's JSON reads its records back only then: lib/state-records.ts). */
  private stateExisted = true;
  private adopting?: { readonly adoption: AdoptionInput; readonly imports: AdoptionImports };
  /** Set only for the engine run of {@link destroy} with `includingArchiveKeys`. */
  private releaseArchiveKeys = false;
  /** The {@link synthInputs} of the last synth (cdk.tf.json depends on nothing else that changes during a command). */
  private synthesized?: string;
  private lastSynth?: SynthOutcome;

  public constructor(options: DeploymentOptions = {}) {
    this.projectDir = options.projectDir ?? PROJECT_DIR;
    this.env = resolveVaultEnv(options.env ?? process.env, this.projectDir);
    this.outdir = options.outdir ?? join(this.projectDir, "cdktf.out");
    this.stackDir = join(this.outdir, "stacks", KEYSTORE_STACK);
    this.echo = options.echo === true ? PROCESS_OUTPUT : options.echo || undefined;
    this.engineInUse = options.engine;
    this.providersInUse = options.providers;
    this.signal = options.signal;
    this.config = options.config ?? loadConfig({ env: this.env, cwd: this.projectDir });
  }

  /** The state file of the local backend. */
  public get stateFile(): string {
    return join(this.config.stateDir, `${KEYSTORE_STACK}.tfstate`);
  }

  /**
   * The engine this deployment runs (the setting `engine`; OpenTofu preferred),
   * found on first use. Fails with the setting, what was found and what is
   * expected.
   */
  public get engine(): Engine {
    this.engineInUse ??= resolveEngine(this.config.engine, this.env, this.recordedEngine());
    return this.engineInUse;
  }

  /** The engine that last wrote this state (see engine-record.ts), when recorded. */
  public recordedEngine(): EngineRecord | undefined {
    return readEngineRecord(engineRecordFile(this.config.stateDir, KEYSTORE_STACK));
  }

  /** One line when this run moves the state to another engine than the one that last wrote it, else undefined. */
  public engineSwitch(): string | undefined {
    return engineSwitchNote(this.engine, this.recordedEngine());
  }

  /** Where the engine installs the providers from (see provider-source.ts). */
  public get providers(): ProviderSource {
    this.providersInUse ??= chooseProviderSource(this.engine.kind, this.env);
    return this.providersInUse;
  }

  /** One line for a command's output: `engine: OpenTofu 1.10.10 (/…/tofu); providers from …`. */
  public describeEngine(): string {
    return `engine: ${describeEngine(this.engine)}; ${describeProviderSource(this.providers, this.engine.kind)}`;
  }

  /** This checkout's record of where the state was last initialized (see ops/engine/state-location.ts). */
  public get locationRecord(): string {
    return locationRecordFile(this.projectDir);
  }

  /** Records the location the synthesized configuration names as the one the state is at now. */
  public recordStateLocation(): void {
    const location = configuredLocation(this.stackDir, this.env);
    if (location) recordLocation(this.locationRecord, location);
  }

  /** Writes `cdk.tf.json`; every setting is validated before anything is written. */
  public synth(): string {
    const inputs = this.synthInputs();
    const { rotation, cluster, rebinding, adoption, imports, releaseArchiveKeys, stateExisted } = inputs;
    // A plain synth needs no engine; when none is found it writes OpenTofu's form, and the first run says why.
    const engine = this.engineIfFound();
    const cacheInputs = { builder: "deployment", config: this.config, env: this.env, cwd: this.projectDir, engine, records: inputs, outdir: this.outdir };
    this.lastSynth = synthesizeWithCache(cacheInputs, () => {
      // Loaded on a miss only: a command whose synthesized JSON is reused loads neither cdktf nor the stack.
      const { synthesizeStack } = require("./stack-synth") as typeof import("./stack-synth");
      synthesizeStack(this.outdir, { releaseArchiveKeys, config: this.config, engine, rotation, adoption, imports, cluster, rebinding, stateExisted });
    });
    this.synthesized = JSON.stringify(inputs);
    return join(this.stackDir, "cdk.tf.json");
  }

  /** Whether the last {@link synth} reused the JSON of an earlier one with the same inputs (ops/engine/synth-cache.ts). */
  public get lastSynthOutcome(): SynthOutcome | undefined {
    return this.lastSynth;
  }

  /** What a synth builds from besides the configuration: the rotation phases and the adoption. */
  private synthInputs() {
    return {
      rotation: { phase: this.targetPhase ?? this.recordedPhase, recorded: this.recordedPhase },
      cluster: this.clusterToRecord(),
      rebinding: this.rebinding,
      adoption: this.adopting?.adoption ?? this.recordedAdoption,
      imports: this.adopting?.imports,
      releaseArchiveKeys: this.releaseArchiveKeys,
      // The local backend's JSON looks for its state file itself.
      stateExisted: this.config.backend.type === "local" ? undefined : this.stateExisted,
    };
  }

  /** Synthesizes again when what the state records moved the {@link synthInputs} since the last synth. */
  private synthIfInputsMoved(): void {
    if (this.synthesized !== JSON.stringify(this.synthInputs())) this.synth();
  }

  /**
   * Takes this checkout's project lock for the rest of the command (waiting
   * up to `lockTimeout` for another command), before anything writes
   * cdktf.out or runs the engine. Re-entrant; released when the command ends.
   */
  public async holdLock(): Promise<void> {
    await holdProjectLock(this.projectDir, this.lockTimeoutSeconds * 1000, (line) => process.stderr.write(`${line}\n`));
  }

  private engineIfFound(): Engine | undefined {
    try {
      return this.engine;
    } catch {
      return undefined;
    }
  }

  /** `lockTimeout` in seconds. */
  private get lockTimeoutSeconds(): number {
    return parseDuration("lockTimeout", this.config.lockTimeout);
  }

  /**
   * Synthesizes and initializes the engine (providers from {@link providers});
   * `tofu init` runs only when something it depends on changed since the last
   * successful one (see init-fingerprint.ts).
   */
  public async init(): Promise<void> {
    await this.holdLock();
    // Before anything is written or run: an engine that is missing, too old, or (under state encryption) not OpenTofu.
    void this.engine;
    this.synth();
    // Before the engine (which would stop at "Backend configuration changed") and before the new state directory exists.
    assertStateLocationUnchanged(this.stackDir, this.locationRecord, this.env);
    this.prepareStateDir();
    this.assertEngineCanOpenState();
    await this.initEngine();
    this.recordStateLocation();
    this.initialized = true;
    // The rotation phase and the adoption live in the state, so that every machine and
    // job sharing it builds the same stack: synthesize again when they are not the ones assumed.
    await this.readRecordedPhase();
    this.synthIfInputsMoved();
  }

  private async initEngine(): Promise<void> {
    if (!this.env.VAULT_ADDR) throw new Error(NO_VAULT_ADDR);
    if (initIsCurrent(this.stackDir, this.engine, this.providers, this.env)) return;
    forgetInit(this.stackDir);
    // The lock file lives in the generated cdktf.out and pins the hashes of
    // the plugins its source (this engine's registry, the user's mirror or the
    // toolchain's) offered when it was written; a rebuilt toolchain, another
    // engine or another source would make init fail on it. Let init record
    // what it installs now, so the lock file always matches what is used.
    rmSync(join(this.stackDir, ".terraform.lock.hcl"), { force: true });
    const args = ["init", "-input=false", "-no-color"];
    let result = await this.tofu(args);
    // The pg backend creates its schema and table with CREATE … IF NOT EXISTS,
    // which PostgreSQL does not make safe against a concurrent first init: the
    // loser fails on a duplicate pg_type row although the table now exists.
    // One more init then finds it (measured in CI with two deploys at once).
    if (result.code !== 0 && /pq: duplicate key value violates unique constraint/.test(result.stderr)) {
      result = await this.tofu(args);
    }
    if (result.code !== 0) {
      const hint = providerSourceHint(this.providers, this.engine.kind);
      throw new Error(engineFailure(args, result, this.engine.kind) + (hint ? `\n${hint}` : ""));
    }
    recordInit(this.stackDir, this.engine, this.providers, this.env);
  }

  /** Reads the rotation phase and the adoption record the state records (the last apply's). */
  private async readRecordedPhase(): Promise<void> {
    const { outputs, resources, exists } = await this.readState();
    this.stateExisted = exists;
    this.recordedResources = resources.length;
    this.recordedClusterIdentity = parseClusterRecord(outputs[CLUSTER_OUTPUT]?.value);
    this.recordedPhase = recordedRotationPhase(outputs);
    this.recordedAdoption = parseAdoptionRecord(outputs[ADOPTION_OUTPUT]?.value);
  }

  /**
   * Fails with "There is no state at …: check stateDir." when the state
   * records no resource (no file, an empty file, or a state with none): a
   * check against it would only list every resource as one to create, which
   * is not drift but a wrong `stateDir` (or backend), or a keystore never deployed.
   */
  public async requireState(): Promise<void> {
    await this.ensureInit();
    // What init read may predate an apply by this same deployment.
    if (this.recordedResources === 0) await this.readRecordedPhase();
    if (this.recordedResources > 0) return;
    throw new Error(noStateMessage(this.stateWhere, this.config.backend.type === "local" ? "stateDir" : "backend"));
  }

  /**
   * Tells the stack which cluster VAULT_ADDR answers as (read by the command
   * through the API; this layer never calls Vault), so that the state records
   * its id and name beside the token auth accessor the engine reads.
   */
  public useCluster(live: ClusterIdentity): void {
    this.liveCluster = live;
    if (this.synthesized !== undefined) this.synth();
  }

  /**
   * What the stack records as the state's cluster: the record the state holds
   * for the cluster VAULT_ADDR answers as (kept as it is, so that a command
   * that does not read the cluster builds the same JSON), else the cluster
   * the command read (a first binding, or `npm run rebind`).
   */
  private clusterToRecord(): ClusterIdentity | undefined {
    const recorded = this.recordedClusterIdentity;
    if (this.rebinding || recorded === undefined) return this.liveCluster;
    return this.liveCluster === undefined || this.liveCluster.tokenAccessor === recorded.tokenAccessor ? recorded : this.liveCluster;
  }

  /** The Vault cluster the state records (`undefined`: none yet), read at init. */
  public async recordedCluster(): Promise<ClusterIdentity | undefined> {
    await this.ensureInit();
    return this.recordedClusterIdentity;
  }

  /** Where the state is, for messages: the local file, or the backend's location. */
  public get stateWhere(): string {
    if (this.config.backend.type === "local") return this.stateFile;
    const location = configuredLocation(this.stackDir, this.env);
    return location ? describeLocation(location) : `the ${this.config.backend.type} backend`;
  }

  /** What the state records for a synth, read at init: what `main.ts` builds the stack from (ops/engine/synth-records.ts). */
  public async records(): Promise<SynthRecords> {
    await this.ensureInit();
    return {
      phase: this.recordedPhase,
      adoption: this.recordedAdoption,
      cluster: this.recordedClusterIdentity,
      stateExisted: this.stateExisted,
      where: this.stateWhere,
    };
  }

  /** What the state records as adopted (`npm run adopt`), read at init. */
  public async adoption(): Promise<AdoptionInput | undefined> {
    await this.ensureInit();
    return this.recordedAdoption;
  }

  /**
   * Makes the next plan or apply build the stack around `adoption` and import
   * `imports` into the state (ops/lifecycle/adopt.ts); `undefined` goes back to
   * what the state records, read again.
   */
  public async adoptWith(adopting: { readonly adoption: AdoptionInput; readonly imports: AdoptionImports } | undefined): Promise<void> {
    await this.ensureInit();
    this.adopting = adopting;
    if (!adopting) await this.readRecordedPhase();
    this.synth();
  }

  /**
   * The state's root outputs and what it records of each resource: address,
   * type and the Vault ids it names (the rest of the state, keys included, is
   * dropped at once). A plain local state is read from its file; any other
   * (remote, encrypted, or a file caught mid-write) with `state pull`.
   */
  private async readState(): Promise<{ outputs: StateOutputs; resources: StateResource[]; exists: boolean }> {
    const local = this.readPlainLocalState();
    const read = local ?? (await this.pullState());
    return { outputs: read.outputs, resources: stateResources(read.resources), exists: local !== undefined || read !== NO_STATE };
  }

  /** A local state without encryption, read from its file; `undefined` for every other. */
  private readPlainLocalState(): StateRead | undefined {
    if (this.config.backend.type !== "local" || this.config.stateEncryption.enabled) return undefined;
    return readPlainState(this.stateFile);
  }

  private async pullState(): Promise<StateRead> {
    const pulled = await this.tofuOk(["state", "pull"], { quiet: true });
    if (pulled.stdout.trim() === "") return NO_STATE;
    const { outputs, resources, lineage } = JSON.parse(pulled.stdout) as { outputs?: StateOutputs; resources?: unknown; lineage?: unknown };
    // With no state stored, both engines print an empty one with no lineage (measured: pg, Terraform 1.11 and OpenTofu 1.10).
    if (typeof lineage !== "string" || lineage === "") return NO_STATE;
    return { outputs: outputs ?? {}, resources };
  }

  /** The managed resources the state records (see {@link StateResource}). */
  public async stateResources(): Promise<StateResource[]> {
    await this.ensureInit();
    return (await this.readState()).resources;
  }

  /**
   * The rotation phase the state records (read by {@link init}), or, after
   * {@link rotateTo}, the phase the next apply or plan builds.
   */
  public async rotationPhase(): Promise<{ readonly recorded: RotationPhase; readonly target: RotationPhase }> {
    await this.ensureInit();
    return { recorded: this.recordedPhase, target: this.targetPhase ?? this.recordedPhase };
  }

  /** Makes the next apply or plan build the stack in rotation phase `phase` (see lib/admin-rotation.ts). */
  public async rotateTo(phase: RotationPhase): Promise<void> {
    await this.ensureInit();
    this.targetPhase = phase;
    this.synth();
  }

  /**
   * Applies the stack non-interactively. Refused, with nothing applied, when
   * the state no longer records the rotation phase this command read at init:
   * another command or machine sharing the state moved a rotation on (a remote
   * backend's lock is held per engine run only), and a stack built for the old
   * phase would undo that (abort a rotation whose bundle Code42 already has, or
   * start a new one). The check runs right before the engine; a change in the
   * moment between the two is not caught.
   */
  public async apply(extraArgs: string[] = []): Promise<TofuResult> {
    await this.ensureInit();
    const now = recordedRotationPhase((await this.readState()).outputs);
    if (now !== this.recordedPhase) {
      throw new StateMovedError(
        `the state now records rotation phase "${now}", not "${this.recordedPhase}" as when this command read it: ` +
          "another command or machine sharing the state moved the rotation on. Nothing was applied; run the command again",
      );
    }
    let result: TofuResult;
    this.keepLastGoodState();
    try {
      result = await this.tofuOk(["apply", "-input=false", "-no-color", "-auto-approve", ...extraArgs]);
    } finally {
      this.tightenState();
    }
    const built = this.targetPhase ?? this.recordedPhase;
    this.targetPhase = undefined;
    // Read what the state records now, unless that takes an engine start (remote or encrypted state) and the
    // apply wrote exactly what was built: the phase, and the adoption already recorded (a targeted or
    // adopting apply is read back).
    if (this.readPlainLocalState() === undefined && extraArgs.length === 0 && !this.adopting) {
      this.recordedPhase = built;
      this.stateExisted = true;
    } else await this.readRecordedPhase();
    this.synthIfInputsMoved();
    return result;
  }

  /**
   * Brings the state in line with what the server holds, changing nothing in
   * Vault (`apply -refresh-only`). After a failed apply the state can hold
   * values the server refused; this makes the next drift check tell the truth.
   */
  public async refreshState(options: { readonly afterFailedRun?: boolean } = {}): Promise<TofuResult> {
    await this.ensureInit();
    // A refresh also writes the outputs, the rotation phase among them: it
    // must keep the phase the state records, not the one a failed apply
    // aimed at.
    this.targetPhase = undefined;
    await this.readRecordedPhase();
    this.synth();
    // After a failed run, the last good state and the engine's backup stay the ones from before that run:
    // the state the failed run left is never kept as good (it may have lost what the run could not find).
    if (!options.afterFailedRun) this.keepLastGoodState();
    const keepBackup = options.afterFailedRun && this.config.backend.type === "local" ? ["-backup=-"] : [];
    try {
      return await this.tofuOk(["apply", "-input=false", "-no-color", "-auto-approve", "-refresh-only", ...keepBackup], { quiet: true });
    } finally {
      this.tightenState();
    }
  }

  /** Plans; with `-detailed-exitcode` the code is 0 (no changes), 2 (changes) or 1 (error). */
  public async plan(extraArgs: string[] = []): Promise<TofuResult> {
    await this.ensureInit();
    return this.tofu(["plan", "-input=false", "-no-color", "-detailed-exitcode", ...extraArgs]);
  }

  /** Plans (see {@link plan}); fails unless the engine says "no changes" (0) or "changes" (2). */
  public async planOk(extraArgs: string[] = []): Promise<TofuResult> {
    const args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", ...extraArgs];
    const result = await this.plan(extraArgs);
    if (result.code !== 0 && result.code !== 2) throw new Error(engineFailure(args, result, this.engine.kind));
    return result;
  }

  /**
   * Writes a saved plan to `file` (0600: it embeds the state, keys included),
   * with `notes` recorded in it (see {@link PLAN_NOTES_VARIABLE}).
   */
  public planToFile(file: string, notes = ""): Promise<TofuResult> {
    return this.planOk([`-out=${file}`, ...(notes ? [`-var=${PLAN_NOTES_VARIABLE}=${notes}`] : [])]);
  }

  /**
   * Writes a saved plan to `file` (0600) and says whether it holds anything a
   * drift report lists: a resource change other than a read, or a resource
   * changed outside the engine, as the engine's machine-readable stream
   * (`-json`) names them. When it holds neither, `show -json` of the plan would
   * list only no-ops and reads, and the caller can spare that engine start.
   */
  public async planForDrift(file: string): Promise<{ readonly changesOrDrift: boolean }> {
    await this.ensureInit();
    const args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-json", `-out=${file}`];
    const result = await this.tofu(args, { quiet: true });
    const messages = readUiMessages(result.stdout);
    if (result.code !== 0 && result.code !== 2) {
      // With -json the engine reports its errors on stdout, as JSON: put them where engineFailure reads them.
      throw new Error(engineFailure(args, { ...result, stderr: `${result.stderr}${diagnosticsText(messages)}` }, this.engine.kind));
    }
    return { changesOrDrift: result.code === 2 || messages.some(reportsDrift) };
  }

  /** The notes a saved plan carries (see {@link planToFile}). */
  public static planNotes(plan: PlanJson): string {
    const value = plan.variables?.[PLAN_NOTES_VARIABLE]?.value;
    return typeof value === "string" ? value : "";
  }

  /** Applies exactly a saved plan; the engine refuses a plan whose state has moved on. */
  public async applyPlan(file: string): Promise<TofuResult> {
    await this.ensureInit();
    this.keepLastGoodState();
    try {
      return await this.tofuOk(["apply", "-input=false", "-no-color", file]);
    } finally {
      this.tightenState();
    }
  }

  /** The JSON form of a saved plan (`tofu show -json`); it holds sensitive values. */
  public async showPlan(file: string): Promise<PlanJson> {
    await this.ensureInit();
    const result = await this.tofuOk(["show", "-json", "-no-color", file], { quiet: true });
    return JSON.parse(result.stdout) as PlanJson;
  }

  /**
   * Destroys everything the state holds. The kv mount (the archive keys) is
   * protected by prevent_destroy unless `includingArchiveKeys` is set: then
   * this one engine run is synthesized without it, and the synthesized stack
   * is protected again afterwards, however the run ends. Deciding to pass it
   * (counting the keys, a backup, consent) is the caller's job.
   */
  public async destroy(options: { readonly includingArchiveKeys?: boolean } = {}): Promise<TofuResult> {
    await this.ensureInit();
    this.releaseArchiveKeys = options.includingArchiveKeys === true;
    this.synthIfInputsMoved();
    this.keepLastGoodState();
    try {
      return await this.tofuOk(["destroy", "-input=false", "-no-color", "-auto-approve"]);
    } finally {
      this.tightenState();
      if (this.releaseArchiveKeys) {
        this.releaseArchiveKeys = false;
        this.synth();
      }
    }
  }

  /** The stack's outputs, sensitive ones included: never print them whole. */
  public async outputs(): Promise<StateOutputs> {
    await this.ensureInit();
    const local = this.readPlainLocalState();
    if (local) return local.outputs;
    const result = await this.tofu(["output", "-json", "-no-color"], { quiet: true });
    if (result.code !== 0) throw new Error(engineFailure(["output"], result, this.engine.kind));
    return JSON.parse(result.stdout || "{}");
  }

  /** Runs the engine in the stack directory; fails on a non-zero exit. */
  public async tofuOk(args: string[], options: { quiet?: boolean } = {}): Promise<TofuResult> {
    const result = await this.tofu(args, options);
    if (result.code !== 0) {
      throw new EngineError(engineFailure(args, result, this.engine.kind), result.signal, PLANNING_FAILED.test(result.stdout));
    }
    return result;
  }

  /**
   * Runs the engine in the stack directory with umask 077, so the state,
   * its backups and plan files are created readable by the owner only.
   */
  public tofu(args: string[], options: { quiet?: boolean } = {}): Promise<TofuResult> {
    if (!this.env.VAULT_ADDR) return Promise.reject(new Error(NO_VAULT_ADDR));
    let engine: Engine;
    let providers: ProviderSource;
    try {
      engine = this.engine;
      providers = this.providers;
    } catch (e) {
      return Promise.reject(e);
    }
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      // Only the toolchain's mirror sets a CLI config; a user's own TF_CLI_CONFIG_FILE passes through untouched.
      ...providerEnv(providers),
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
      ...statePassphraseEnv(this.env),
    };
    const echo = options.quiet ? undefined : this.echo;
    const engineArgs = withStateLockTimeout(args, this.lockTimeoutSeconds);
    return new Promise((resolvePromise, reject) => {
      const child = spawn("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', engine.binary, ...engineArgs], {
        cwd: this.stackDir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
        // `exec` above makes tofu the child itself, so the signal reaches the engine.
        signal: this.signal,
        killSignal: "SIGTERM",
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        echo?.stdout(d.toString());
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        echo?.stderr(d.toString());
      });
      child.on("error", reject);
      child.on("close", (code, signal) => {
        if (code === 0 && writesState(args)) this.recordWriter(engine);
        resolvePromise(signal ? { code: code ?? 1, signal, stdout, stderr } : { code: code ?? 1, stdout, stderr });
      });
    });
  }

  /** Remembers the engine that wrote the state; a record that cannot be written costs only the stickiness. */
  private recordWriter(engine: Engine): void {
    try {
      recordEngine(engineRecordFile(this.config.stateDir, KEYSTORE_STACK), engine);
    } catch (e) {
      process.stderr.write(`warning: cannot record the engine that wrote the state: ${(e as Error).message}\n`);
    }
  }

  /** Synthesizes and initializes unless this deployment already did. */
  public async ensureInit(): Promise<void> {
    if (!this.initialized) await this.init();
  }

  /**
   * A local encrypted state that the engine cannot open (Terraform, or OpenTofu
   * without the passphrase) is said so before the engine says it its own way
   * (Terraform: "Unsupported state file format").
   */
  private assertEngineCanOpenState(): void {
    if (this.config.backend.type !== "local" || !isEncryptedState(this.stateFile)) return;
    if (this.engine.kind === "terraform" || !this.config.stateEncryption.enabled) throw new Error(ENCRYPTED_STATE_MESSAGE);
  }

  private prepareStateDir(): void {
    ensureDir(this.config.stateDir, "stateDir (C42_STATE_DIR)");
    const looseDir = looseStateDirWarning(this.config.stateDir);
    if (looseDir) process.stderr.write(looseDir + "\n");
    for (const file of [this.stateFile, `${this.stateFile}.backup`, lastGoodStateFile(this.stateFile)]) {
      const warning = looseStateFileWarning(file);
      if (warning) {
        process.stderr.write(warning + "\n");
        chmodSync(file, 0o600);
      }
    }
    this.restoreLastGoodState();
    this.removeLeftoverCopies();
  }

  /**
   * With an encrypted local state: removes the plain copies and the copies
   * the old passphrase opens that an earlier run left (see
   * {@link removeLeftoverCopies} in state-files.ts), saying so on stderr.
   * Every command does it at init, so a killed run's leftovers go at the next one.
   */
  public removeLeftoverCopies(): void {
    if (this.config.backend.type !== "local" || !this.config.stateEncryption.enabled) return;
    for (const line of removeLeftoverCopies(this.stateFile, this.stateBackupDir)) process.stderr.write(line + "\n");
  }

  /** Where migrate-state keeps its backups of the state: `<project>/.local/state-backups`. */
  public get stateBackupDir(): string {
    return join(this.projectDir, ".local", "state-backups");
  }

  private tightenState(): void {
    for (const file of [this.stateFile, `${this.stateFile}.backup`, lastGoodStateFile(this.stateFile)]) {
      if (existsSync(file)) chmodSync(file, 0o600);
    }
    const removed = this.config.stateEncryption.enabled ? removePlainBackup(this.stateFile) : undefined;
    for (const line of removed?.split("\n") ?? []) process.stderr.write(line + "\n");
    // A run stopped while writing the state leaves it damaged: never leave it so.
    this.restoreLastGoodState();
    this.removeLeftoverCopies();
  }

  /**
   * The local backend's state file is rewritten in place; the other backends
   * keep their own state (pg writes it in one transaction, the object stores
   * replace it whole), so there is nothing to keep or restore for them.
   */
  private keepLastGoodState(): void {
    if (this.config.backend.type === "local") keepLastGoodState(this.stateFile);
  }

  private restoreLastGoodState(): void {
    const restored = this.config.backend.type === "local" ? restoreLastGoodState(this.stateFile) : undefined;
    if (restored) process.stderr.write(restored + "\n");
  }
}
