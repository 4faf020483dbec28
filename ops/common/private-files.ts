import { randomBytes } from "node:crypto";
import { Stats, chmodSync, existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { chmod, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";

/*
 * The one rule for directories: the project creates the directories it needs
 * itself, 0700, and never changes the mode of a directory it did not create
 * (a shared /tmp or CI workspace stays as it was). A directory that already
 * exists is used as it is; the secret files inside are created 0600.
 */

/**
 * Makes sure `dir` exists. Missing directories (and missing parents) are
 * created 0700; an existing directory is left exactly as it is. `what` names
 * the option or setting the path came from, for the error message.
 * Returns whether it created `dir`.
 */
export function ensureDir(dir: string, what: string): boolean {
  if (dir.trim() === "") throw new Error(`${what}: the path is empty; give a directory`);
  const target = resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new Error(`${what}: ${target} exists and is not a directory`);
    return false;
  }
  let first: string | undefined;
  try {
    first = mkdirSync(target, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new Error(`${what}: ${fileSystemError(e, target, "create the directory")}`);
  }
  // mkdir's mode passes through the umask; these directories are ours, so fix them whatever it was.
  if (first !== undefined) {
    const created = relative(first, target)
      .split(sep)
      .filter((part) => part !== "");
    let path = first;
    chmodSync(path, 0o700);
    for (const part of created) {
      path = resolve(path, part);
      chmodSync(path, 0o700);
    }
  }
  return true;
}

/** Makes sure the directory of `file` exists, as {@link ensureDir} does. */
export function ensureParentDir(file: string, what: string): void {
  if (file.trim() === "") throw new Error(`${what}: the path is empty; give a file name`);
  ensureDir(dirname(resolve(file)), what);
}

/** What is at a path that is not a regular file, in words. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/**
 * The one rule for a file a command writes at a path it was given: the path is new, or holds a regular
 * file. Anything else is refused with the path named, before anything is written: a FIFO, a device
 * (`/dev/null`, `/dev/full`), a directory, a socket, and a symbolic link (someone else's, in a shared
 * directory, could point it anywhere). An atomic rename would otherwise replace whatever is there.
 * Returns whether a regular file is there.
 */
export function assertFileTarget(file: string, what: string): boolean {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new Error(`${what}: ${fileSystemError(e, file, "inspect")}`);
  }
  if (st.isSymbolicLink()) throw new Error(`${what}: ${file} is a symbolic link; refusing to write through it: give the path of a regular file or a new one`);
  if (!st.isFile())
    throw new Error(`${what}: ${file} is ${kindOf(st)}, not a regular file; refusing to replace it: give the path of a regular file or a new one`);
  return true;
}

/**
 * Refuses a file name a secret must not be written through: anything {@link assertFileTarget} refuses,
 * or a file of another user. A missing file is fine.
 */
export function assertOwnTarget(file: string, what: string): void {
  if (!assertFileTarget(file, what)) return;
  const st = lstatSync(file);
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) {
    throw new Error(`${what}: ${file} belongs to another user (uid ${st.uid}); refusing to overwrite it: give a new file name`);
  }
}

/**
 * Writes `data` to `file` atomically, after {@link assertFileTarget}: a temporary file in the same
 * directory (created "wx" with `mode`, so never wider for a moment), then a rename over `file`. The mode
 * is set whatever the umask. The temporary name starts with a dot and ends in `.tmp`, so a reader that
 * globs (node_exporter's `*.prom`) never sees it half-written.
 */
export async function writeFileAtomically(file: string, data: string | Buffer, options: { mode: number; what: string }): Promise<void> {
  assertFileTarget(file, options.what);
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, data, { flag: "wx", mode: options.mode });
    await chmod(temporary, options.mode);
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/** Writes a new file created 0600 (never widening an existing one), then checks the mode. */
export function writePrivateFile(file: string, data: string): void {
  writeFileSync(file, data, { mode: 0o600, flag: "wx" });
  assertPrivateFile(file);
}

/** Fails unless `file` is readable and writable by its owner only. */
export function assertPrivateFile(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if (mode !== 0o600) throw new Error(`${file} has mode ${mode.toString(8)}; expected 600`);
}

const FS_ADVICE: Record<string, string> = {
  EROFS: "the file system is read-only; choose a writable location",
  EACCES: "permission denied; choose a location you may write to, or fix its permissions",
  EPERM: "the operation is not permitted there; choose another location",
  ENOSPC: "the disk is full; free some space or choose another location",
  EDQUOT: "the disk quota is exhausted; free some space or choose another location",
  ENOTDIR: "a part of the path is a file, not a directory; fix the path",
  ENOENT: "a part of the path does not exist; fix the path",
  EEXIST: "it exists already; remove it or choose another name",
  EISDIR: "it is a directory; give a file name",
};

/** "cannot <action> <file>: <what went wrong and what to do> (<code>)" for a file-system error. */
export function fileSystemError(err: unknown, file: string, action: string): string {
  const e = err as NodeJS.ErrnoException;
  const advice = (e.code && FS_ADVICE[e.code]) ?? e.message;
  return `cannot ${action} ${file}: ${advice}${e.code ? ` (${e.code})` : ""}`;
}

/** Whether `err` is a Node file-system error (it has an errno code and a path). */
export function isFileSystemError(err: unknown): err is NodeJS.ErrnoException & { path: string } {
  return typeof err === "object" && err !== null && "code" in err && "syscall" in err && typeof (err as { path?: unknown }).path === "string";
}
