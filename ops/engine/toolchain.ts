import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseEnvFile } from "../common/env-file";

/**
 * Where `npm run toolchain` put OpenTofu, the server and the provider mirror:
 * what the tests and benchmarks run on. Commands ask for only the part they
 * use: the engine ({@link resolveEngine} in engine.ts), the providers
 * (provider-source.ts), the server binary ({@link locateBao}).
 */
export interface Toolchain {
  /** The OpenTofu binary. */
  readonly tofu: string;
  /** The OpenBao binary. */
  readonly bao: string;
  /** The CLI config file that installs providers from the mirror only. */
  readonly cliConfigFile: string;
}

/** The cache directory: `C42_CACHE`, else `$XDG_CACHE_HOME/c42-keystore`, else `~/.cache/c42-keystore`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.C42_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "c42-keystore");
}

/** The path of `toolchain.env` and its entries (none when it is missing). */
export function readToolchainEnv(env: NodeJS.ProcessEnv = process.env): { file: string; values: Record<string, string> } {
  const file = join(cacheDir(env), "toolchain.env");
  return { file, values: existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {} };
}

/** Reads `toolchain.env` and requires every part (tests, benchmarks), failing with the command to run when one is missing. */
export function loadToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const { file, values } = readToolchainEnv(env);
  if (!existsSync(file)) {
    throw new Error(`the test toolchain is not built (${file} is missing); run: npm run toolchain -- --for-tests`);
  }
  const toolchain = { tofu: values.C42_TOFU, bao: values.C42_BAO, cliConfigFile: values.TF_CLI_CONFIG_FILE };
  for (const [name, path] of Object.entries(toolchain)) {
    if (!path || !existsSync(path)) {
      throw new Error(`the test toolchain is incomplete: ${name} (${path ?? "unset"}) is missing; run: npm run toolchain -- --for-tests`);
    }
  }
  return toolchain;
}

/**
 * The `bao` binary: `C42_BAO` from the environment, else from the
 * `toolchain.env` that `npm run toolchain` writes in the cache directory.
 */
export function locateBao(env: NodeJS.ProcessEnv = process.env): string {
  const { file, values } = readToolchainEnv(env);
  const bao = env.C42_BAO ?? values.C42_BAO;
  if (!bao) {
    throw new Error(
      `no OpenBao binary, which a local server needs: ${file} is missing or has no C42_BAO line; run npm run toolchain (it builds bao; needs Go), or put bao on PATH and run it`,
    );
  }
  if (!existsSync(bao)) {
    throw new Error(`the OpenBao binary ${bao} (from ${env.C42_BAO ? "C42_BAO" : file}) does not exist; run npm run toolchain first`);
  }
  return bao;
}
