import { join } from "node:path";
import { Deployment, DeploymentOptions } from "./deployment";
import { readToolchainEnv } from "./toolchain";

/**
 * The environment of a deployment kept apart from the developer's: only what
 * finds programs and the toolchain passes through (PATH, HOME, the cache
 * location), the toolchain's mirror-only CLI config when there is one (so a
 * developer's own ~/.terraformrc or plugin cache never decides what tests
 * install), then the Vault connection, a state directory of its own under
 * `work`, and `settings` (C42_* variables, or a TF_CLI_CONFIG_FILE of the
 * test's own) last.
 */
export function isolatedEnv(work: string, vaultEnv: Readonly<Record<string, string>>, settings: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    C42_CACHE: process.env.C42_CACHE,
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
    CHECKPOINT_DISABLE: "1",
    TF_CLI_CONFIG_FILE: readToolchainEnv().values.TF_CLI_CONFIG_FILE,
    ...vaultEnv,
    C42_STATE_DIR: join(work, "state"),
    ...settings,
  };
}

/** A deployment with {@link isolatedEnv}, its cdktf.out and project directory in `work` (for tests and benchmarks). */
export function isolatedDeployment(
  work: string,
  vaultEnv: Readonly<Record<string, string>>,
  settings: Readonly<Record<string, string>> = {},
  options: Omit<DeploymentOptions, "env" | "outdir" | "projectDir"> = {},
): Deployment {
  return new Deployment({ ...options, env: isolatedEnv(work, vaultEnv, settings), outdir: join(work, "cdktf.out"), projectDir: work });
}
