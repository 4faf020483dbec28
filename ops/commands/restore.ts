import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { BackupCheckError } from "../backup/errors";
import { RestoreDeclined, restoreBackup } from "../backup/restore";
import { DEFAULT_SERVER_DIR, LOCAL_ENV_FILE } from "../common/paths";
import { writePrivateFile } from "../common/private-files";
import { LAYOUT } from "../server/layout";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { BackupSurroundings, CHECK_HELP, CHECK_OPTIONS, EXIT_HELP, bundleFrom, processSurroundings } from "./backup";
import { CommandIo, CommandSpec, EXIT, UsageError, nonEmptyPath, runCommand } from "./command";

const OPTIONS = { force: { type: "boolean", default: false }, yes: { type: "boolean", default: false }, ...CHECK_OPTIONS } as const;

export const RESTORE: CommandSpec<typeof OPTIONS> = {
  name: "restore",
  synopsis: "FILE [--force] [--yes] [--unseal-keys FILE] [--bundle DIR] [--skip-login] [--json]",
  summary: "disaster recovery: restore a backup into a (fresh) server, unseal, check it",
  details: `  Restores FILE (a backup's .snap) into the server at VAULT_ADDR, which must be initialised
  and unsealed, with VAULT_TOKEN a token of that server that may restore (its root token).
  Proves before it destroys: the snapshot is first restored into a scratch server, where the
  unseal keys must open it and the content the manifest lists must be there; only then is the
  target touched. Everything on that server is replaced. Asks for confirmation on a terminal.
  A .snap without its manifest is restored with a warning (nothing to compare the keys with).
  Should it stop after the server took the snapshot, it prints the exact step that finishes
  by hand; the project's local server then recovers with \`npm run server:start\`.
  --force   the snapshot comes from another cluster (the usual case: a fresh server after a
            disaster). The server takes the snapshot's keyring: it seals, and opens only with the
            snapshot's cluster's unseal keys, which this command then gives it; the fresh server's
            own keys and root token are void afterwards, the snapshot's tokens valid again.
            Multi-node clusters: restore into one node, then join the others (openbao#2455).
  --yes     do not ask (scripts)
  Afterwards the restored content is checked as verify-backup does. When the server is the
  project's local server, its unseal key, root token and vault.env are updated to match.
${CHECK_HELP}${EXIT_HELP}`,
  options: OPTIONS,
  positionals: ["FILE"],
};

/** Asks on the terminal; without one, refuses (scripts pass --yes). */
export async function terminalConfirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new Error("restore asks for confirmation on a terminal, and stdin is not one; pass --yes in scripts");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question}\nType "restore" to go on: `)).trim() === "restore";
  } finally {
    rl.close();
  }
}

/** `restore FILE`: 0 restored and checked, else the code of BACKUP_EXIT. */
export function restoreMain(argv: readonly string[], io: CommandIo, surroundings: () => BackupSurroundings = processSurroundings): Promise<number> {
  return runCommand(RESTORE, argv, io, async ({ values, positionals }) => {
    const file = nonEmptyPath("FILE", positionals[0]);
    if (file === undefined) throw new UsageError("expected the backup's .snap file");
    const unsealKeysFile = nonEmptyPath("--unseal-keys", values["unseal-keys"]);
    const bundle = bundleFrom(values);
    const s = surroundings();
    const ask = s.confirm ?? terminalConfirm;
    try {
      const report = await restoreBackup({
        file,
        endpoint: endpointFromEnv(s.env),
        token: vaultToken(s.env),
        unsealKeys: { file: unsealKeysFile, env: s.env, localServerDir: s.localServerDir },
        force: values.force,
        confirm: values.yes ? async () => true : ask,
        bundle,
        baoBinary: s.baoBinary(),
        localServerDir: s.localServerDir,
        log: (line) => io.stderr(`${line}\n`),
      });
      if (report.localServerUpdated && s.localServerDir === DEFAULT_SERVER_DIR) {
        // As `server start` does: the other commands read the default server's connection from .local/vault.env.
        rmSync(LOCAL_ENV_FILE, { force: true });
        writePrivateFile(LOCAL_ENV_FILE, readFileSync(join(DEFAULT_SERVER_DIR, LAYOUT.env), "utf8"));
      }
      const c = report.content;
      const checkedText = c
        ? `${c.keysChecked} archive keys read back, CA and admin certificate ${c.adminSerial} there, login ${c.login}`
        : "no manifest, so nothing to compare the content with (the snapshot loaded and the keys opened it)";
      io.stdout(
        values.json
          ? `${JSON.stringify({ ok: true, snapshot: report.files.snapshot, forced: report.forced, manifest: report.manifest !== undefined, keysChecked: c?.keysChecked ?? null, login: c?.login ?? "skipped", localServerUpdated: report.localServerUpdated, seconds: report.seconds }, null, 2)}\n`
          : `restored ${report.files.snapshot} into ${s.env.VAULT_ADDR}${report.forced ? " (snapshot-force)" : ""} in ${report.seconds.toFixed(1)} s: ${checkedText}\n` +
              (report.forced && !report.localServerUpdated
                ? "The server now opens with the snapshot's cluster's unseal keys; the tokens of that cluster are valid again.\n"
                : ""),
      );
      return EXIT.ok;
    } catch (e) {
      if (e instanceof RestoreDeclined) {
        io.stderr(`restore: ${e.message}\n`);
        return EXIT.failed;
      }
      if (!(e instanceof BackupCheckError)) throw e;
      io.stderr(`restore: ${e.message}\n`);
      return e.exitCode;
    }
  });
}
