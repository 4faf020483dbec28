import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MANIFEST_FORMAT, backupName } from "../../../ops/backup/manifest";
import { backupOutcome } from "../../../ops/health/backup-check";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "c42-health-backups-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3600;
const now = new Date("2026-11-27T12:00:00Z");

/** Writes a backup's snapshot and manifest as `c42-keystore backup` lays them out. */
function writeBackup(createdAt: Date, options: { verified?: boolean; manifest?: boolean; failed?: boolean; name?: string } = {}): string {
  const name = options.name ?? backupName(createdAt);
  writeFileSync(join(dir, `${name}.snap`), "snapshot");
  if (options.manifest === false) return name;
  const manifest = {
    format: MANIFEST_FORMAT,
    snapshot: `${name}.snap`,
    bytes: 8,
    sha256: "0".repeat(64),
    createdAt: createdAt.toISOString(),
    server: { addr: "https://127.0.0.1:8200", version: "2.4.0", clusterId: "c", storage: "raft", seal: { type: "shamir", threshold: 1, shares: 1 } },
    kv: { mount: "secret", count: 0, keys: [] },
    ca: { intermediateMount: "pki_int", intermediate: "01:02" },
    adminCertificate: { certAuthMount: "cert", role: "crashplanUser", serial: "03:04", notAfter: "2027-11-27T00:00:00Z" },
    ...(options.verified ? { verified: { at: createdAt.toISOString(), keysChecked: 0, login: "ok", seconds: 1, serverVersion: "2.4.0" } } : {}),
    ...(options.failed ? { verifyFailed: { at: now.toISOString(), failure: "corrupt", message: "x.snap is damaged: its SHA-256 is 1…" } } : {}),
  };
  writeFileSync(join(dir, `${name}.manifest.json`), JSON.stringify(manifest));
  return name;
}

const grade = () => backupOutcome({ dir, maxAgeSeconds: 26 * HOUR, now: () => now });

test("the newest complete backup inside the limit is OK, with its age and whether it was verified", async () => {
  writeBackup(new Date(now.getTime() - 50 * HOUR * 1000), { verified: true });
  const newest = writeBackup(new Date(now.getTime() - 3 * HOUR * 1000 - 300_000));
  const outcome = await grade();
  expect(outcome.state).toBe("OK");
  expect(outcome.values).toEqual({ backup_age_seconds: 3 * HOUR + 300, backup_verified: 0, backup_verify_failed: 0 });
  expect(outcome.reason).toMatch(new RegExp(`^newest backup ${newest} taken .* \\(3h 5m ago\\), not verified`));
});

test("a newest backup older than health.backupMaxAge is WARN", async () => {
  writeBackup(new Date(now.getTime() - 30 * HOUR * 1000), { verified: true });
  const outcome = await grade();
  expect(outcome).toMatchObject({ state: "WARN", values: { backup_age_seconds: 30 * HOUR, backup_verified: 1 } });
  expect(outcome.reason).toMatch(/\(1d 6h ago\), verified .*: older than health\.backupMaxAge \(26h\)$/);
});

test("a backup without its manifest is incomplete and does not count", async () => {
  writeBackup(new Date(now.getTime() - 40 * HOUR * 1000));
  writeBackup(new Date(now.getTime() - HOUR * 1000), { manifest: false });
  expect((await grade()).values).toEqual({ backup_age_seconds: 40 * HOUR, backup_verified: 0, backup_verify_failed: 0 });
});

test("no complete backup is WARN; a directory that does not exist is UNKNOWN", async () => {
  expect(await grade()).toEqual({ state: "WARN", reason: `no complete backup in ${dir}: run \`npm run backup\`` });
  rmSync(dir, { recursive: true });
  expect((await grade()).state).toBe("UNKNOWN");
});

test("a newest backup that verify-backup found damaged is WARN, never OK or verified, whatever its age", async () => {
  writeBackup(new Date(now.getTime() - 5 * HOUR * 1000), { verified: true });
  const newest = writeBackup(new Date(now.getTime() - HOUR * 1000), { failed: true });
  const outcome = await grade();
  expect(outcome.state).toBe("WARN");
  expect(outcome.values).toEqual({ backup_age_seconds: HOUR, backup_verified: 0, backup_verify_failed: 1 });
  expect(outcome.reason).toBe(
    `newest backup ${newest} taken ${new Date(now.getTime() - HOUR * 1000).toISOString()} (1h 0m ago) FAILED verification ${now.toISOString()} ` +
      "(damaged: x.snap is damaged: its SHA-256 is 1…): it would not restore; take a new backup with `npm run backup -- --verify`",
  );
  expect(outcome.reason).not.toMatch(/verified 20/);
});

test("the newest backup is the newest by creation time; one dated after now (a planted name, a clock jump) is not it", async () => {
  const real = writeBackup(new Date(now.getTime() - HOUR * 1000));
  // Named to sort last, created long before: the name does not decide.
  writeBackup(new Date(now.getTime() - 40 * HOUR * 1000), { name: "c42-keystore-20991231T000000000Z" });
  writeBackup(new Date("2099-12-31T00:00:00Z"), { verified: true });
  const outcome = await grade();
  expect(outcome.state).toBe("OK");
  expect(outcome.reason).toMatch(new RegExp(`^newest backup ${real} taken`));
});
