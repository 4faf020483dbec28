import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
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
