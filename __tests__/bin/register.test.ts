import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cacheDir as toolchainCacheDir } from "../../ops/engine/toolchain";

// bin/register.js is plain JavaScript (it runs before any TypeScript can); its exports, typed here.
const register = require("../../bin/register") as {
  cacheDir(env: NodeJS.ProcessEnv): string;
  compiledDir(env: NodeJS.ProcessEnv): string;
};

const ROOT = resolve(__dirname, "..", "..");
const REGISTER = join(ROOT, "bin", "register.js");

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "c42-register-"));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A fresh node process that loads `module` through the cache in `cache` and prints its `value`. */
function runThroughCache(module: string, cache: string) {
  const script = `require(${JSON.stringify(REGISTER)}).register(); process.stdout.write(String(require(${JSON.stringify(module)}).value));`;
  return spawnSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH, HOME: work, C42_CACHE: cache }, encoding: "utf8" });
}

const entries = (cache: string): string[] => readdirSync(register.compiledDir({ C42_CACHE: cache })).sort();

describe("bin/register.js: TypeScript from a content-addressed cache", () => {
  test("uses the project's cache directory rule", () => {
    for (const env of [{ C42_CACHE: "/c" }, { XDG_CACHE_HOME: "/x" }, { HOME: "/h" }, {}]) {
      expect(register.cacheDir(env)).toBe(toolchainCacheDir(env));
    }
    expect(register.compiledDir({ C42_CACHE: "/c" })).toMatch(/^\/c\/js\/[0-9a-f]{16}$/);
  });

  test("compiles once, then runs the cached file; an edited source runs as edited, even with the old size and mtime", () => {
    const cache = join(work, "cache");
    const module = join(work, "answer.ts");
    writeFileSync(module, "export const value: number = 41;\n");
    const first = runThroughCache(module, cache);
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe("41");
    const [entry] = entries(cache);
    expect(entries(cache)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.js$/)]);
    const writtenAt = statSync(join(register.compiledDir({ C42_CACHE: cache }), entry)).mtimeMs;

    expect(runThroughCache(module, cache).stdout).toBe("41");
    expect(entries(cache)).toEqual([entry]);
    expect(statSync(join(register.compiledDir({ C42_CACHE: cache }), entry)).mtimeMs).toBe(writtenAt);

    const { atime, mtime } = statSync(module);
    writeFileSync(module, "export const value: number = 42;\n");
    utimesSync(module, atime, mtime);
    expect(runThroughCache(module, cache).stdout).toBe("42");
    expect(entries(cache)).toHaveLength(2);
  });

  test("a syntax error fails with the file and line, and nothing is cached", () => {
    const cache = join(work, "cache");
    const module = join(work, "broken.ts");
    writeFileSync(module, "export const value = 1;\nexport const = 2;\n");
    const r = runThroughCache(module, cache);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${module}:2:`);
    expect(r.stdout).toBe("");
    expect(() => entries(cache)).toThrow(/ENOENT/);
  });

  test("a cache that cannot be written still runs the code, compiled in memory", () => {
    const module = join(work, "answer.ts");
    writeFileSync(module, "export const value: number = 7;\n");
    const notADirectory = join(work, "file");
    writeFileSync(notADirectory, "");
    const r = runThroughCache(module, join(notADirectory, "cache"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("7");
  });

  test("two clones at different paths share one entry per file: the checkout's location is not part of the key", () => {
    const cache = join(work, "cache");
    const clone = (name: string) => {
      const dir = join(work, name);
      mkdirSync(join(dir, "bin"), { recursive: true });
      copyFileSync(REGISTER, join(dir, "bin", "register.js"));
      copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "answer.ts"), "export const value: number = 43;\n");
      return dir;
    };
    const run = (dir: string) =>
      spawnSync(process.execPath, ["-e", `require("./bin/register.js").register(); process.stdout.write(String(require("./answer.ts").value));`], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: work, C42_CACHE: cache },
        encoding: "utf8",
      });
    const [a, b] = [clone("clone-a"), clone("elsewhere/clone-b")];
    expect(run(a)).toMatchObject({ stdout: "43", stderr: "" });
    const [entry] = entries(cache);
    const writtenAt = statSync(join(register.compiledDir({ C42_CACHE: cache }), entry)).mtimeMs;
    expect(run(b)).toMatchObject({ stdout: "43", stderr: "" });
    expect(entries(cache)).toEqual([entry]);
    expect(statSync(join(register.compiledDir({ C42_CACHE: cache }), entry)).mtimeMs).toBe(writtenAt);
  });

  test("--warm (npm's prepare) compiles every command source, so the first command after npm ci is a hit", () => {
    const cache = join(work, "cache");
    const env = { PATH: process.env.PATH, HOME: work, C42_CACHE: cache };
    const warmed = spawnSync(process.execPath, [REGISTER, "--warm"], { env, encoding: "utf8" });
    expect(warmed.status).toBe(0);
    expect(warmed.stdout).toMatch(/^c42-keystore: \d+ TypeScript files compiled into .* \(cached by content\)\n$/);
    const before = entries(cache);
    expect(before.length).toBeGreaterThan(100);
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "c42-keystore.js"), "help"], { env, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(entries(cache)).toEqual(before);
  }, 120_000);

  test("bin/c42-keystore.js runs the commands through it", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "c42-keystore.js"), "help"], {
      env: { PATH: process.env.PATH, HOME: work, C42_CACHE: join(work, "cache") },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: c42-keystore <command>/);
    expect(entries(join(work, "cache")).length).toBeGreaterThan(50);
  }, 120_000);
});
