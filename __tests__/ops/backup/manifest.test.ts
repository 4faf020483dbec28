import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRetention, planRetention } from "../../../ops/backup/backup";
import { BackupManifest, MANIFEST_FORMAT, backupFiles, backupName, listBackups, newestBackup, readManifest } from "../../../ops/backup/manifest";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-backup-manifest-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const manifest = (name: string, extra: Partial<BackupManifest> = {}): BackupManifest => ({
  format: MANIFEST_FORMAT,
  snapshot: `${name}.snap`,
  bytes: 4,
  sha256: "0".repeat(64),
  createdAt: "2026-11-27T03:15:00.123Z",
  server: { addr: "https://127.0.0.1:8200", version: "2.4.0", clusterId: "c1", storage: "raft", seal: { type: "shamir", threshold: 1, shares: 1 } },
  kv: { mount: "secret", count: 2, keys: ["a", "b/c"] },
  ca: { intermediateMount: "pki_int", intermediate: "01:02" },
  adminCertificate: { certAuthMount: "cert", role: "crashplanUser", serial: "03:04", notAfter: "2027-11-27T03:15:00.000Z" },
  ...extra,
});

/** Writes a backup's files; `complete: false` leaves out the manifest. */
function fakeBackup(at: string, options: { complete?: boolean; verified?: boolean; name?: string } = {}): string {
  const name = options.name ?? backupName(new Date(at));
  writeFileSync(join(dir, `${name}.snap`), "snap", { mode: 0o600 });
  writeFileSync(join(dir, `${name}.snap.sha256`), "x", { mode: 0o600 });
  if (options.complete !== false) {
    const verified = options.verified ? { verified: { at, keysChecked: 2, login: "ok" as const, seconds: 1, serverVersion: "2.4.0" } } : {};
    writeFileSync(join(dir, `${name}.manifest.json`), JSON.stringify(manifest(name, { createdAt: at, ...verified })), { mode: 0o600 });
  }
  return name;
}

test("names sort by time and carry milliseconds, so two backups in one second differ", () => {
  expect(backupName(new Date("2026-11-27T03:15:00.123Z"))).toBe("c42-keystore-20261127T031500123Z");
  expect(backupName(new Date("2026-11-27T03:15:00.124Z"))).not.toBe(backupName(new Date("2026-11-27T03:15:00.123Z")));
});

test("any one of a backup's files names all three", () => {
  const name = "c42-keystore-20261127T031500123Z";
  for (const f of [`${name}.snap`, `${name}.snap.sha256`, `${name}.manifest.json`]) {
    expect(backupFiles(join(dir, f))).toEqual({
      dir,
      name,
      snapshot: join(dir, `${name}.snap`),
      checksum: join(dir, `${name}.snap.sha256`),
      manifest: join(dir, `${name}.manifest.json`),
    });
  }
  expect(() => backupFiles(join(dir, "backup.tar.gz"))).toThrow("backup.tar.gz: expected a backup's .snap file (or its .manifest.json)");
});

test("a manifest is checked field by field, naming the file and the field", () => {
  const file = join(dir, "m.manifest.json");
  expect(() => readManifest(file)).toThrow(`${file} is missing: a backup without its manifest cannot be verified`);
  writeFileSync(file, "{");
  expect(() => readManifest(file)).toThrow(`${file} is not JSON`);
  const cases: [Record<string, unknown>, string][] = [
    [{ format: "other/1" }, `format is not "${MANIFEST_FORMAT}"`],
    [{ sha256: "abc" }, "sha256 is not 64 hex digits"],
    [{ createdAt: "yesterday" }, "createdAt is not an ISO time"],
    [{ kv: { mount: "secret", count: 3, keys: ["a", "b"] } }, "kv.count is not the number of kv.keys (2)"],
    [{ kv: { mount: "secret", count: 1, keys: [1] } }, "kv.keys is not a list of paths"],
    [{ adminCertificate: {} }, "adminCertificate.serial is not a serial number"],
    [{ server: { clusterId: "c1", seal: { type: "shamir" } } }, "server.seal is not { type, threshold, shares }"],
  ];
  for (const [change, message] of cases) {
    writeFileSync(file, JSON.stringify({ ...manifest("m"), ...change }));
    expect(() => readManifest(file)).toThrow(`${file}: ${message}`);
  }
  writeFileSync(file, JSON.stringify(manifest("m")));
  expect(readManifest(file)).toEqual(manifest("m"));
});

test("only complete backups are listed, oldest first; newestBackup finds the newest, or the newest verified", () => {
  const a = fakeBackup("2026-11-25T01:00:00.000Z", { verified: true });
  const b = fakeBackup("2026-11-26T01:00:00.000Z");
  fakeBackup("2026-11-27T01:00:00.000Z", { complete: false });
  writeFileSync(join(dir, "notes.manifest.json"), "{}");
  expect(listBackups(dir).map((x) => x.files.name)).toEqual([a, b]);
  expect(newestBackup(dir)?.files.name).toBe(b);
  expect(newestBackup(dir, { verifiedOnly: true })?.files.name).toBe(a);
  expect(newestBackup(join(dir, "none"))).toBeUndefined();
});

test("retention keeps the newest N complete backups and touches nothing else", async () => {
  const names = ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"].map((d) => fakeBackup(`${d}T01:00:00.000Z`));
  const incomplete = fakeBackup("2026-11-20T01:00:00.000Z", { complete: false });
  writeFileSync(join(dir, "README"), "mine");
  expect((await applyRetention(dir, 2)).remove.map((b) => b.files.name)).toEqual(names.slice(0, 2));
  expect(readdirSync(dir).sort()).toEqual(
    [
      "README",
      `${incomplete}.snap`,
      `${incomplete}.snap.sha256`,
      ...names.slice(2).flatMap((n) => [`${n}.manifest.json`, `${n}.snap`, `${n}.snap.sha256`]),
    ].sort(),
  );
  expect(await applyRetention(dir, 5)).toEqual({ remove: [], future: [] });
});

describe("retention orders by the manifest's creation time and never removes the backup just taken", () => {
  const now = new Date("2026-12-06T02:00:00.000Z");
  const names = (xs: readonly { files: { name: string } }[]) => xs.map((x) => x.files.name);

  test("a backup named to sort last but created first is the oldest; --keep 1 keeps only the one just taken", async () => {
    const planted = fakeBackup("2026-11-01T00:00:00.000Z", { name: "c42-keystore-20991231T000000000Z" });
    const older = fakeBackup("2026-12-05T02:00:00.000Z");
    const taken = fakeBackup("2026-12-06T01:59:59.000Z");
    expect(names(listBackups(dir))).toEqual([planted, older, taken]);
    expect(names(planRetention(listBackups(dir), 1, now, taken).remove)).toEqual([planted, older]);
    expect(names(planRetention(listBackups(dir), 2, now, taken).remove)).toEqual([planted]);
  });

  test("a backup dated in the future is neither counted nor removed, and the one just taken stays", async () => {
    const future = fakeBackup("2099-12-31T00:00:00.000Z");
    const older = fakeBackup("2026-12-05T02:00:00.000Z");
    const taken = fakeBackup("2026-12-06T01:59:59.000Z");
    const plan = await applyRetention(dir, 1, { now, justTaken: taken });
    expect(names(plan.remove)).toEqual([older]);
    expect(names(plan.future)).toEqual([future]);
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".manifest.json"))
        .sort(),
    ).toEqual([`${taken}.manifest.json`, `${future}.manifest.json`].sort());
  });

  test("the backup just taken is kept even when its clock ran ahead, and counts toward N", () => {
    const a = fakeBackup("2026-12-01T00:00:00.000Z");
    fakeBackup("2026-12-02T00:00:00.000Z");
    const taken = fakeBackup("2026-12-06T03:00:00.000Z");
    expect(names(planRetention(listBackups(dir), 2, now, taken).remove)).toEqual([a]);
    expect(names(planRetention(listBackups(dir), 2, now, taken).future)).toEqual([]);
    expect(names(planRetention(listBackups(dir), 3, now, taken).remove)).toEqual([]);
    // Not named as just taken, the same backup is from the future: left alone and not counted.
    expect(names(planRetention(listBackups(dir), 1, now).remove)).toEqual([a]);
    expect(names(planRetention(listBackups(dir), 1, now).future)).toEqual([taken]);
  });

  test("newestBackup skips a backup dated after now", () => {
    const real = fakeBackup("2026-12-06T01:00:00.000Z");
    fakeBackup("2099-12-31T00:00:00.000Z");
    expect(newestBackup(dir, { now })?.files.name).toBe(real);
  });
});
