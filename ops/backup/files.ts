import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { FileHandle, link, open, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileSystemError } from "../common/private-files";

/*
 * Every file a backup writes is created 0600 under a temporary name in the
 * same directory, synced, and only then given its final name: a reader never
 * sees a partial file, and a failure (a full disk, a lost connection) leaves
 * nothing under a final name. New files get their name by link(2), which
 * fails rather than replace a file that exists.
 */

/** What was written. */
export interface Written {
  readonly file: string;
  readonly bytes: number;
  /** SHA-256 of the content, lower-case hex. */
  readonly sha256: string;
}

/** A file-system failure while writing a backup file, with the file and what to do. */
export class BackupWriteError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "BackupWriteError";
  }
}

const tempName = (dir: string, name: string) => join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);

/** Creates the temporary file at once (so an unwritable directory fails before anything else runs). */
export async function openPrivateTemp(dir: string, name: string): Promise<{ temp: string; handle: FileHandle }> {
  const temp = tempName(dir, name);
  try {
    return { temp, handle: await open(temp, "wx", 0o600) };
  } catch (e) {
    throw new BackupWriteError(fileSystemError(e, join(dir, name), "write"));
  }
}

/**
 * Streams `source` into the open temporary file, syncs it, and links it to
 * `dir/name`. Whatever happens, the temporary file is gone afterwards, and
 * `dir/name` exists only when all of it was written.
 */
export async function finishPrivateFile(
  opened: { temp: string; handle: FileHandle },
  dir: string,
  name: string,
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: { replace?: boolean } = {},
): Promise<Written> {
  const file = join(dir, name);
  const hash = createHash("sha256");
  let bytes = 0;
  // Which side failed: the source (a lost connection: its own error) or the file system (named with the file and advice).
  let step: "read" | "write" | "sync" | "name" = "read";
  try {
    try {
      for await (const chunk of source) {
        const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        hash.update(buffer);
        bytes += buffer.length;
        step = "write";
        await opened.handle.write(buffer);
        step = "read";
      }
      step = "sync";
      await opened.handle.sync();
    } finally {
      await opened.handle.close();
    }
    step = "name";
    if (options.replace) await rename(opened.temp, file);
    else await link(opened.temp, file);
  } catch (e) {
    await rm(opened.temp, { force: true });
    if (step !== "read" && isErrno(e))
      throw new BackupWriteError(`${fileSystemError(e, file, step === "name" ? "create" : "write")}; nothing was left under that name`);
    throw e;
  }
  await rm(opened.temp, { force: true });
  return { file, bytes, sha256: hash.digest("hex") };
}

/** Writes a small text file privately (see {@link finishPrivateFile}). */
export async function writePrivateText(dir: string, name: string, text: string, options: { replace?: boolean } = {}): Promise<Written> {
  return finishPrivateFile(await openPrivateTemp(dir, name), dir, name, [text], options);
}

/** SHA-256 of a file, lower-case hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The checksum file's line, in the format `sha256sum -c` reads. */
export function checksumLine(sha256: string, file: string): string {
  return `${sha256}  ${basename(file)}\n`;
}

/** The hash in a `sha256sum` line for `file`; undefined when the text is not one. */
export function parseChecksum(text: string, file: string): string | undefined {
  const match = /^([0-9a-f]{64}) [ *](.+)\n?$/.exec(text);
  return match && match[2] === basename(file) ? match[1] : undefined;
}

function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return typeof e === "object" && e !== null && "code" in e && typeof (e as { code?: unknown }).code === "string";
}
