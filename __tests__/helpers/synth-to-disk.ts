import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

const VAULT_ADDR = "https://vault.example.com:8200";

// Registered when a test file imports this helper (jest gives each file its own module).
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** What a synth to disk wrote. */
export interface SynthOnDisk {
  /** The project directory the config was loaded from. */
  readonly cwd: string;
  /** Every file written, by path, with its text. */
  readonly files: Record<string, string>;
  /** The parsed cdk.tf.json. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

/**
 * Synthesizes the whole app into fresh directories, with `env` both as the
 * config's environment and in process.env (where a user's secrets would sit),
 * and returns every file written. The directories are removed when the test file ends.
 */
export function synthToDisk(env: Record<string, string>, prefix: string): SynthOnDisk {
  const cwd = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const outdir = mkdtempSync(join(tmpdir(), `${prefix}-out-`));
  dirs.push(cwd, outdir);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const app = Testing.app({ outdir });
    new KeystoreStack(app, KEYSTORE_STACK, { config: loadConfig({ env: { VAULT_ADDR, ...env }, cwd }) });
    app.synth();
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  const files = Object.fromEntries(filesUnder(outdir).map((f) => [f, readFileSync(f, "utf8")]));
  return { cwd, files, json: JSON.parse(files[join(outdir, "stacks", KEYSTORE_STACK, "cdk.tf.json")]) };
}
