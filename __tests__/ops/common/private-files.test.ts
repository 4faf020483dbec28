import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertOwnTarget, ensureDir, ensureParentDir, fileSystemError } from "../../../ops/common/private-files";

let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), "c42-private-files-"))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o7777;

test("directories it creates are 0700, parents included, whatever the umask", () => {
  const old = process.umask(0o002);
  try {
    expect(ensureDir(join(work, "a", "b", "c"), "test")).toBe(true);
  } finally {
    process.umask(old);
  }
  for (const dir of ["a", "a/b", "a/b/c"]) expect([dir, mode(join(work, dir))]).toEqual([dir, 0o700]);
});

test("an existing directory is used as it is: a shared 1777 one stays 1777, a 0755 one stays 0755", () => {
  for (const wanted of [0o1777, 0o755]) {
    const dir = mkdtempSync(join(work, "shared-"));
    chmodSync(dir, wanted);
    expect(ensureDir(dir, "test")).toBe(false);
    ensureParentDir(join(dir, "x.tfplan"), "plan --out");
    expect(mode(dir)).toBe(wanted);
  }
});

test("empty paths, files in the way and errors say which path and what to do", () => {
  expect(() => ensureDir("", "bundle --out")).toThrow("bundle --out: the path is empty; give a directory");
  expect(() => ensureParentDir(" ", "plan --out")).toThrow("plan --out: the path is empty; give a file name");
  const file = join(work, "a-file");
  writeFileSync(file, "");
  expect(() => ensureDir(file, "stateDir (C42_STATE_DIR)")).toThrow(`stateDir (C42_STATE_DIR): ${file} exists and is not a directory`);
  expect(() => ensureDir(join(file, "sub"), "bundle --out")).toThrow(
    `bundle --out: cannot create the directory ${join(file, "sub")}: a part of the path is a file, not a directory; fix the path (ENOTDIR)`,
  );
  const erofs = Object.assign(new Error("EROFS: read-only file system, open '/ro/crashplan.p12'"), {
    code: "EROFS",
    syscall: "open",
    path: "/ro/crashplan.p12",
  });
  expect(fileSystemError(erofs, "/ro/crashplan.p12", "write")).toBe(
    "cannot write /ro/crashplan.p12: the file system is read-only; choose a writable location (EROFS)",
  );
});

test("a secret is never written through a symbolic link, or over another user's file", () => {
  const dir = mkdtempSync(join(work, "targets-"));
  expect(() => assertOwnTarget(join(dir, "new.tfplan"), "plan --out")).not.toThrow();
  writeFileSync(join(dir, "mine.tfplan"), "");
  expect(() => assertOwnTarget(join(dir, "mine.tfplan"), "plan --out")).not.toThrow();
  symlinkSync("/etc/passwd", join(dir, "planted.tfplan"));
  expect(() => assertOwnTarget(join(dir, "planted.tfplan"), "plan --out")).toThrow(
    `plan --out: ${join(dir, "planted.tfplan")} is a symbolic link; refusing to write a secret through it: give a new file name`,
  );
  mkdirSync(join(dir, "a-dir"));
  expect(() => assertOwnTarget(join(dir, "a-dir"), "plan --out")).toThrow("exists and is not a regular file");
});
