import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where `npm run toolchain` put the engine, the server and the provider mirror. */
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

/** Parses a KEY=VALUE file (no quoting, no expansion). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Reads `toolchain.env`, failing with the command to run when it is missing. */
export function loadToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const file = join(cacheDir(env), "toolchain.env");
  if (!existsSync(file)) {
    throw new Error(`the toolchain is not built (${file} is missing); run: npm run toolchain`);
  }
  const values = parseEnvFile(readFileSync(file, "utf8"));
  const toolchain = { tofu: values.C42_TOFU, bao: values.C42_BAO, cliConfigFile: values.TF_CLI_CONFIG_FILE };
  for (const [name, path] of Object.entries(toolchain)) {
    if (!path || !existsSync(path)) {
      throw new Error(`the toolchain is incomplete: ${name} (${path ?? "unset"}) is missing; run: npm run toolchain`);
    }
  }
  return toolchain;
}
