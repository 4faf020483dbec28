import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertFileTarget, assertOwnTarget, ensureDir, ensureParentDir, fileSystemError, writeFileAtomically } from "../../../ops/common/private-files";

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
    `plan --out: ${join(dir, "planted.tfplan")} is a symbolic link; refusing to write through it: give the path of a regular file or a new one`,
  );
  mkdirSync(join(dir, "a-dir"));
  expect(() => assertOwnTarget(join(dir, "a-dir"), "plan --out")).toThrow(`plan --out: ${join(dir, "a-dir")} is a directory, not a regular file`);
});

describe("a command writes a file only at a regular file or a new path", () => {
  test("a FIFO, a device, a directory, a socket or a symbolic link is refused, naming the path and what is there", async () => {
    const dir = mkdtempSync(join(work, "kinds-"));
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    mkdirSync(join(dir, "a-dir"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "link"));
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(dir, "sock"), ok));
    try {
      for (const [path, kind] of [
        [fifo, "a FIFO (named pipe)"],
        ["/dev/null", "a character device"],
        ["/dev/full", "a character device"],
        [join(dir, "a-dir"), "a directory"],
        [join(dir, "sock"), "a socket"],
      ]) {
        expect(() => assertFileTarget(path, "health --out")).toThrow(
          `health --out: ${path} is ${kind}, not a regular file; refusing to replace it: give the path of a regular file or a new one`,
        );
        await expect(writeFileAtomically(path, "x", { mode: 0o644, what: "health --out" })).rejects.toThrow(`health --out: ${path} is ${kind}`);
      }
      expect(() => assertFileTarget(join(dir, "link"), "health --out")).toThrow(`health --out: ${join(dir, "link")} is a symbolic link`);
      expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(["a-dir", "link", "pipe", "sock"]);
    } finally {
      server.close();
    }
  });

  test("a regular file is replaced atomically with the mode asked for; a new path is created", async () => {
    const dir = mkdtempSync(join(work, "atomic-"));
    const file = join(dir, "c42.prom");
    expect(assertFileTarget(file, "health --out")).toBe(false);
    await writeFileAtomically(file, "a 1\n", { mode: 0o644, what: "health --out" });
    writeFileSync(join(dir, "x"), "");
    expect(assertFileTarget(file, "health --out")).toBe(true);
    await writeFileAtomically(file, "a 2\n", { mode: 0o644, what: "health --out" });
    expect(readFileSync(file, "utf8")).toBe("a 2\n");
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(["c42.prom", "x"]);
  });
});
