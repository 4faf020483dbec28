import { cpSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "../../ops/common/paths";

/**
 * A copy of the project in `dir` (created) to run a real command in: the command keeps its cdktf.out,
 * its synth cache and its record of the state location in the project directory, which must not be the
 * developer's checkout. node_modules is a link to the checkout's; with `ownCdktf`, a directory of links
 * to the checkout's packages except cdktf, which is copied so that its installed version can be changed
 * (run node with --preserve-symlinks so that the linked providers load that copy too).
 */
export function projectCopy(dir: string, options: { readonly ownCdktf?: boolean } = {}): string {
  mkdirSync(dir);
  for (const entry of ["bin", "lib", "ops", "main.ts", "package.json", "package-lock.json", "tsconfig.json", "cdktf.json", "help"]) {
    cpSync(join(PROJECT_DIR, entry), join(dir, entry), { recursive: true });
  }
  const modules = realpathSync(join(PROJECT_DIR, "node_modules"));
  if (!options.ownCdktf) {
    symlinkSync(modules, join(dir, "node_modules"));
    return dir;
  }
  mkdirSync(join(dir, "node_modules"));
  for (const name of readdirSync(modules)) {
    if (name === "cdktf") cpSync(join(modules, name), join(dir, "node_modules", name), { recursive: true });
    else symlinkSync(join(modules, name), join(dir, "node_modules", name));
  }
  return dir;
}

/** Replaces `from` with `to` (same length) in `file`, keeping its size and modification time: only the content tells the change. */
export function editKeepingSizeAndTime(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  // A whole second: file systems keep finer times than utimes sets back.
  const time = new Date(1_700_000_000_000);
  utimesSync(file, time, time);
  const before = statSync(file);
  const text = readFileSync(file, "utf8");
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, time, time);
  const after = statSync(file);
  expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
}
