import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { App } from "cdktf";
import { KEYSTORE_STACK, KeystoreConfig, KeystoreStack, loadConfig } from "../lib";
import { certAuthTuneDrift } from "./cert-auth-tune";
import { explainStateError, looseStateFileWarning, removePlainBackup, statePassphraseEnv } from "./state-files";
import { Toolchain, loadToolchain, parseEnvFile } from "./toolchain";

/** The project root (this file lives in `<root>/ops`). */
export const PROJECT_DIR = resolve(__dirname, "..");

/** Result of one engine run. */
export interface TofuResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The parts of `tofu show -json <plan>` this project reads. */
export interface PlanJson {
  readonly resource_changes?: ResourceChange[];
  readonly resource_drift?: ResourceChange[];
}

/** One entry of a plan's `resource_changes` or `resource_drift`. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly change: {
    readonly actions: string[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    /** Attributes whose planned value is only known after apply (`true`, or nested). */
    readonly after_unknown?: Record<string, unknown>;
    readonly replace_paths?: unknown[];
  };
}

/** How a {@link Deployment} talks to its surroundings. */
export interface DeploymentOptions {
  /** Base environment: settings (`C42_*`) and the Vault connection. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where cdktf writes the synthesized stacks. @default "<project>/cdktf.out" */
  readonly outdir?: string;
  /** The project directory (config file and relative paths). @default the repository root */
  readonly projectDir?: string;
  /** Echo the engine's output while it runs (progress on long applies). @default false */
  readonly echo?: boolean;
  /** The toolchain. @default read from the cache's toolchain.env */
  readonly toolchain?: Toolchain;
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

/**
 * One stack on one Vault server: synthesizes it, then drives OpenTofu in the
 * synthesized directory with a provider mirror and no registry. Secrets reach
 * the engine only through its environment, never its argv.
 */
export class Deployment {
  public readonly env: NodeJS.ProcessEnv;
  public readonly projectDir: string;
  public readonly outdir: string;
  public readonly stackDir: string;
  public readonly config: KeystoreConfig;
  private readonly echo: boolean;
  private readonly toolchainOverride?: Toolchain;
  private initialized = false;

  public constructor(options: DeploymentOptions = {}) {
    this.projectDir = options.projectDir ?? PROJECT_DIR;
    this.env = resolveVaultEnv(options.env ?? process.env, this.projectDir);
    this.outdir = options.outdir ?? join(this.projectDir, "cdktf.out");
    this.stackDir = join(this.outdir, "stacks", KEYSTORE_STACK);
    this.echo = options.echo ?? false;
    this.toolchainOverride = options.toolchain;
    this.config = loadConfig({ env: this.env, cwd: this.projectDir });
  }

  /** The state file of the local backend. */
  public get stateFile(): string {
    return join(this.config.stateDir, `${KEYSTORE_STACK}.tfstate`);
  }

  /** Writes `cdk.tf.json`; every setting is validated before anything is written. */
  public synth(): string {
    const app = new App({ outdir: this.outdir });
    new KeystoreStack(app, KEYSTORE_STACK, { config: this.config });
    app.synth();
    return join(this.stackDir, "cdk.tf.json");
  }

  /** Synthesizes and initializes against the provider mirror. */
  public async init(): Promise<void> {
    this.synth();
    this.prepareStateDir();
    // The lock file lives in the generated cdktf.out and pins the hashes of
    // whatever plugins the mirror held when it was written; a rebuilt
    // toolchain would make init fail on it. The mirror is the only source, so
    // let init record it afresh.
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
    if (result.code !== 0) throw new Error(tofuFailure(args, result));
    this.initialized = true;
  }

  /** Applies the stack non-interactively. */
  public async apply(extraArgs: string[] = []): Promise<TofuResult> {
    await this.ensureInit();
    await this.repairCertAuthTune();
    const result = await this.tofuOk(["apply", "-input=false", "-no-color", "-auto-approve", ...extraArgs]);
    this.tightenState();
    return result;
  }

  /**
   * Makes a cert auth tune changed outside Terraform visible to the engine.
   * `vault_auth_backend` reads its tune TTLs back from state, not from Vault,
   * so such a change never shows in a plan and an apply never undoes it.
   * `import` does read the raw tune: when Vault's default lease differs from
   * the configured one, drop the resource from state and import it again; the
   * plan then shows the difference and the apply writes the configured value.
   * Does nothing (one API read) when they agree. Returns whether it acted.
   */
  public async repairCertAuthTune(): Promise<boolean> {
    await this.ensureInit();
    const drift = await certAuthTuneDrift(this);
    if (!drift) return false;
    const inState = await this.tofuOk(["state", "list", "-no-color", drift.address], { quiet: true });
    if (inState.stdout.trim() === "") return false;
    await this.tofuOk(["state", "rm", "-no-color", drift.address]);
    await this.tofuOk(["import", "-input=false", "-no-color", drift.address, this.config.certAuth.path]).catch((e: Error) => {
      throw new Error(`${e.message}\n${drift.address} is no longer in the state; restore it with: tofu import ${drift.address} ${this.config.certAuth.path} (in ${this.stackDir})`);
    });
    this.tightenState();
    return true;
  }

  /** Plans; with `-detailed-exitcode` the code is 0 (no changes), 2 (changes) or 1 (error). */
  public async plan(extraArgs: string[] = []): Promise<TofuResult> {
    await this.ensureInit();
    return this.tofu(["plan", "-input=false", "-no-color", "-detailed-exitcode", ...extraArgs]);
  }

  /** Writes a saved plan to `file` (0600: it embeds the state, keys included). */
  public planToFile(file: string, extraArgs: string[] = []): Promise<TofuResult> {
    return this.plan([`-out=${file}`, ...extraArgs]);
  }

  /** Applies exactly a saved plan; the engine refuses a plan whose state has moved on. */
  public async applyPlan(file: string): Promise<TofuResult> {
    await this.ensureInit();
    const result = await this.tofuOk(["apply", "-input=false", "-no-color", file]);
    this.tightenState();
    return result;
  }

  /** The JSON form of a saved plan (`tofu show -json`); it holds sensitive values. */
  public async showPlan(file: string): Promise<PlanJson> {
    await this.ensureInit();
    const result = await this.tofuOk(["show", "-json", "-no-color", file], { quiet: true });
    return JSON.parse(result.stdout) as PlanJson;
  }

  /** Destroys everything the state holds. */
  public async destroy(): Promise<TofuResult> {
    await this.ensureInit();
    const result = await this.tofuOk(["destroy", "-input=false", "-no-color", "-auto-approve"]);
    this.tightenState();
    return result;
  }

  /** The stack's outputs, sensitive ones included: never print them whole. */
  public async outputs(): Promise<Record<string, { value: unknown; sensitive?: boolean }>> {
    await this.ensureInit();
    const result = await this.tofu(["output", "-json", "-no-color"], { quiet: true });
    if (result.code !== 0) throw new Error(`tofu output failed (exit ${result.code}): ${result.stderr.trim()}`);
    return JSON.parse(result.stdout || "{}");
  }

  /** Runs the engine in the stack directory; fails on a non-zero exit. */
  public async tofuOk(args: string[], options: { quiet?: boolean } = {}): Promise<TofuResult> {
    const result = await this.tofu(args, options);
    if (result.code !== 0) throw new Error(tofuFailure(args, result));
    return result;
  }

  /**
   * Runs the engine in the stack directory with umask 077, so the state,
   * its backups and plan files are created readable by the owner only.
   */
  public tofu(args: string[], options: { quiet?: boolean } = {}): Promise<TofuResult> {
    if (!this.env.VAULT_ADDR) {
      return Promise.reject(new Error("VAULT_ADDR is not set and no local server is recorded in .local/vault.env; run `npm run server:start`, or set VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT"));
    }
    const toolchain = this.toolchainOverride ?? loadToolchain(this.env);
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      TF_CLI_CONFIG_FILE: toolchain.cliConfigFile,
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
      ...statePassphraseEnv(this.env),
    };
    const echo = this.echo && !options.quiet;
    return new Promise((resolvePromise, reject) => {
      const child = spawn("/bin/sh", ["-c", 'umask 077 && exec "$0" "$@"', toolchain.tofu, ...args], {
        cwd: this.stackDir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (echo) process.stdout.write(d);
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (echo) process.stderr.write(d);
      });
      child.on("error", reject);
      child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
    });
  }

  private async ensureInit(): Promise<void> {
    if (!this.initialized) await this.init();
  }

  private prepareStateDir(): void {
    mkdirSync(this.config.stateDir, { recursive: true, mode: 0o700 });
    chmodSync(this.config.stateDir, 0o700);
    for (const file of [this.stateFile, `${this.stateFile}.backup`]) {
      const warning = looseStateFileWarning(file);
      if (warning) {
        process.stderr.write(warning + "\n");
        chmodSync(file, 0o600);
      }
    }
  }

  private tightenState(): void {
    for (const file of [this.stateFile, `${this.stateFile}.backup`]) {
      if (existsSync(file)) chmodSync(file, 0o600);
    }
    const removed = this.config.stateEncryption.enabled ? removePlainBackup(this.stateFile) : undefined;
    if (removed) process.stderr.write(removed + "\n");
  }
}

/** The error for a failed engine run: our explanation of state errors, then the engine's last lines. */
function tofuFailure(args: string[], result: TofuResult): string {
  const tail = result.stderr.trim().split("\n").slice(-25).join("\n");
  const explanation = explainStateError(result.stderr);
  return `${explanation ? explanation + "\n" : ""}tofu ${args[0]} failed (exit ${result.code}):\n${tail}`;
}
