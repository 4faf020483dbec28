import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/*
 * STYLE.md: "layers that only look down". Each folder of ops/ has a layer; a
 * file may import its own folder, lib/, and folders of lower layers only. So
 * the engine driver cannot reach the Vault client (same layer), nothing below
 * the commands can reach them, and there can be no cycle between folders.
 * A new folder needs a line here: that is the moment to decide where it sits.
 */
const LAYERS: Readonly<Record<string, number>> = {
  common: 0,
  lock: 1,
  engine: 2,
  vault: 2,
  bundle: 2,
  server: 3,
  "blind-spots": 3,
  lifecycle: 4,
  load: 4,
  backup: 4,
  health: 5,
  commands: 6,
};

const OPS = resolve(__dirname, "..", "..", "ops");
const LIB = resolve(__dirname, "..", "..", "lib");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith(".ts") ? [path] : [];
  });
}

const folderOf = (file: string) => relative(OPS, file).split(sep)[0];

/** Every relative import of a file, resolved to the folder of ops/ it lands in ("lib" for lib/). */
function importedFolders(file: string): { specifier: string; folder: string }[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  return specifiers.map((specifier) => {
    const target = resolve(dirname(file), specifier);
    if (target === LIB || target.startsWith(LIB + sep)) return { specifier, folder: "lib" };
    if (!target.startsWith(OPS + sep)) return { specifier, folder: "outside" };
    return { specifier, folder: folderOf(target) };
  });
}

const files = tsFiles(OPS);

test("every file of ops/ sits in a folder with a layer", () => {
  const loose = files.filter((f) => relative(OPS, f).split(sep).length < 2).map((f) => relative(OPS, f));
  expect(loose).toEqual([]);
  const unknown = [...new Set(files.map(folderOf))].filter((folder) => !(folder in LAYERS));
  expect(unknown).toEqual([]);
});

test("imports only look down: own folder, lib/, or a lower layer", () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    for (const { specifier, folder } of importedFolders(file)) {
      if (folder === from || folder === "lib") continue;
      if (folder === "outside" || !(folder in LAYERS) || LAYERS[folder] >= LAYERS[from]) {
        violations.push(`ops/${relative(OPS, file)} (${from}, layer ${LAYERS[from]}) imports ${specifier} (${folder}, layer ${LAYERS[folder] ?? "none"})`);
      }
    }
  }
  expect(violations).toEqual([]);
});

test("the engine driver never reaches the Vault client, and lib/ never reaches ops/", () => {
  for (const file of files.filter((f) => folderOf(f) === "engine")) {
    expect([relative(OPS, file), importedFolders(file).filter((i) => i.folder === "vault")]).toEqual([relative(OPS, file), []]);
  }
  for (const file of tsFiles(LIB)) {
    expect([file, /from\s+["'][./]*\/ops\//.test(readFileSync(file, "utf8"))]).toEqual([file, false]);
  }
});
