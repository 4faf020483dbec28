import { randomBytes } from "node:crypto";
import { chmod, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `text` to `file` atomically: a temporary file in the same directory
 * (its name does not end in `.prom`, so node_exporter's textfile collector
 * never reads it half-written), then a rename over `file`. The result is 0644
 * whatever the umask: the metrics hold no secret, and the collector usually
 * runs as another user.
 */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, text, { flag: "wx", mode: 0o644 });
    await chmod(temporary, 0o644);
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}
