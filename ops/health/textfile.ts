import { writeFileAtomically } from "../common/private-files";

/**
 * Writes `text` to `file` atomically through the project's file rule (a regular file or a new path;
 * a FIFO, a device or a directory is refused with the path named), 0644 whatever the umask: the metrics
 * hold no secret, and node_exporter's textfile collector usually runs as another user.
 */
export async function writeAtomically(file: string, text: string, what = "health --out"): Promise<void> {
  await writeFileAtomically(file, text, { mode: 0o644, what });
}
