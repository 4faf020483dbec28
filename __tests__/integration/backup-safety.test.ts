import { execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { BackupManifest } from "../../ops/backup/manifest";
import { restoreBackup } from "../../ops/backup/restore";
import { BackupSurroundings, backupMain } from "../../ops/commands/backup";
import { bundleMain } from "../../ops/commands/bundle";
import { healthMain } from "../../ops/commands/health";
import { restoreMain } from "../../ops/commands/restore";
import { serverMain } from "../../ops/commands/server";
import { verifyBackupMain } from "../../ops/commands/verify-backup";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { loadToolchain } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { LAYOUT } from "../../ops/server/layout";
import { findServerPid, isAlive } from "../../ops/server/process";
import { readServerEnv } from "../../ops/server/server";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, callApi, ok, startTestServer, testDeployment } from "./fixtures";

/*
 * The day-2 commands must never hurt the keystore they serve (issue 28), on real servers: one deployed
 * OpenBao with a few Code42-style archive keys, one backup of it, and a second server standing in for a
 * server that holds other data. Each test is a reproduction from the issue that failed before the fix.
 */

const PUBLIC_URL = "https://vault.example.com:8200";
const KEYS = 5;

describe("day-2 safety: backup, verify-backup, restore and health", () => {
  let server: TestServer;
  let td: TestDeployment;
  let work: string;
  let out: string;
  let bundleDir: string;
  let keysFile: string;
  let unsealKey: string;
  let surroundings: BackupSurroundings;
  let backup: { snapshot: string; manifest: string; name: string };
  const archive = new Map<string, string>();
  let secrets: string[] = [];

  const run = async (
    main: (argv: string[], io: ReturnType<typeof capture>["io"], s: () => BackupSurroundings) => Promise<number>,
    argv: string[],
    s = surroundings,
  ) => {
    const { out: printed, io } = capture();
    const code = await main(argv, io, () => s);
    if (process.env.DEBUG_BACKUP_TEST) process.stderr.write(`[${code}] ${printed.stderr}\n`);
    for (const secret of secrets) {
      expect(printed.stdout).not.toContain(secret);
      expect(printed.stderr).not.toContain(secret);
    }
    return { code, ...printed };
  };

  const health = async (args: string[], env: Record<string, string> = server.env) => {
    const { out: printed, io } = capture();
    const code = await healthMain(args, (abort) => isolatedDeployment(td.work, env, { C42_PUBLIC_URL: PUBLIC_URL }, { signal: abort }), io);
    return { code, ...printed };
  };

  /** A copy of the backup's files in a directory of its own, optionally under another name or without some files. */
  const copyBackup = (dir: string, options: { name?: string; without?: string[]; manifest?: (m: BackupManifest) => BackupManifest } = {}) => {
    const target = join(work, dir);
    mkdirSync(target, { recursive: true, mode: 0o700 });
    const name = options.name ?? backup.name;
    const without = options.without ?? [];
    if (!without.includes(".snap")) copyFileSync(backup.snapshot, join(target, `${name}.snap`));
    if (!without.includes(".snap.sha256"))
      writeFileSync(join(target, `${name}.snap.sha256`), readFileSync(`${backup.snapshot}.sha256`, "utf8").replace(`${backup.name}.snap`, `${name}.snap`));
    if (!without.includes(".manifest.json")) {
      const m = JSON.parse(readFileSync(backup.manifest, "utf8")) as BackupManifest;
      const changed = (options.manifest ?? ((x) => x))({ ...m, snapshot: `${name}.snap` });
      writeFileSync(join(target, `${name}.manifest.json`), JSON.stringify(changed, null, 2), { mode: 0o600 });
    }
    return join(target, `${name}.snap`);
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "c42-day2-safety-"));
    out = join(work, "backups");
    bundleDir = join(work, "bundle");
    server = await startTestServer();
    td = testDeployment(server, { C42_PUBLIC_URL: PUBLIC_URL });
    await deploy(td.deployment);
    const b = capture();
    expect(await bundleMain(["--out", bundleDir], () => td.deployment.outputs(), b.io)).toBe(0);
    for (let i = 0; i < KEYS; i++) {
      const path = `code42/archive-keys/${randomUUID()}`;
      const value = { keyId: basename(path), algorithm: "AES-256", key: randomBytes(32).toString("base64") };
      ok(await server.call({ method: "PUT", path: `secret/${path}`, body: value }));
      archive.set(path, JSON.stringify(value));
    }
    keysFile = join(work, "unseal.keys");
    copyFileSync(join(server.dir, LAYOUT.unsealKey), keysFile);
    chmodSync(keysFile, 0o600);
    unsealKey = readFileSync(keysFile, "utf8").trim();
    secrets = [server.env.VAULT_TOKEN, unsealKey, ...[...archive.values()].map((v) => JSON.parse(v).key as string)];
    surroundings = { env: td.deployment.env, projectDir: td.work, localServerDir: join(work, "no-local-server"), baoBinary: () => loadToolchain().bao };
    const r = await run(backupMain, ["--out", out, "--json"]);
    expect(r).toMatchObject({ code: 0 });
    const result = JSON.parse(r.stdout);
    backup = { snapshot: result.snapshot, manifest: result.manifest, name: basename(result.snapshot, ".snap") };
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("backup --keep 1 orders by the manifest's creation time: a planted future-dated backup is ignored (and named), the new backup is never removed", async () => {
    // Planted as the issue did: a complete backup whose name sorts last, dated 2099.
    const future = "c42-keystore-20991231T000000000Z";
    const planted = copyBackup("backups", { name: future, manifest: (m) => ({ ...m, createdAt: "2099-12-31T00:00:00.000Z" }) });
    // Named to sort after the real one but created long before it: the name does not decide.
    const misnamed = "c42-keystore-20981231T000000000Z";
    copyBackup("backups", { name: misnamed, manifest: (m) => ({ ...m, createdAt: "2020-01-01T00:00:00.000Z" }) });
    const r = await run(backupMain, ["--out", out, "--keep", "1", "--json"]);
    expect(r).toMatchObject({ code: 0 });
    const result = JSON.parse(r.stdout);
    const taken = basename(result.snapshot, ".snap");
    expect(result.removed.sort()).toEqual([backup.name, misnamed].sort());
    expect(result.ignoredFuture).toEqual([future]);
    expect(r.stderr).toContain(`${future} (created 2099-12-31T00:00:00.000Z) claims to be taken after now`);
    expect(readdirSync(out).sort()).toEqual([taken, future].flatMap((n) => [`${n}.manifest.json`, `${n}.snap`, `${n}.snap.sha256`]).sort());
    expect(existsSync(planted)).toBe(true);

    // health grades the real newest backup, not the planted one.
    const h = await health(["--backups", out, "--bundle", bundleDir, "--json"]);
    const check = JSON.parse(h.stdout).checks.find((c: { name: string }) => c.name === "backup");
    expect(check.reason).toMatch(new RegExp(`^newest backup ${taken} taken `));
    // The backup the later tests use is the one just taken.
    backup = { snapshot: result.snapshot, manifest: result.manifest, name: taken };
  });

  test("a world-writable --out without the sticky bit draws a warning; with the sticky bit it does not", async () => {
    const open = join(work, "world-writable");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r = await run(backupMain, ["--out", open]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toContain(
      `warning: backup --out ${open} is world-writable without the sticky bit (mode 777): any user of this host can replace the snapshot, its checksum and the manifest there`,
    );
    const sticky = join(work, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const s = await run(backupMain, ["--out", sticky]);
    expect(s).toMatchObject({ code: 0 });
    expect(s.stderr).not.toContain("world-writable");
  });

  test("health --out refuses a FIFO, a character device and a directory, naming the path; none is replaced", async () => {
    const fifo = join(work, "metrics.fifo");
    execFileSync("mkfifo", [fifo]);
    const dir = join(work, "metrics.d");
    mkdirSync(dir);
    for (const [path, kind] of [
      [fifo, "a FIFO (named pipe)"],
      ["/dev/null", "a character device"],
      ["/dev/full", "a character device"],
      [dir, "a directory"],
    ]) {
      const h = await health(["--out", path, "--format", "prometheus"]);
      expect(h.code).toBe(3);
      expect(h.stderr).toBe(
        `health: health --out: ${path} is ${kind}, not a regular file; refusing to replace it: give the path of a regular file or a new one\n`,
      );
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
    expect(statSync("/dev/full").isCharacterDevice()).toBe(true);
    expect(statSync(dir).isDirectory()).toBe(true);
    // A new path and a regular file are fine.
    const prom = join(work, "c42.prom");
    writeFileSync(prom, "old\n");
    const written = await health(["--out", prom, "--format", "prometheus", "--bundle", bundleDir]);
    expect(written.stdout).toContain(`(wrote ${prom})`);
    expect(readFileSync(prom, "utf8")).toContain("c42_keystore_up");
    expect(statSync(prom).mode & 0o777).toBe(0o644);
  });

  test("secrets and exits: a key typed as --unseal-keys is never printed; an empty keys file exits 4; bad numbers are refused by name", async () => {
    const typed = await run(verifyBackupMain, [backup.snapshot, "--unseal-keys", unsealKey, "--skip-login"]);
    expect(typed).toMatchObject({ code: 4 });
    expect(typed.stderr).toMatch(/--unseal-keys: no file has the name given \(\d+ characters, not shown: it could be a key/);
    expect(typed.stderr).not.toContain(unsealKey.slice(0, 6));

    const empty = join(work, "empty.keys");
    writeFileSync(empty, "", { mode: 0o600 });
    const e = await run(verifyBackupMain, [backup.snapshot, "--unseal-keys", empty, "--skip-login"]);
    expect(e).toMatchObject({ code: 4 });
    expect(e.stderr).toContain(`--unseal-keys ${empty}: holds no unseal key`);

    for (const [argv, message] of [
      [["--keep", "-1"], '--keep: "-1" is not a whole number; expected 1 to 999999'],
      [["--keep", "1 "], '--keep: "1 " has spaces around the number'],
    ] as [string[], string][]) {
      const r = await run(backupMain, ["--out", out, ...argv]);
      expect(r).toMatchObject({ code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("ambiguous");
    }
  });

  test("messages name the cause: restore with an http:// VAULT_ADDR; a certificate that names another host", async () => {
    const http = server.env.VAULT_ADDR.replace("https://", "http://");
    const r = await run(restoreMain, [backup.snapshot, "--yes", "--unseal-keys", keysFile, "--skip-login"], {
      ...surroundings,
      env: { ...surroundings.env, VAULT_ADDR: http },
    });
    expect(r).toMatchObject({ code: 1 });
    expect(r.stderr).toContain(`VAULT_ADDR=${http} uses http://; the keystore's commands talk to Vault only over TLS`);
    expect(r.stderr).not.toContain("not supported");

    // A name that reaches the server but is not in its certificate (IP:127.0.0.1, DNS:localhost).
    const port = new URL(server.env.VAULT_ADDR).port;
    const other = await otherLoopbackName();
    const wrongName = `https://${other}:${port}`;
    const w = await run(backupMain, ["--out", join(work, "wrong-name")], { ...surroundings, env: { ...surroundings.env, VAULT_ADDR: wrongName } });
    expect(w).toMatchObject({ code: 1 });
    expect(w.stderr).toContain("VAULT_ADDR names a host the server's certificate does not hold; use a name or address from the certificate");
    expect(w.stderr).not.toContain("set VAULT_CACERT");
  });

  test("a SIGKILLed verify-backup leaves its scratch server; the next verification stops it, and records a damaged backup that health then reports", async () => {
    const cli = join(__dirname, "..", "..", "bin", "c42-keystore.js");
    const child = spawn(process.execPath, [cli, "verify-backup", backup.snapshot, "--skip-login"], {
      env: { ...process.env, C42_UNSEAL_KEYS: unsealKey, CHECKPOINT_DISABLE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    try {
      await waitFor(
        () => /\[scratch\] active after/.test(stderr) || child.exitCode !== null,
        120_000,
        () => stderr,
      );
      expect(child.exitCode).toBeNull();
      child.kill("SIGKILL");
      await exited;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    const dir = /setting up a new OpenBao server in (\S+)/.exec(stderr)?.[1] as string;
    expect(basename(dir)).toMatch(new RegExp(`^c42-scratch-${child.pid}_\\d+_\\w{6}$`));
    const leftover = findServerPid(dir);
    expect(leftover).toBeDefined();

    // A damaged copy of a backup that was verified once: the next verification fails on the checksum (exit 3),
    // and still stops the leftover first.
    const snap = copyBackup("damaged", {
      manifest: (m) => ({ ...m, verified: { at: new Date().toISOString(), keysChecked: KEYS, login: "skipped", seconds: 1, serverVersion: "2.4.0" } }),
    });
    const bytes = readFileSync(snap);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(snap, bytes);
    const v = await run(verifyBackupMain, [snap, "--unseal-keys", keysFile, "--skip-login"]);
    expect(v).toMatchObject({ code: 3 });
    expect(v.stderr).toContain(`stopped and deleted a scratch server left behind by process ${child.pid}, which is gone (killed?): ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(isAlive(leftover as number)).toBe(false);
    expect(v.stderr).toContain("health reports this backup as failed, not verified");

    const manifest = JSON.parse(readFileSync(snap.replace(/\.snap$/, ".manifest.json"), "utf8")) as BackupManifest;
    expect(manifest.verified).toBeUndefined();
    expect(manifest.verifyFailed).toMatchObject({ failure: "corrupt" });
    const h = await health(["--backups", join(work, "damaged"), "--json"]);
    const check = JSON.parse(h.stdout).checks.find((c: { name: string }) => c.name === "backup");
    expect(check.state).toBe("WARN");
    expect(check.reason).toMatch(/FAILED verification .* \(damaged: .* is damaged: its SHA-256 is/);
    expect(check.reason).not.toMatch(/, verified /);
    expect(check.values).toMatchObject({ backup_verified: 0, backup_verify_failed: 1 });
  });

  describe("restore proves before it destroys, into a server that holds other data", () => {
    let other: TestServer;
    const otherKey = `other-data/${randomUUID()}`;

    beforeAll(async () => {
      other = await startTestServer();
      ok(await other.call({ method: "POST", path: "sys/mounts/other-data", body: { type: "kv" } }));
      ok(await other.call({ method: "PUT", path: otherKey, body: { value: "kept" } }));
    });

    afterAll(async () => {
      await other?.stop();
    });

    const onOther = (extra: Partial<BackupSurroundings> = {}): BackupSurroundings => ({
      ...surroundings,
      env: { ...surroundings.env, ...other.env },
      localServerDir: other.dir,
      ...extra,
    });

    test("--force with wrong unseal keys exits 4 and the target is untouched: unsealed, its own cluster, its data there", async () => {
      const before = (await other.call({ path: "sys/seal-status" })).json.cluster_id as string;
      const wrong = join(work, "wrong.keys");
      const wrongKey = randomBytes(32).toString("base64");
      writeFileSync(wrong, `${wrongKey}\n`, { mode: 0o600 });
      secrets.push(wrongKey);
      const r = await run(restoreMain, [backup.snapshot, "--force", "--yes", "--unseal-keys", wrong, "--skip-login"], onOther());
      expect(r).toMatchObject({ code: 4 });
      expect(r.stderr).toContain(`before ${other.env.VAULT_ADDR} is touched`);
      expect(r.stderr).toMatch(/key 1 from --unseal-keys .* does not unseal the snapshot of cluster/);
      expect(r.stderr).toMatch(/scratch server stopped/);
      const seal = (await other.call({ path: "sys/seal-status" })).json;
      expect(seal).toMatchObject({ sealed: false, cluster_id: before });
      expect((await other.call({ path: otherKey })).json.data).toEqual({ value: "kept" });
      expect(existsSync(join(other.dir, LAYOUT.pendingUnsealKey))).toBe(false);
    });

    test("a restore that stops after the point of no return says how to finish, and `server start` recovers the project server", async () => {
      // The target dies once it has loaded the snapshot and sealed, before it is unsealed: a crash or a power cut.
      const lines: string[] = [];
      const pid = findServerPid(other.dir) as number;
      let error: unknown;
      try {
        await restoreBackup({
          file: backup.snapshot,
          endpoint: other.endpoint,
          token: other.env.VAULT_TOKEN,
          unsealKeys: { file: keysFile, env: {} },
          force: true,
          confirm: async () => true,
          bundle: undefined,
          baoBinary: loadToolchain().bao,
          localServerDir: other.dir,
          log: (line) => {
            lines.push(line);
            if (!line.startsWith("the server loaded the snapshot and sealed itself")) return;
            process.kill(pid, "SIGKILL");
            // Dead before the restore goes on (the log is called synchronously, just before the unseal).
            const deadline = Date.now() + 5000;
            while (isAlive(pid) && Date.now() < deadline);
          },
        });
      } catch (e) {
        error = e;
      }
      const message = (error as Error).message;
      expect(message).toContain(`The restore stopped after ${other.env.VAULT_ADDR} took the snapshot (the point of no return)`);
      expect(message).toContain(
        `To finish: \`npm run server:start -- --dir ${other.dir}\` unseals it with the restored cluster's key (staged in ${join(other.dir, LAYOUT.pendingUnsealKey)})`,
      );
      for (const secret of secrets) expect(message).not.toContain(secret);
      expect(statSync(join(other.dir, LAYOUT.pendingUnsealKey)).mode & 0o777).toBe(0o600);

      const started = capture();
      const code = await serverMain(["start", "--dir", other.dir], started.io);
      expect(started.out.stderr).toContain(`unsealed with ${join(other.dir, LAYOUT.pendingUnsealKey)}`);
      expect(code).toBe(0);
      expect(existsSync(join(other.dir, LAYOUT.pendingUnsealKey))).toBe(false);
      expect(readFileSync(join(other.dir, LAYOUT.unsealKey), "utf8").trim()).toBe(unsealKey);
      // The server's env file holds a working root token of the restored cluster: the archive keys are there, the old data is not.
      const env = readServerEnv(other.dir);
      secrets.push(env.VAULT_TOKEN);
      const call = (path: string) => callApi(other.endpoint, { path, token: env.VAULT_TOKEN });
      const [path, text] = [...archive.entries()][0];
      expect((await call(`secret/${path}`)).json.data).toEqual(JSON.parse(text));
      expect((await call(otherKey)).status).not.toBe(200);
    });

    test("a .snap without its manifest is restored with a warning, not refused", async () => {
      const snap = copyBackup("no-manifest", { without: [".manifest.json"] });
      const env = readServerEnv(other.dir);
      const r = await run(
        restoreMain,
        [snap, "--force", "--yes", "--unseal-keys", keysFile, "--skip-login", "--json"],
        onOther({ env: { ...surroundings.env, ...env } }),
      );
      expect(r).toMatchObject({ code: 0 });
      expect(r.stderr).toContain(`warning: ${snap.replace(/\.snap$/, ".manifest.json")} is missing; restoring without it (its checksum file matches)`);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, manifest: false, keysChecked: null });
      const [path, text] = [...archive.entries()][1];
      expect((await callApi(other.endpoint, { path: `secret/${path}`, token: readServerEnv(other.dir).VAULT_TOKEN })).json.data).toEqual(JSON.parse(text));
    });
  });
});

/** Polls until `done` holds, failing after `timeoutMs` with what `context` says. */
async function waitFor(done: () => boolean, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s:\n${context()}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** A host name that resolves to 127.0.0.1 but is not "localhost" (the test server's certificate holds only that name). */
async function otherLoopbackName(): Promise<string> {
  const names = readFileSync("/etc/hosts", "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim().split(/\s+/))
    .filter(([address]) => address === "127.0.0.1")
    .flatMap(([, ...aliases]) => aliases)
    .filter((name) => name !== "" && name !== "localhost" && !name.startsWith("localhost."));
  for (const name of names) {
    if ((await lookup(name, { family: 4 }).catch(() => undefined))?.address === "127.0.0.1") return name;
  }
  throw new Error("no name other than localhost resolves to 127.0.0.1 in /etc/hosts; add one (e.g. `127.0.0.1 c42-test`) to run this test");
}
