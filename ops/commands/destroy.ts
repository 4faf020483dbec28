import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { recordVerification, takeBackup } from "../backup/backup";
import { BackupCheckError } from "../backup/errors";
import { keystorePaths, listKvKeys } from "../backup/keystore";
import { UNSEAL_KEYS_ENV } from "../backup/unseal-keys";
import { verifyBackup } from "../backup/verify";
import { errorMessage } from "../common/errors";
import { Deployment } from "../engine/deployment";
import { endpointFromEnv, vaultToken } from "../vault/client";
import { BackupSurroundings, DEFAULT_BACKUP_DIR, bundleFrom, processSurroundings, verifiedLines } from "./backup";
import { CommandIo, CommandSpec, EXIT, UsageError, nonEmptyPath, runCommand } from "./command";
import { preflighted } from "./vault-preflight";

const OPTIONS = {
  "including-root-ca": { type: "boolean", default: false },
  "including-archive-keys": { type: "boolean", default: false },
  yes: { type: "boolean", default: false },
  "backup-out": { type: "string" },
  "unseal-keys": { type: "string" },
  bundle: { type: "string" },
} as const;

export const DESTROY: CommandSpec<typeof OPTIONS> = {
  name: "destroy",
  synopsis: "[--including-root-ca] [--including-archive-keys [--yes] [--backup-out DIR] [--unseal-keys FILE] [--bundle DIR]]",
  summary: "remove everything the stack created; the root CA and the archive keys only with their flags",
  details: `  Without --including-root-ca, refuses while the root CA is protected (rootCa.preventDestroy).
  The kv mount holds Code42's archive keys; without them Code42 cannot restore any archive.
  The stack protects it with prevent_destroy from every door (npm run deploy, cdktf, the
  engine itself): no plan deletes or replaces it. Only this command lifts that, for its own
  engine run, and only when the mount is empty, or when it holds keys and:
    - --including-archive-keys is given, and
    - on a terminal, you type the confirmation that shows the key count;
      without a terminal (cron, CI, </dev/null), --yes is given as well;
  and then a backup (raft snapshot, checksum, manifest) is taken and verified in a scratch
  server (as \`backup --verify\`) before anything is destroyed; its path is printed. A backup
  that cannot be taken or does not verify stops the destroy, with nothing destroyed.
  --including-root-ca       destroy the root CA and its mount too (invalidates every certificate they signed)
  --including-archive-keys  destroy the kv mount even though it holds archive keys (after the backup)
  --yes                     with --including-archive-keys and no terminal: the keys may go
  --backup-out DIR          where the backup goes (default ${DEFAULT_BACKUP_DIR})
  --unseal-keys FILE        the server's unseal keys for the verification (or ${UNSEAL_KEYS_ENV}); the
                            project's local server opens with its stored key
  --bundle DIR              also check a login with crashplan.p12 from DIR in the verification
  Exit codes: 0 destroyed; 1 failed or refused (nothing destroyed when refused); 2 wrong command line.
`,
  options: OPTIONS,
};

/** Where `destroy` asks and backs up; tests pass their own. */
export interface DestroySurroundings extends BackupSurroundings {
  /** Whether a person can answer on this terminal (stdin is one). */
  readonly isTerminal: boolean;
  /** Asks `question` and resolves to what was typed. */
  readonly ask: (question: string) => Promise<string>;
}

/** The process's own surroundings: a terminal when stdin is one. */
export function processDestroySurroundings(): DestroySurroundings {
  return {
    ...processSurroundings(),
    isTerminal: process.stdin.isTTY === true,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** What a person types to destroy `count` archive keys: the count is in it, so it cannot be typed blind. */
export function confirmationText(count: number): string {
  return `destroy ${count} archive keys`;
}

/** The `destroy` command; `makeDeployment` receives the environment to use. */
export function destroyMain(
  argv: readonly string[],
  makeDeployment: (env: NodeJS.ProcessEnv) => Deployment,
  io: CommandIo,
  surroundings: () => DestroySurroundings = processDestroySurroundings,
): Promise<number> {
  return runCommand(DESTROY, argv, io, async ({ values }) => {
    const includingKeys = values["including-archive-keys"];
    const backupOptions = ["backup-out", "unseal-keys", "bundle"] as const;
    for (const o of backupOptions) {
      if (values[o] !== undefined && !includingKeys)
        throw new UsageError(`--${o} belongs to --including-archive-keys (the backup taken first); add it or leave --${o} out`);
    }
    if (values.yes && !includingKeys) throw new UsageError("--yes belongs to --including-archive-keys; add it or leave --yes out");
    const backupOut = resolve(nonEmptyPath("--backup-out", values["backup-out"]) ?? DEFAULT_BACKUP_DIR);
    const unsealKeysFile = nonEmptyPath("--unseal-keys", values["unseal-keys"]);
    const bundle = values.bundle === undefined ? undefined : bundleFrom({ bundle: values.bundle });

    const env = { ...process.env };
    if (values["including-root-ca"]) env.C42_ROOT_CA_PREVENT_DESTROY = "false";
    const deployment = makeDeployment(env);
    if (deployment.config.rootCa.preventDestroy) {
      io.stderr(
        "destroy: refusing: the root CA and its mount are protected (rootCa.preventDestroy).\n" +
          "Destroying them invalidates every certificate they signed, including the one Code42 logs in with.\n" +
          "Run `npm run destroy -- --including-root-ca` if that is what you want.\n",
      );
      return EXIT.failed;
    }
    await preflighted(deployment, "write");
    const endpoint = endpointFromEnv(deployment.env);
    const token = vaultToken(deployment.env);
    const paths = keystorePaths(deployment.config);
    const keys = await listKvKeys(endpoint, token, paths.kvMount);
    if (keys.length > 0) {
      const s = surroundings();
      const held = `the kv mount ${paths.kvMount}/ holds ${keys.length} archive key${keys.length === 1 ? "" : "s"}`;
      if (!includingKeys) {
        io.stderr(
          `destroy: refusing: ${held}. Without them Code42 cannot restore any archive, and every user's backup starts again from nothing.\n` +
            "Nothing was destroyed. If the keys must go, run `npm run destroy -- --including-archive-keys` (a verified backup is taken first);\n" +
            "to keep them, back them up with `npm run backup -- --verify` and leave the keystore in place.\n",
        );
        return EXIT.failed;
      }
      if (!s.isTerminal && !values.yes) {
        io.stderr(
          `destroy: refusing: ${held}, and there is no terminal to confirm on. Nothing was destroyed.\n` +
            "In a script, give both --including-archive-keys and --yes.\n",
        );
        return EXIT.failed;
      }
      if (s.isTerminal) {
        const expected = confirmationText(keys.length);
        const typed = await s.ask(`destroy: ${held}. They will be backed up and verified, then deleted with the keystore.\nType "${expected}" to go on: `);
        if (typed.trim() !== expected) {
          io.stderr("destroy: not confirmed; nothing was destroyed\n");
          return EXIT.failed;
        }
      }
      const log = (line: string) => io.stderr(`${line}\n`);
      const backup = await takeBackup({ endpoint, token, paths, outDir: backupOut, log });
      try {
        const report = await verifyBackup({
          file: backup.files.snapshot,
          unsealKeys: { file: unsealKeysFile, env: s.env, localServerDir: s.localServerDir },
          baoBinary: s.baoBinary(),
          bundle,
          log,
        });
        await recordVerification(backup.files, backup.manifest, {
          at: new Date().toISOString(),
          keysChecked: report.content.keysChecked,
          login: report.content.login,
          seconds: report.seconds,
          serverVersion: report.serverVersion,
        });
        io.stderr(`destroy: ${verifiedLines(report)}`);
      } catch (e) {
        const why = e instanceof BackupCheckError ? e.message : errorMessage(e);
        io.stderr(`destroy: refusing: the backup ${backup.files.snapshot} was written but does not verify: ${why}. Nothing was destroyed.\n`);
        return EXIT.failed;
      }
      io.stdout(
        `backup of ${backup.manifest.kv.count} archive keys, verified: ${backup.files.snapshot}\n` +
          `  manifest ${backup.files.manifest}; restore with \`npm run restore -- ${backup.files.snapshot}\` and this server's unseal keys\n`,
      );
    }
    await deployment.destroy({ includingArchiveKeys: true });
    io.stdout("destroyed\n");
    return EXIT.ok;
  });
}
