import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { EngineKind } from "../../lib/engine-target";
import { PROVIDER_VERSIONS } from "../../lib/provider-versions";
import { readToolchainEnv } from "./toolchain";

/**
 * Where the engine installs the pinned providers from. One rule, in this order:
 * 1. `user`: `TF_CLI_CONFIG_FILE` names an existing file, or the engine's own
 *    CLI configuration file (`~/.terraformrc`; for OpenTofu also `~/.tofurc` and
 *    `$XDG_CONFIG_HOME/opentofu/tofurc`) has a `provider_installation` block or a
 *    `plugin_cache_dir`, or `TF_PLUGIN_CACHE_DIR` is set: the user has said how
 *    providers are installed, and the engine is left to do it (a user's
 *    `TF_CLI_CONFIG_FILE` is never replaced).
 * 2. `mirror`: `npm run toolchain` built the pinned versions into its filesystem
 *    mirror: the engine gets the toolchain's mirror-only CLI config.
 * 3. `registry`: neither: the engine's defaults (its implied local plugin
 *    directories such as `~/.terraform.d/plugins`, then its public registry
 *    over the network).
 */
export type ProviderSource =
  | { readonly kind: "user"; readonly reason: string }
  | { readonly kind: "mirror"; readonly cliConfigFile: string; readonly mirror: string }
  | { readonly kind: "registry" };

/** The registry host an engine resolves `hashicorp/<name>` to. */
export const REGISTRY_HOST: Readonly<Record<EngineKind, string>> = { tofu: "registry.opentofu.org", terraform: "registry.terraform.io" };

/** The engine's own CLI configuration file, as it picks it when `TF_CLI_CONFIG_FILE` is unset. */
export function defaultCliConfigFile(kind: EngineKind, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? homedir();
  const terraformrc = join(home, ".terraformrc");
  if (kind === "terraform") return terraformrc;
  // OpenTofu: ~/.tofurc, else the legacy ~/.terraformrc, else the XDG file (internal/command/cliconfig/config_unix.go).
  const tofurc = join(home, ".tofurc");
  if (existsSync(tofurc)) return tofurc;
  if (existsSync(terraformrc)) return terraformrc;
  return env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, "opentofu", "tofurc") : tofurc;
}

/** Decides the provider source by the rule of {@link ProviderSource}. */
export function chooseProviderSource(kind: EngineKind, env: NodeJS.ProcessEnv): ProviderSource {
  const toolchain = readToolchainEnv(env).values;
  const ours = toolchain.TF_CLI_CONFIG_FILE;
  const named = env.TF_CLI_CONFIG_FILE;
  if (named && existsSync(named) && named !== ours) return { kind: "user", reason: `your CLI configuration (TF_CLI_CONFIG_FILE=${named})` };
  if (!named) {
    const rc = defaultCliConfigFile(kind, env);
    if (existsSync(rc) && /^\s*(provider_installation\b|plugin_cache_dir\b)/m.test(readFileSync(rc, "utf8"))) {
      return { kind: "user", reason: `your CLI configuration (${rc})` };
    }
  }
  if (env.TF_PLUGIN_CACHE_DIR) return { kind: "user", reason: `your plugin cache (TF_PLUGIN_CACHE_DIR=${env.TF_PLUGIN_CACHE_DIR}) and the engine's registry` };
  const mirror = toolchain.C42_PROVIDER_MIRROR;
  if (ours && mirror && existsSync(ours) && mirrorHolds(mirror, kind)) return { kind: "mirror", cliConfigFile: ours, mirror };
  return { kind: "registry" };
}

/** The mirror holds every pinned provider for the engine's registry host (linux_amd64, the toolchain's only platform). */
function mirrorHolds(mirror: string, kind: EngineKind): boolean {
  return Object.entries(PROVIDER_VERSIONS).every(([name, version]) =>
    existsSync(join(mirror, REGISTRY_HOST[kind], "hashicorp", name, version, "linux_amd64", `terraform-provider-${name}_v${version}`)),
  );
}

/** One line for the output: where the providers come from. */
export function describeProviderSource(source: ProviderSource, kind: EngineKind): string {
  switch (source.kind) {
    case "user":
      return `providers from ${source.reason}`;
    case "mirror":
      return `providers from the toolchain's mirror (${source.mirror})`;
    case "registry":
      return `providers from the engine's defaults: its local plugin directories, else ${REGISTRY_HOST[kind]} (no CLI configuration of yours, no toolchain mirror)`;
  }
}

/** The engine environment's provider part: only the mirror sets anything. */
export function providerEnv(source: ProviderSource): NodeJS.ProcessEnv {
  return source.kind === "mirror" ? { TF_CLI_CONFIG_FILE: source.cliConfigFile } : {};
}

/** Said after a failed init, when the source may be why. */
export function providerSourceHint(source: ProviderSource, kind: EngineKind): string {
  if (source.kind === "registry") {
    return `the providers were to come from the engine's local plugin directories or ${REGISTRY_HOST[kind]}; on a machine that cannot reach it, run \`npm run toolchain -- --no-server\` to build them into a local mirror (needs Go)`;
  }
  if (source.kind === "user") {
    return `the providers were to come from ${source.reason}; it must offer ${Object.entries(PROVIDER_VERSIONS)
      .map(([n, v]) => `hashicorp/${n} ${v}`)
      .join(" and ")}`;
  }
  return "";
}
