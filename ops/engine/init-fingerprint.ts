import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "./engine";
import { ProviderSource, defaultCliConfigFile, providerEnv } from "./provider-source";

/** The file in a stack directory that holds the {@link initFingerprint} of its last successful `tofu init`. */
export const INIT_FINGERPRINT_FILE = ".c42-init-fingerprint";

/** How deep the provider directory is walked (host/namespace/type/version/platform/file is 6). */
const PROVIDER_DEPTH = 8;

/**
 * Everything `tofu init` reads and writes for a stack directory, hashed: the
 * synthesized `terraform` block (required providers, backend, encryption)
 * and any `module` block; the engine (kind, version, binary path, size and
 * modification time); where the providers come from (the source, the CLI
 * configuration the engine reads, path and content, and `TF_PLUGIN_CACHE_DIR`);
 * and what init left behind: the dependency lock file, the backend it recorded
 * (`.terraform/terraform.tfstate`) and every provider file it installed or
 * linked, with its size and time. The same value as after the last successful
 * init means init would change nothing and can be skipped; a changed backend,
 * another engine or toolchain, or a removed `.terraform` each give another.
 */
export function initFingerprint(stackDir: string, engine: Engine, providers: ProviderSource, env: NodeJS.ProcessEnv): string {
  const hash = createHash("sha256");
  const add = (label: string, value: string) => hash.update(label).update("\0").update(value).update("\0");
  const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as { terraform?: unknown; module?: unknown };
  add("terraform", JSON.stringify(synthesized.terraform ?? null));
  add("module", JSON.stringify(synthesized.module ?? null));
  add("engine", `${engine.kind} ${engine.version} ${engine.binary} ${fileIdentity(engine.binary)}`);
  add("providers", JSON.stringify(providers));
  const cliConfig = providerEnv(providers).TF_CLI_CONFIG_FILE ?? env.TF_CLI_CONFIG_FILE ?? defaultCliConfigFile(engine.kind, env);
  add("cli config", `${cliConfig}\n${readIfThere(cliConfig)}`);
  add("plugin cache", env.TF_PLUGIN_CACHE_DIR ?? "");
  add("lock file", readIfThere(join(stackDir, ".terraform.lock.hcl")));
  add("backend", readIfThere(join(stackDir, ".terraform", "terraform.tfstate")));
  const installed = join(stackDir, ".terraform", "providers");
  for (const file of filesUnder(installed, PROVIDER_DEPTH)) add("provider", `${file.slice(installed.length)} ${fileIdentity(file)}`);
  return hash.digest("hex");
}

/**
 * True when the stack directory was initialized with exactly these inputs
 * (see {@link initFingerprint}), so `tofu init` would change nothing.
 */
export function initIsCurrent(stackDir: string, engine: Engine, providers: ProviderSource, env: NodeJS.ProcessEnv): boolean {
  const recorded = readIfThere(join(stackDir, INIT_FINGERPRINT_FILE));
  return recorded !== "" && recorded === initFingerprint(stackDir, engine, providers, env);
}

/** Records the inputs of a successful init; call right after it. */
export function recordInit(stackDir: string, engine: Engine, providers: ProviderSource, env: NodeJS.ProcessEnv): void {
  writeFileSync(join(stackDir, INIT_FINGERPRINT_FILE), initFingerprint(stackDir, engine, providers, env));
}

/** Forgets the last init; call before init runs, so that a failed one is never taken for current. */
export function forgetInit(stackDir: string): void {
  rmSync(join(stackDir, INIT_FINGERPRINT_FILE), { force: true });
}

const readIfThere = (file: string): string => (existsSync(file) ? readFileSync(file, "utf8") : "");

function fileIdentity(file: string): string {
  if (!existsSync(file)) return "missing";
  const s = statSync(file);
  return `${s.size} ${s.mtimeMs}`;
}

/** Files below `dir`, symbolic links followed (init links the mirror's provider directories), sorted. */
function filesUnder(dir: string, depth: number): string[] {
  if (depth === 0 || !existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      // A link into a mirror that is gone counts as a file, "missing".
      return existsSync(path) && statSync(path).isDirectory() ? filesUnder(path, depth - 1) : [path];
    });
}
