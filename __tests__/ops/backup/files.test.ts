import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupWriteError, checksumLine, finishPrivateFile, openPrivateTemp, parseChecksum, writePrivateText } from "../../../ops/backup/files";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-backup-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(parts: string[], failAfter?: Error): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
  if (failAfter) throw failAfter;
}

test("a file is written 0600 under a temporary name and then appears whole, with its SHA-256", async () => {
  const written = await finishPrivateFile(await openPrivateTemp(dir, "a.snap"), dir, "a.snap", chunks(["hello ", "world"]));
  expect(readdirSync(dir)).toEqual(["a.snap"]);
  expect(readFileSync(join(dir, "a.snap"), "utf8")).toBe("hello world");
  expect(statSync(join(dir, "a.snap")).mode & 0o777).toBe(0o600);
  expect(written).toEqual({ file: join(dir, "a.snap"), bytes: 11, sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9" });
});

test("a source that fails half-way (a lost connection) leaves nothing, and its own error comes through", async () => {
  const lost = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  await expect(finishPrivateFile(await openPrivateTemp(dir, "a.snap"), dir, "a.snap", chunks(["part"], lost))).rejects.toBe(lost);
  expect(readdirSync(dir)).toEqual([]);
});

test("a full disk leaves nothing under any name and says what to do", async () => {
  const opened = await openPrivateTemp(dir, "a.snap");
  const real = opened.handle;
  const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
  // The write fails as it does on a full file system; close and sync stay real.
  const handle = { write: () => Promise.reject(full), sync: () => real.sync(), close: () => real.close() } as unknown as FileHandle;
  const failure = finishPrivateFile({ temp: opened.temp, handle }, dir, "a.snap", chunks(["data"]));
  await expect(failure).rejects.toBeInstanceOf(BackupWriteError);
  await expect(failure).rejects.toThrow(
    `cannot write ${join(dir, "a.snap")}: the disk is full; free some space or choose another location (ENOSPC); nothing was left under that name`,
  );
  expect(readdirSync(dir)).toEqual([]);
});

test("an existing file is never replaced, unless asked (the manifest update)", async () => {
  writeFileSync(join(dir, "a.snap"), "old", { mode: 0o600 });
  await expect(writePrivateText(dir, "a.snap", "new")).rejects.toThrow(/cannot create .*a\.snap: it exists already.*\(EEXIST\)/);
  expect(readFileSync(join(dir, "a.snap"), "utf8")).toBe("old");
  expect(readdirSync(dir)).toEqual(["a.snap"]);
  await writePrivateText(dir, "a.snap", "new", { replace: true });
  expect(readFileSync(join(dir, "a.snap"), "utf8")).toBe("new");
  expect(statSync(join(dir, "a.snap")).mode & 0o777).toBe(0o600);
});

test("an unwritable directory fails when the temporary file is opened, naming the file", async () => {
  await expect(openPrivateTemp(join(dir, "missing"), "a.snap")).rejects.toThrow(
    `cannot write ${join(dir, "missing", "a.snap")}: a part of the path does not exist`,
  );
});

test("checksum lines are what sha256sum writes and reads", () => {
  const hash = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
  expect(checksumLine(hash, "/x/a.snap")).toBe(`${hash}  a.snap\n`);
  expect(parseChecksum(checksumLine(hash, "/x/a.snap"), "/y/a.snap")).toBe(hash);
  expect(parseChecksum(`${hash} *a.snap`, "a.snap")).toBe(hash);
  expect(parseChecksum(`${hash}  b.snap\n`, "a.snap")).toBeUndefined();
  expect(parseChecksum("not a checksum", "a.snap")).toBeUndefined();
});
