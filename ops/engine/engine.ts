import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ENGINE_PRODUCT, EngineKind, EngineTarget, engineLabel, versionAtLeast } from "../../lib/engine-target";
import { ensureDir } from "../common/private-files";
import { EngineRecord } from "./engine-record";
import { cacheDir, readToolchainEnv } from "./toolchain";

/** The engine a command runs: OpenTofu or Terraform, one binary, its version. */
export interface Engine extends EngineTarget {
  /** Absolute path of the binary. */
  readonly binary: string;
  /** How it was found, for messages: `engine=auto: tofu on PATH`. */
  readonly foundBy: string;
}

/** The oldest release of each engine this stack runs on. */
export const ENGINE_MINIMUM: Readonly<Record<EngineKind, string>> = { tofu: "1.10.0", terraform: "1.5.0" };

const MINIMUMS = "OpenTofu 1.10 or later, or Terraform 1.5 or later";

/** `OpenTofu 1.10.10 (/path/tofu)`. */
export function describeEngine(engine: Engine): string {
  return `${engineLabel(engine)} (${engine.binary})`;
}

/** A binary's `version` banner, read: `OpenTofu v1.10.10` or `Terraform v1.11.4` on its first line. */
export function parseVersionBanner(banner: string): EngineTarget | undefined {
  const m = /^(OpenTofu|Terraform) v(\d+\.\d+\.\d+\S*)/.exec(banner.trimStart());
  if (!m) return undefined;
  return { kind: m[1] === "OpenTofu" ? "tofu" : "terraform", version: m[2] };
}

interface CachedIdentity {
  readonly mtimeMs: number;
  readonly size: number;
  readonly kind: EngineKind;
  readonly version: string;
}

/**
 * What `binary` is, from the first line of `<binary> version` (the JSON form
 * calls both engines' version `terraform_version`, so only the banner tells
 * them apart). Remembered in the cache directory per real path, modification
 * time and size, so a command does not pay for a process start each time.
 * Undefined when it is neither engine.
 */
export function identifyEngine(binary: string, env: NodeJS.ProcessEnv = process.env): EngineTarget | { readonly banner: string } {
  const real = realpathSync(binary);
  const { mtimeMs, size } = statSync(real);
  const file = join(cacheDir(env), "engines.json");
  const cache = readIdentityCache(file);
  const hit = cache[real];
  if (hit && hit.mtimeMs === mtimeMs && hit.size === size) return { kind: hit.kind, version: hit.version };
  const run = spawnSync(binary, ["version"], {
    encoding: "utf8",
    // No update check, and no warning about a missing CLI config file on the banner's stream.
    env: { PATH: env.PATH, HOME: env.HOME, CHECKPOINT_DISABLE: "1" },
    timeout: 30_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const banner = run.stdout ?? "";
  const identity = parseVersionBanner(banner);
  if (!identity) return { banner: (banner || run.stderr || String(run.error ?? "")).trim().split("\n")[0] ?? "" };
  try {
    ensureDir(cacheDir(env), "the toolchain cache directory (C42_CACHE)");
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...cache, [real]: { mtimeMs, size, ...identity } }, null, 1) + "\n", { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written costs one process start next time, nothing else.
  }
  return identity;
}

function readIdentityCache(file: string): Record<string, CachedIdentity> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, CachedIdentity>) : {};
  } catch {
    return {};
  }
}

/** The first executable `name` on `env.PATH`. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The engine the cdktf CLI runs, as it picks it: `TERRAFORM_BINARY_NAME` (a
 * name on PATH or a path), else `terraform`. Undefined when it cannot be
 * identified (cdktf then fails on its own, or the JSON is OpenTofu's form).
 */
export function cdktfEngine(env: NodeJS.ProcessEnv = process.env): Engine | undefined {
  const name = env.TERRAFORM_BINARY_NAME || "terraform";
  const binary = name.includes("/") ? name : onPath(name, env);
  if (!binary) return undefined;
  try {
    const identity = identifyEngine(binary, env);
    return "banner" in identity ? undefined : { ...identity, binary, foundBy: `the cdktf CLI's engine (TERRAFORM_BINARY_NAME=${name})` };
  } catch {
    return undefined;
  }
}

/**
 * Why `cdktf` must not run: TERRAFORM_BINARY_NAME names another engine than
 * the one that last wrote the state, and the setting `engine` does not ask
 * for the move.
 */
export function cdktfEngineMismatch(recorded: EngineRecord, cdktf: EngineTarget): string {
  return (
    `engine: this state was last written by ${engineLabel(recorded)}, but cdktf would run ${engineLabel(cdktf)} (TERRAFORM_BINARY_NAME); ` +
    `set TERRAFORM_BINARY_NAME to ${recorded.kind === "tofu" ? "tofu" : "terraform"}, or, to move the state to ${ENGINE_PRODUCT[cdktf.kind]} on purpose, ` +
    `set engine (C42_ENGINE) to "${cdktf.kind}"`
  );
}

/** The engine the setting `engine` chose could not be used. */
export class EngineChoiceError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "EngineChoiceError";
  }
}

interface Candidate {
  readonly binary: string;
  readonly foundBy: string;
}

/**
 * The engine for `choice` (the setting `engine`, already checked to be
 * `auto`, `tofu`, `terraform` or an absolute path):
 * - `auto`: the engine that last wrote the state (`recorded`), found as
 *   `tofu`/`terraform` below, and never another one; for a state no engine
 *   wrote yet, `tofu` on PATH, the toolchain's OpenTofu, then `terraform` on
 *   PATH, the first whose version is supported;
 * - `tofu`: `tofu` on PATH, else the toolchain's;
 * - `terraform`: `terraform` on PATH, else the one the test toolchain built;
 * - a path: that binary, whichever engine it is.
 * Fails naming the setting, what was found and what is expected.
 */
export function resolveEngine(choice: string, env: NodeJS.ProcessEnv = process.env, recorded?: EngineRecord): Engine {
  const toolchain = readToolchainEnv(env).values;
  const tofu = (): Candidate[] => [
    ...optional(onPath("tofu", env), "tofu on PATH"),
    ...optional(toolchain.C42_TOFU, "the toolchain's OpenTofu (npm run toolchain)"),
  ];
  const terraform = (): Candidate[] => [
    ...optional(onPath("terraform", env), "terraform on PATH"),
    ...optional(toolchain.C42_TERRAFORM, "the test toolchain's Terraform"),
  ];
  const setting = `engine (C42_ENGINE) ${JSON.stringify(choice)}`;
  if (choice.startsWith("/")) {
    try {
      accessSync(choice, constants.X_OK);
    } catch {
      throw new EngineChoiceError(`${setting}: no executable file there; expected the absolute path of a tofu or terraform binary`);
    }
    return usable({ binary: choice, foundBy: "engine (C42_ENGINE)" }, env, setting);
  }
  if (choice === "auto" && recorded !== undefined) return recordedEngine(recorded, recorded.kind === "tofu" ? tofu() : terraform(), env, setting);
  const candidates = choice === "tofu" ? tofu() : choice === "terraform" ? terraform() : [...tofu(), ...terraform()];
  const refused: string[] = [];
  for (const candidate of candidates) {
    try {
      const engine = usable(candidate, env, setting);
      if (choice === "auto" || engine.kind === choice) return engine;
      refused.push(`${candidate.foundBy} (${candidate.binary}) is ${engineLabel(engine)}`);
    } catch (e) {
      if (!(e instanceof EngineChoiceError)) throw e;
      refused.push(e.message.replace(`${setting}: `, ""));
    }
  }
  const expected = choice === "tofu" ? "OpenTofu 1.10 or later" : choice === "terraform" ? "Terraform 1.5 or later" : MINIMUMS;
  const found = refused.length > 0 ? refused.join("; ") : `no ${choice === "auto" ? "tofu or terraform" : choice} on PATH, and the toolchain has built none`;
  throw new EngineChoiceError(
    `${setting}: no usable engine: ${found}; expected ${expected}. ` +
      "Put one on PATH, set engine (C42_ENGINE) to a binary's absolute path, or run `npm run toolchain` (builds OpenTofu 1.10.10 when no engine is found; needs Go)",
  );
}

/** With `engine=auto`, the engine of the kind that last wrote the state; refuses a silent switch to the other kind. */
function recordedEngine(recorded: EngineRecord, candidates: Candidate[], env: NodeJS.ProcessEnv, setting: string): Engine {
  const refused: string[] = [];
  for (const candidate of candidates) {
    try {
      return usable({ ...candidate, foundBy: `${candidate.foundBy}, the engine that last wrote this state` }, env, setting);
    } catch (e) {
      if (!(e instanceof EngineChoiceError)) throw e;
      refused.push(e.message.replace(`${setting}: `, ""));
    }
  }
  const other = recorded.kind === "tofu" ? "terraform" : "tofu";
  throw new EngineChoiceError(
    `${setting}: this state was last written by ${engineLabel(recorded)}, and no ${ENGINE_PRODUCT[recorded.kind]} is usable now` +
      `${refused.length > 0 ? ` (${refused.join("; ")})` : ` (none on PATH or in the toolchain)`}; ` +
      `expected ${ENGINE_PRODUCT[recorded.kind]} on PATH, or engine (C42_ENGINE) set to "${other}" to move the state to ${ENGINE_PRODUCT[other]} on purpose`,
  );
}

/**
 * One line when this run moves the state to another engine than the one that
 * last wrote it (only an explicit `engine` does), else undefined.
 */
export function engineSwitchNote(engine: EngineTarget, recorded: EngineRecord | undefined): string | undefined {
  if (recorded === undefined || recorded.kind === engine.kind) return undefined;
  return (
    `engine: this state was last written by ${engineLabel(recorded)}; ${engineLabel(engine)} writes it from now on ` +
    `(engine=${engine.kind}), and engine=auto keeps ${ENGINE_PRODUCT[engine.kind]} after this run`
  );
}

function optional(binary: string | undefined, foundBy: string): Candidate[] {
  return binary ? [{ binary, foundBy }] : [];
}

/** The candidate as an engine, or an EngineChoiceError saying why not. */
function usable(candidate: Candidate, env: NodeJS.ProcessEnv, setting: string): Engine {
  let identity: ReturnType<typeof identifyEngine>;
  try {
    identity = identifyEngine(candidate.binary, env);
  } catch (e) {
    throw new EngineChoiceError(`${setting}: ${candidate.foundBy} (${candidate.binary}) cannot be read: ${(e as Error).message}`);
  }
  if ("banner" in identity) {
    throw new EngineChoiceError(
      `${setting}: ${candidate.binary} is not OpenTofu or Terraform (its \`version\` printed ${JSON.stringify(identity.banner)}); expected the absolute path of a tofu or terraform binary`,
    );
  }
  if (!versionAtLeast(identity.version, ENGINE_MINIMUM[identity.kind])) {
    throw new EngineChoiceError(
      `${setting}: ${candidate.foundBy} (${candidate.binary}) is ${engineLabel(identity)}, too old; expected ${ENGINE_PRODUCT[identity.kind]} ${ENGINE_MINIMUM[identity.kind].replace(/\.0$/, "")} or later (${MINIMUMS})`,
    );
  }
  return { ...identity, binary: candidate.binary, foundBy: candidate.foundBy };
}
