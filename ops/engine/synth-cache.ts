import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { readSignedCaChainFile } from "../../lib/certificate-file";
import { DEFAULT_CONFIG_FILE, KeystoreConfig, SECRET_ENV } from "../../lib/config";
import type { EngineTarget } from "../../lib/engine-target";
import { SETTINGS } from "../../lib/settings";

/**
 * Bumped when the layout of an entry or the meaning of a key changes. (An
 * edit of this file changes every key anyway: it is one of the sources.)
 */
const FORMAT = "c42-synth-cache 1";

/** The cache directory inside the cdktf output directory: removing cdktf.out removes the cache with it. */
export const SYNTH_CACHE_DIR = ".synth-cache";

/** Entries kept; the least recently used go first (a rotation or an adoption adds a few). */
export const MAX_ENTRIES = 32;

/**
 * The only files of the environment other than the config file that a synth
 * reads (lib/certificate-file.ts, lib/ci-oidc.ts); their content is in the
 * key. Every path setting is named here or in {@link PATHS_NOT_READ}, and a
 * unit test fails on a new one until it is.
 */
export const PATHS_READ: readonly string[] = ["intermediateCa.signedCertificateFile", "ci.validationKeysFile"];
/** Path settings a synth only names in the JSON (their value is in the key through the configuration). */
export const PATHS_NOT_READ: readonly string[] = ["stateDir"];

/** What cdktf itself reads from the process environment while it synthesizes (node_modules/cdktf/lib). */
const CDKTF_ENV = [
  "CDKTF_OUTDIR",
  "CDKTF_CONTEXT_JSON",
  "CDKTF_TARGET_STACK_ID",
  "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS",
  "SYNTH_HCL_OUTPUT",
  "TERRAFORM_BINARY_NAME",
];

/** The code that builds the stack, relative to the checkout (the project's own sources, its compiler settings, its locked dependencies). */
const SOURCE_DIRS = ["lib", "ops", "bin"];
const SOURCE_FILES = ["main.ts", "tsconfig.json", "package.json", "package-lock.json", join("node_modules", ".package-lock.json")];
/** The installed packages a synth runs; their package.json (name and version) is in the key. */
const SYNTH_PACKAGES = ["cdktf", "constructs", "@cdktf/provider-vault", "@cdktf/provider-random", "@cdktf/provider-tls"];

/** Everything a synthesized stack is made from. */
export interface SynthCacheInputs {
  /**
   * What builds the stack from the rest: the npm commands' Deployment and
   * the cdktf app (main.ts) add different blocks, so their entries never mix.
   */
  readonly builder: string;
  /** The settings as loaded (every `C42_*` value and the config file, resolved). */
  readonly config: KeystoreConfig;
  /** The environment the settings were loaded from. */
  readonly env: NodeJS.ProcessEnv;
  /** The directory the settings were loaded in (the config file and relative paths). */
  readonly cwd: string;
  /** The engine the JSON is written for (`undefined`: none found, OpenTofu's form). */
  readonly engine: EngineTarget | undefined;
  /** Every other input of the stack: what the state records (phases, adoption, cluster, …) and the command's choices. */
  readonly records: unknown;
  /** The cdktf output directory. */
  readonly outdir: string;
  /** The checkout whose code synthesizes. @default the one this file is in */
  readonly sourceDir?: string;
}

/** How the synthesized files were come by. */
export type SynthOutcome = "reused" | "synthesized";

/**
 * Writes the synthesized stack into `inputs.outdir`: the files of an earlier
 * synth with exactly the same inputs when the cache holds them, else those
 * `synthesize` writes (then kept for the next time). A cache that cannot be
 * read or written costs only the reuse; nothing is said.
 *
 * The key is a SHA-256 over every input: the builder; the settings as loaded
 * and, beside them, the config file's content and every `C42_*` variable (a
 * setting's by value, a secret's by presence only); the files a setting
 * points the synth at (content); what cdktf reads from the environment; the
 * content of every source file of the checkout (lib/, ops/, bin/, main.ts,
 * tsconfig.json: an edit with the same size and time still counts); the lock
 * files and the installed cdktf and provider packages; node's version; the
 * engine target; the records; the output directory. When a key cannot be
 * made (a file unreadable, an intermediate that has expired since), the stack
 * is synthesized, which then says what is wrong.
 */
export function synthesizeWithCache(inputs: SynthCacheInputs, synthesize: () => void): SynthOutcome {
  const dir = join(inputs.outdir, SYNTH_CACHE_DIR);
  const key = synthCacheKey(inputs);
  if (key !== undefined && restore(dir, key, inputs.outdir)) return "reused";
  synthesize();
  // Kept only when nothing the key covers moved while the stack was built: a file edited meanwhile could have gone into it.
  if (key !== undefined && synthCacheKey(inputs) === key) store(dir, key, inputs.outdir);
  return "synthesized";
}

/** The key of {@link synthesizeWithCache}; `undefined` when the stack must be synthesized. */
export function synthCacheKey(inputs: SynthCacheInputs): string | undefined {
  const hash = createHash("sha256");
  const add = (label: string, value: string) => hash.update(label).update("\0").update(value).update("\0");
  try {
    add("format", FORMAT);
    add("builder", inputs.builder);
    add("config", stableJson(inputs.config));
    const configFile = resolve(inputs.cwd, inputs.env.C42_CONFIG ?? DEFAULT_CONFIG_FILE);
    add("config file", `${configFile} ${contentHash(configFile) ?? "absent"}`);
    add("settings env", settingsEnv(inputs.env));
    add("vault address", inputs.env.VAULT_ADDR ?? "");
    for (const key of PATHS_READ) {
      const file = settingValue(inputs.config, key);
      if (typeof file !== "string" || file === "") continue;
      const content = contentHash(resolve(inputs.cwd, file));
      if (content === undefined) return undefined;
      add(`file ${key}`, `${file} ${content}`);
    }
    // Whether the intermediate has expired depends on the clock, not the file: checked at every run, as a synth would.
    const chain = settingValue(inputs.config, "intermediateCa.signedCertificateFile");
    if (typeof chain === "string" && chain !== "") readSignedCaChainFile("intermediateCa.signedCertificateFile", resolve(inputs.cwd, chain));
    add("cdktf env", CDKTF_ENV.map((name) => `${name}=${process.env[name] ?? "(unset)"}`).join("\n"));
    add("sources", sourcesHash(inputs.sourceDir ?? resolve(__dirname, "..", "..")));
    add("node", process.version);
    add("engine", inputs.engine ? `${inputs.engine.kind} ${inputs.engine.version}` : "(none found)");
    add("records", stableJson(inputs.records ?? null));
    add("outdir", resolve(inputs.outdir));
  } catch {
    return undefined;
  }
  return hash.digest("hex");
}

/**
 * Every `C42_*` variable: a setting's (and C42_CONFIG's) by value; a secret,
 * or any other variable no setting reads, by presence only, so that no secret
 * reaches a key.
 */
function settingsEnv(env: NodeJS.ProcessEnv): string {
  const byValue = new Set([...SETTINGS.map((s) => s.env), "C42_CONFIG"]);
  const secrets = new Set<string>(Object.values(SECRET_ENV));
  return Object.keys(env)
    .filter((name) => name.startsWith("C42_") && env[name] !== undefined)
    .sort()
    .map((name) => (byValue.has(name) && !secrets.has(name) ? `${name}=${env[name]}` : `${name} set`))
    .join("\n");
}

/** The value of a dotted setting key (`ci.validationKeysFile`) in the loaded configuration. */
function settingValue(config: KeystoreConfig, key: string): unknown {
  return key.split(".").reduce<unknown>((o, part) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[part] : undefined), config);
}

/** When this process started, in ms since the epoch. */
const PROCESS_START_MS = Date.now() - process.uptime() * 1000;

/**
 * SHA-256 of every source file of the checkout, by path and content, and of
 * the installed packages a synth runs. Throws when one was modified after this
 * process started: the code it runs may then not be the code on disk, and its
 * JSON must not be filed under the new content (nor an entry reused for it).
 */
function sourcesHash(root: string): string {
  const hash = createHash("sha256");
  const files = [...SOURCE_FILES.map((f) => join(root, f)), ...SOURCE_DIRS.flatMap((d) => filesUnder(join(root, d)))];
  for (const pkg of SYNTH_PACKAGES) files.push(join(root, "node_modules", pkg, "package.json"));
  for (const file of files) {
    const content = contentHash(file);
    if (content !== undefined && statSync(file).mtimeMs > PROCESS_START_MS) throw new Error(`${file} changed while this command ran`);
    hash
      .update(file.slice(root.length))
      .update("\0")
      .update(content ?? "absent")
      .update("\0");
  }
  return hash.digest("hex");
}

/** Regular files below `dir`, sorted; none when it does not exist. */
function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** SHA-256 of a file's content; `undefined` when it cannot be read. */
function contentHash(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** JSON with object keys sorted, so that the key does not depend on the order properties were set in. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** One cache entry: the key again, and the files of the output directory the synth wrote, by relative path. */
interface Entry {
  readonly format: string;
  readonly key: string;
  readonly files: Record<string, string>;
}

const entryFile = (dir: string, key: string) => join(dir, `${key}.json`);

/** The files a synth wrote: the manifest and each stack it names (cdk.tf.json, or cdk.tf with SYNTH_HCL_OUTPUT). */
function synthesizedFiles(outdir: string): Record<string, string> | undefined {
  try {
    const manifest = readFileSync(join(outdir, "manifest.json"), "utf8");
    const stacks = (JSON.parse(manifest) as { stacks?: Record<string, { synthesizedStackPath?: unknown }> }).stacks ?? {};
    const files: Record<string, string> = { "manifest.json": manifest };
    for (const stack of Object.values(stacks)) {
      const path = stack.synthesizedStackPath;
      if (typeof path !== "string" || path.startsWith("/") || path.split(/[\\/]/).includes("..")) return undefined;
      files[path] = readFileSync(join(outdir, path), "utf8");
    }
    return Object.keys(files).length > 1 ? files : undefined;
  } catch {
    return undefined;
  }
}

/** Writes an entry's files into `outdir` (those that differ); false when there is no whole entry for `key`. */
function restore(dir: string, key: string, outdir: string): boolean {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(entryFile(dir, key), "utf8")) as Entry;
  } catch {
    return false;
  }
  const files = entry?.files;
  if (entry?.format !== FORMAT || entry.key !== key || files === null || typeof files !== "object" || !("manifest.json" in files)) return false;
  const paths = Object.keys(files);
  if (paths.some((p) => typeof files[p] !== "string" || p.startsWith("/") || p.split(/[\\/]/).includes(".."))) return false;
  // The stacks first and the manifest last, as cdktf writes them: a reader that finds the manifest finds its stacks.
  for (const path of [...paths.filter((p) => p !== "manifest.json"), "manifest.json"]) writeIfChanged(join(outdir, path), files[path]);
  try {
    const now = new Date();
    utimesSync(entryFile(dir, key), now, now);
  } catch {
    // Only the order of pruning depends on it.
  }
  return true;
}

/** Writes `content` unless the file holds it already, through a temporary file so that no reader sees half of it. */
function writeIfChanged(file: string, content: string): void {
  try {
    if (readFileSync(file, "utf8") === content) return;
  } catch {
    // Not there yet.
  }
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

/** Keeps what the synth wrote under `key` (0600 in a 0700 directory, though the JSON holds no secret); never fails. */
function store(dir: string, key: string, outdir: string): void {
  const files = synthesizedFiles(outdir);
  if (!files) return;
  const entry: Entry = { format: FORMAT, key, files };
  const temporary = `${entryFile(dir, key)}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temporary, entryFile(dir, key));
    prune(dir);
  } catch {
    // An unwritable cache: the next command synthesizes again.
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Nothing was written there.
    }
  }
}

/** Removes the least recently used entries beyond {@link MAX_ENTRIES}, and temporary files a killed run left. */
function prune(dir: string): void {
  const names = readdirSync(dir);
  for (const name of names.filter((n) => n.endsWith(".tmp") && !n.endsWith(`.${process.pid}.tmp`))) {
    const file = join(dir, name);
    if (Date.now() - statSync(file).mtimeMs > 60_000) rmSync(file, { force: true });
  }
  const entries = names.filter((n) => n.endsWith(".json")).map((n) => ({ file: join(dir, n), used: statSync(join(dir, n)).mtimeMs }));
  entries.sort((a, b) => b.used - a.used);
  for (const old of entries.slice(MAX_ENTRIES)) rmSync(old.file, { force: true });
}
