"use strict";
// Runs the project's TypeScript as JavaScript compiled once and kept in a cache, instead of compiling every
// module on every start (ts-node, even without type-checking, spends about 3 CPU-seconds on the commands'
// module graph; a warm cache loads it in about 0.3 s). Type-checking stays in `npm run build` / `npm test`.
//
// No stale build: an entry is found by the SHA-256 of the source file's content and its path inside the
// checkout, under a directory named by the hash of the compiler's version, tsconfig.json and this file. An
// edited source has another hash, so it is compiled afresh before it runs; there is no build step to forget.
// The checkout's own location is not part of the key (nor of the compiled file: its source map names the
// file relative to itself), so a fresh clone elsewhere runs from the entries another one compiled, and
// `npm ci` fills the cache (`prepare`: `node bin/register.js --warm`) so that even the first command after
// it starts warm. Only a miss loads the TypeScript compiler. Entries are written to a temporary name and renamed, so commands starting at once
// never read half a file; when the cache cannot be written the compiled code is used from memory.
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const { homedir } = require("node:os");
const { join, relative } = require("node:path");

const PROJECT_DIR = join(__dirname, "..");
const TSCONFIG = join(PROJECT_DIR, "tsconfig.json");
/** Entries unused for this long may be removed when something is compiled (they are compiled again if needed). */
const PRUNE_AFTER_MS = 30 * 24 * 3600 * 1000;

const sha256 = (...parts) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex");
};

/** The project's cache directory; the same rule as cacheDir() in ops/engine/toolchain.ts (a unit test compares them). */
function cacheDir(env = process.env) {
  return env.C42_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "c42-keystore");
}

/** Where the compiled files of this compiler, tsconfig.json and register.js live. */
function compiledDir(env = process.env) {
  const compiler = fs.readFileSync(require.resolve("typescript/package.json"), "utf8");
  const key = sha256(JSON.parse(compiler).version, fs.readFileSync(TSCONFIG, "utf8"), fs.readFileSync(__filename, "utf8"));
  return join(cacheDir(env), "js", key.slice(0, 16));
}

let compiler;
/** The TypeScript compiler and the project's options, loaded on the first miss only. */
function loadCompiler() {
  if (compiler) return compiler;
  const ts = require("typescript");
  const { config, error } = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
  if (error) throw new Error(`${TSCONFIG}: ${ts.flattenDiagnosticMessageText(error.messageText, "\n")}`);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, PROJECT_DIR);
  compiler = {
    ts,
    // One file at a time, as ts-node's transpile-only mode does. Each file carries its source map: with
    // `node --enable-source-maps` stack traces name .ts lines (off by default: it costs about 70 ms a start).
    options: { ...options, inlineSourceMap: true, sourceMap: false, inlineSources: false, declaration: false, noEmit: false, incremental: false },
  };
  return compiler;
}

/** Compiles one file; a syntax error fails here, with the file and line, as ts-node's does. */
function transpile(filename, source) {
  const { ts, options } = loadCompiler();
  // The name inside the checkout: the compiled file, and so the cache entry, is the same for every clone.
  const out = ts.transpileModule(source, { compilerOptions: options, fileName: relative(PROJECT_DIR, filename), reportDiagnostics: true });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = errors.map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${filename}${where ? `:${where.line + 1}:${where.character + 1}` : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    throw new SyntaxError(text.join("\n"));
  }
  return out.outputText;
}

/** Removes entries (and other compilers' directories) nobody wrote for PRUNE_AFTER_MS; never fails. */
function prune(dir, now) {
  const parent = join(dir, "..");
  const old = (path) => now - fs.statSync(path).mtimeMs > PRUNE_AFTER_MS;
  try {
    for (const name of fs.readdirSync(dir)) if (old(join(dir, name))) fs.rmSync(join(dir, name), { force: true });
    for (const name of fs.readdirSync(parent)) {
      const other = join(parent, name);
      if (other !== dir && old(other)) fs.rmSync(other, { recursive: true, force: true });
    }
  } catch {
    // Another process pruned at the same time, or the cache is not ours to clean: it only costs disk space.
  }
}

/** The compiled JavaScript of one source file: from the cache, else compiled now and stored. */
function compiled(filename, source, dir) {
  const file = join(dir, `${sha256(relative(PROJECT_DIR, filename), source)}.js`);
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    // Not compiled yet, or a cache that cannot be read: compile.
  }
  const js = transpile(filename, source);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, js, { mode: 0o600 });
    fs.renameSync(temporary, file);
    prune(dir, Date.now());
  } catch {
    // A read-only cache: run from memory (compiled again next time).
  }
  return js;
}

/** Makes `require` load `.ts` files through the cache. Idempotent. */
function register(env = process.env) {
  if (require.extensions[".ts"]?.c42Cached) return;
  const dir = compiledDir(env);
  const load = (module, filename) => module._compile(compiled(filename, fs.readFileSync(filename, "utf8"), dir), filename);
  load.c42Cached = true;
  require.extensions[".ts"] = load;
}

/** The TypeScript files a command can load: main.ts, lib/ and ops/ (not tests, not declarations). */
function commandSources() {
  const found = [join(PROJECT_DIR, "main.ts")];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) found.push(path);
    }
  };
  for (const dir of ["lib", "ops"]) walk(join(PROJECT_DIR, dir));
  return found;
}

/** Compiles every command source into the cache (npm's `prepare`, so the first command after `npm ci` starts warm). */
function warm(env = process.env) {
  const dir = compiledDir(env);
  const sources = commandSources();
  for (const filename of sources) compiled(filename, fs.readFileSync(filename, "utf8"), dir);
  return { dir, files: sources.length };
}

module.exports = { register, cacheDir, compiledDir, warm };

if (require.main === module && process.argv[2] === "--warm") {
  const started = Date.now();
  const { dir, files } = warm();
  process.stdout.write(`c42-keystore: ${files} TypeScript files compiled into ${dir} in ${Date.now() - started} ms (cached by content)\n`);
}
