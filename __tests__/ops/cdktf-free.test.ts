import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/*
 * Issue 26: a command whose synthesized JSON is reused loads neither cdktf nor the stack. In a child node
 * process, as bin/c42-keystore.js loads them (compiled through bin/register.js, node's own require), the CLI
 * and then every other module of ops/ are required one by one, and each is charged with the cdktf modules
 * (cdktf, constructs, @cdktf/*) and the stack (lib/keystore-stack.ts) that its require added. Only
 * ops/engine/stack-synth.ts, which builds the stack and which Deployment requires on a synth-cache miss
 * only, may load them; it is required last, and must (or the probe would see nothing).
 */
const ROOT = join(__dirname, "..", "..");
const STACK_SYNTH = "ops/engine/stack-synth.ts";

const CHILD = `
require("./bin/register").register();
const cdktf = /[\\\\/]node_modules[\\\\/](cdktf|constructs|@cdktf[\\\\/][^\\\\/]+)[\\\\/]|[\\\\/]lib[\\\\/]keystore-stack\\.ts$/;
const loaded = () => Object.keys(require.cache).filter((m) => cdktf.test(m));
const added = {};
for (const file of JSON.parse(process.env.MODULES)) {
  const before = new Set(loaded());
  require("./" + file);
  added[file] = loaded().filter((m) => !before.has(m)).map((m) => m.replace(/^.*[\\\\/]node_modules[\\\\/]/, "").replace(process.cwd() + "/", ""));
}
process.stdout.write(JSON.stringify(added));
`;

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
    });
}

test("the CLI and every module of ops/ but stack-synth.ts load no cdktf, constructs, provider binding or stack", () => {
  const others = tsFiles(join(ROOT, "ops"))
    .map((f) => relative(ROOT, f))
    .filter((f) => f !== "ops/commands/cli.ts" && f !== STACK_SYNTH);
  const modules = ["ops/commands/cli.ts", ...others, STACK_SYNTH];
  const child = spawnSync(process.execPath, ["-e", CHILD], { cwd: ROOT, env: { ...process.env, MODULES: JSON.stringify(modules) }, encoding: "utf8" });
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  const added = JSON.parse(child.stdout) as Record<string, string[]>;
  expect(Object.keys(added)).toEqual(modules);
  const loadingCdktf = Object.entries(added).filter(([file, found]) => file !== STACK_SYNTH && found.length > 0);
  expect(loadingCdktf).toEqual([]);
  // The probe sees them where they are loaded: the stack's builder brings cdktf, constructs, the providers and the stack.
  expect(added[STACK_SYNTH]).toEqual(expect.arrayContaining(["cdktf/lib/index.js", "constructs/lib/index.js", "lib/keystore-stack.ts"]));
  expect(added[STACK_SYNTH].some((m) => m.startsWith("@cdktf/provider-vault/"))).toBe(true);
});
