// Benchmark, not a test: backup, verification and restore times and snapshot
// size for a keystore holding N Code42-style archive keys (`npm run
// bench:backup`, default 1,000 and 10,000). Each size gets its own private
// servers, purged afterwards. Nothing here fails on a slow machine; it fails
// only when a backup does not verify or restore.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { takeBackup } from "../ops/backup/backup";
import { keystorePaths } from "../ops/backup/keystore";
import { readLoginBundle } from "../ops/backup/login-bundle";
import { restoreBackup } from "../ops/backup/restore";
import { verifyBackup } from "../ops/backup/verify";
import { writeBundle } from "../ops/bundle/bundle";
import { isolatedDeployment } from "../ops/engine/scratch";
import { loadToolchain } from "../ops/engine/toolchain";
import { deploy } from "../ops/lifecycle/deploy";
import { readServerEnv, startServer, stopServer } from "../ops/server/server";
import { VaultEndpoint, vaultCall } from "../ops/vault/client";

const { values } = parseArgs({ options: { keys: { type: "string", default: "1000,10000" } } });
const sizes = (values.keys ?? "").split(",").map((s) => Number(s.trim()));
if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000)) {
  process.stderr.write(`--keys: "${values.keys}" is not a comma-separated list of whole numbers from 1 to 100000; expected e.g. --keys 1000,10000\n`);
  process.exit(2);
}

const toolchain = loadToolchain();
const log = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (start: number) => (Date.now() - start) / 1000;

interface Server {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
}

async function freshServer(parent: string, name: string): Promise<Server> {
  const dir = join(parent, name);
  await startServer({ dir, baoBinary: toolchain.bao });
  const env = readServerEnv(dir);
  return { dir, env, endpoint: { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") } };
}

/** What one size measured, in seconds and bytes. */
interface Sample {
  readonly keys: number;
  readonly writeKeys: number;
  readonly backup: number;
  readonly snapshotBytes: number;
  readonly manifestBytes: number;
  readonly verify: number;
  readonly restore: number;
  readonly load1m: readonly [number, number];
}

async function measure(keys: number): Promise<Sample> {
  const work = mkdtempSync(join(tmpdir(), "c42-bench-backup-"));
  const servers: Server[] = [];
  const load0 = loadavg()[0];
  try {
    const server = await freshServer(work, "server");
    servers.push(server);
    const deployment = isolatedDeployment(join(work, "deploy"), server.env, { C42_PUBLIC_URL: "https://vault.example.com:8200" });
    await deploy(deployment);
    await writeBundle({ outputs: await deployment.outputs(), outDir: join(work, "bundle") });

    let t = Date.now();
    for (let i = 0; i < keys; i += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, keys - i) }, async () => {
          const id = randomUUID();
          const body = { keyId: id, algorithm: "AES-256", key: randomBytes(32).toString("base64") };
          const answer = await vaultCall(server.endpoint, { method: "PUT", path: `secret/code42/archive-keys/${id}`, token: server.env.VAULT_TOKEN, body });
          if (answer.status !== 204 && answer.status !== 200) throw new Error(`writing an archive key failed: HTTP ${answer.status}`);
        }),
      );
    }
    const writeKeys = seconds(t);
    log(`${keys} keys: written in ${writeKeys.toFixed(1)} s`);

    const paths = keystorePaths(deployment.config);
    t = Date.now();
    const backup = await takeBackup({ endpoint: server.endpoint, token: server.env.VAULT_TOKEN, paths, outDir: join(work, "backups") });
    const backupSeconds = seconds(t);
    log(`${keys} keys: backup ${backupSeconds.toFixed(1)} s, snapshot ${backup.manifest.bytes} bytes`);

    const bundle = readLoginBundle(join(work, "bundle"), "bundle");
    const unsealKeys = { file: join(server.dir, "unseal.key"), env: {} };
    t = Date.now();
    const verified = await verifyBackup({ file: backup.files.snapshot, unsealKeys, baoBinary: toolchain.bao, bundle });
    const verifySeconds = seconds(t);
    if (verified.content.keysChecked !== keys || verified.content.login !== "ok")
      throw new Error(`verification checked ${verified.content.keysChecked} keys, login ${verified.content.login}`);
    log(`${keys} keys: verify ${verifySeconds.toFixed(1)} s (scratch server start, restore, unseal, ${keys} reads, login)`);

    const fresh = await freshServer(work, "fresh");
    servers.push(fresh);
    t = Date.now();
    const restored = await restoreBackup({
      file: backup.files.snapshot,
      endpoint: fresh.endpoint,
      token: fresh.env.VAULT_TOKEN,
      unsealKeys,
      force: true,
      confirm: async () => true,
      bundle,
      baoBinary: toolchain.bao,
    });
    const restoreSeconds = seconds(t);
    if (restored.content?.keysChecked !== keys) throw new Error(`restore checked ${restored.content?.keysChecked} keys`);
    log(`${keys} keys: restore into a fresh server ${restoreSeconds.toFixed(1)} s (proof in a scratch server first, then the target)`);

    return {
      keys,
      writeKeys,
      backup: backupSeconds,
      snapshotBytes: backup.manifest.bytes,
      manifestBytes: statSync(backup.files.manifest).size,
      verify: verifySeconds,
      restore: restoreSeconds,
      load1m: [load0, loadavg()[0]],
    };
  } finally {
    for (const s of servers) await stopServer(s.dir, { purge: true });
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const samples: Sample[] = [];
  for (const keys of sizes) samples.push(await measure(keys));
  log("\nkeys    write   backup  snapshot    manifest   verify  restore  load (1 min)");
  for (const s of samples) {
    log(
      `${String(s.keys).padEnd(7)} ${s.writeKeys.toFixed(1).padStart(5)} s ${s.backup.toFixed(1).padStart(5)} s ${String(s.snapshotBytes).padStart(9)} B ${String(s.manifestBytes).padStart(8)} B ` +
        `${s.verify.toFixed(1).padStart(6)} s ${s.restore.toFixed(1).padStart(6)} s  ${s.load1m.map((l) => l.toFixed(1)).join("→")}`,
    );
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, samples }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    log(`bench:backup failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
