// The archive keys a backup is taken of and the disaster restore that must bring them back, shared by the
// OpenBao (backup.test.ts) and the HashiCorp Vault (hashicorp-vault-cluster.test.ts) tests: the same keys, the
// same command, the same values read back. Not a test file.

import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BackupSurroundings } from "../../ops/commands/backup";
import { driftMain } from "../../ops/commands/drift";
import { restoreMain } from "../../ops/commands/restore";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { capture } from "../helpers/io";
import { TestServer, ok } from "./fixtures";

/** Writes `count` Code42-style archive keys (secret/code42/archive-keys/<uuid>, 32 at a time) and adds each to `archive` (path → JSON text). */
export async function writeArchiveKeys(server: Pick<TestServer, "call">, count: number, archive: Map<string, string>, label: string): Promise<void> {
  const started = Date.now();
  const paths = Array.from({ length: count }, () => `code42/archive-keys/${randomUUID()}`);
  for (let i = 0; i < paths.length; i += 32) {
    await Promise.all(
      paths.slice(i, i + 32).map(async (path) => {
        const value = { keyId: basename(path), algorithm: "AES-256", key: randomBytes(32).toString("base64") };
        ok(await server.call({ method: "PUT", path: `secret/${path}`, body: value }));
        archive.set(path, JSON.stringify(value));
      }),
    );
  }
  process.stderr.write(`${label}: wrote ${count} archive keys in ${Date.now() - started} ms\n`);
}

/** What a restore into a new server is given and must bring back. */
export interface RestoreInto {
  /** The new server, started from the server binary under test (OpenBao's bao or HashiCorp Vault's vault). */
  readonly server: TestServer;
  /** The surroundings restore runs in; its env is the new server's. */
  readonly surroundings: BackupSurroundings;
  readonly snapshot: string;
  readonly keysFile: string;
  /** The bundle Code42 was given before the disaster (crashplan.p12 and its password). */
  readonly bundleDir: string;
  /** The lost server's root token: after the restore the new server holds that server's token store. */
  readonly token: string;
  /** Archive key path under secret/ → the JSON text written. */
  readonly archive: ReadonlyMap<string, string>;
  /** Archive key path → the data as the lost server answered it, serialized: each key is then also compared byte for byte. */
  readonly answeredBefore?: ReadonlyMap<string, string>;
  /** The project directory (its state) and the settings the stack was deployed with. */
  readonly projectDir: string;
  readonly settings: Record<string, string>;
  /** Never in restore's or drift's output. */
  readonly secrets: readonly string[];
  /** Names the test file in the timing line on stderr. */
  readonly label: string;
}

/**
 * `restore --force --yes` of the snapshot into `into.server`, then what a disaster restore must give back: every
 * archive key (status 200, the data written), Code42's crashplan.p12 logs in with crashplanpolicy, and drift exits 0
 * with the lost server's token. Returns restore's output and a deployment on the restored server.
 */
export async function restoreAndReadBack(into: RestoreInto): Promise<{ readonly stdout: string; readonly stderr: string; readonly deployment: Deployment }> {
  const started = Date.now();
  const { out, io } = capture();
  const code = await restoreMain([into.snapshot, "--force", "--yes", "--unseal-keys", into.keysFile, "--bundle", into.bundleDir], io, () => into.surroundings);
  expect({ code, stderr: out.stderr }).toMatchObject({ code: 0 });
  const noSecrets = (text: string) => {
    for (const secret of into.secrets) expect(text.includes(secret)).toBe(false);
  };
  noSecrets(out.stdout + out.stderr);
  expect(out.stdout).toMatch(
    new RegExp(
      `restored .* \\(snapshot-force\\) in [0-9.]+ s: ${into.archive.size} archive keys read back, CA and admin certificate [0-9a-f:]+ there, login ok`,
    ),
  );
  process.stderr.write(`${into.label}: restore of ${into.archive.size} keys took ${Date.now() - started} ms\n`);

  for (const [path, text] of into.archive) {
    const answer = await into.server.call({ path: `secret/${path}`, token: into.token });
    expect([path, answer.status]).toEqual([path, 200]);
    if (into.answeredBefore) expect(JSON.stringify(answer.json.data)).toBe(into.answeredBefore.get(path));
    expect(answer.json.data).toEqual(JSON.parse(text));
  }

  const login = await into.server.call({
    method: "POST",
    path: "auth/cert/login",
    token: undefined,
    pfx: { pfx: readFileSync(join(into.bundleDir, "crashplan.p12")), passphrase: readFileSync(join(into.bundleDir, "crashplan.p12.password"), "utf8").trim() },
  });
  expect([login.status, login.json.auth?.token_policies]).toEqual([200, ["crashplanpolicy", "default"]]);

  const deployment = isolatedDeployment(into.projectDir, { ...into.server.env, VAULT_TOKEN: into.token }, into.settings);
  const drift = capture();
  expect(await driftMain([], () => deployment, drift.io)).toBe(0);
  expect(drift.out.stdout).toBe("in sync: Vault matches the configuration\n");
  noSecrets(drift.out.stdout + drift.out.stderr);
  return { stdout: out.stdout, stderr: out.stderr, deployment };
}
