import { chmodSync, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { isEncryptedState, isPlainState } from "../../ops/engine/state-files";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

/** Checks whether `secret` occurs in `file` without ever printing either. */
const holds = (file: string, secret: string) => ({ file, holds: readFileSync(file).includes(secret) });

describe("local state: permissions, the loose-file warning, and turning encryption on", () => {
  let server: TestServer;
  let td: TestDeployment;
  let stateDir: string;
  let stateFile: string;
  const others: TestDeployment[] = [];
  // Another run on the same state directory, with its own cdktf.out.
  const sameState = (settings: Record<string, string> = {}) => {
    const run = testDeployment(server, { C42_STATE_DIR: stateDir, ...settings });
    others.push(run);
    return run.deployment;
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    stateDir = td.deployment.config.stateDir;
    stateFile = td.deployment.stateFile;
    await td.deployment.apply();
  });

  afterAll(async () => {
    others.forEach((o) => o.cleanup());
    td?.cleanup();
    await server?.stop();
  });

  test("after a deploy the state directory is 0700 and the state file 0600", () => {
    expect(dirname(stateFile)).toBe(stateDir);
    expect(mode(stateDir)).toBe("0700");
    expect(mode(stateFile)).toBe("0600");
    expect(readFileSync(stateFile, "utf8")).toContain("PRIVATE KEY");
  });

  test("a second deploy leaves a backup, 0600 as well", async () => {
    await td.deployment.apply();
    expect(existsSync(`${stateFile}.backup`)).toBe(true);
    expect(mode(`${stateFile}.backup`)).toBe("0600");
    expect(mode(stateFile)).toBe("0600");
  });

  // The file is tightened; the directory is reported and left as it is (issue 19: it may be a shared
  // directory the project did not create, which must never be chmodded).
  test("a state file and directory others can read are reported, and the file tightened, by the next run", async () => {
    chmodSync(stateFile, 0o644);
    chmodSync(stateDir, 0o755);
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let plan;
    try {
      plan = await sameState().plan();
    } finally {
      spy.mockRestore();
    }
    expect(plan.code).toBe(0);
    expect(written).toContain(`warning: ${stateFile} is readable by other users (mode 0644); it holds private keys. Tightening to 0600.\n`);
    expect(mode(stateFile)).toBe("0600");
    expect(written).toContain(
      `warning: the state directory ${stateDir} is open to other users (mode 0755): they cannot read the state files (0600) but can see them. Left as it is; make it private with: chmod 700 ${stateDir}\n`,
    );
    expect(mode(stateDir)).toBe("0755");
    chmodSync(stateDir, 0o700);
  });

  describe("turning encryption on for this plain state", () => {
    const passphrase = randomBytes(18).toString("base64");

    test("a passphrase alone is refused with our message and leaves the state byte-for-byte unchanged", async () => {
      const before = readFileSync(stateFile);
      const attempt = sameState({ C42_STATE_PASSPHRASE: passphrase }).apply();
      await expect(attempt).rejects.toThrow(
        /^C42_STATE_PASSPHRASE is set but the state is not encrypted yet: to encrypt it, deploy once with C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN=true/,
      );
      await expect(attempt).rejects.toThrow(/encountered unencrypted payload without unencrypted method/);
      expect(readFileSync(stateFile).equals(before)).toBe(true);
    });

    test("one deploy with stateEncryption.migrateFromPlain writes the state encrypted and removes the plain backup", async () => {
      const written: string[] = [];
      const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
      try {
        await sameState({ C42_STATE_PASSPHRASE: passphrase, C42_STATE_ENCRYPTION_MIGRATE_FROM_PLAIN: "true" }).apply();
      } finally {
        spy.mockRestore();
      }
      const state = JSON.parse(readFileSync(stateFile, "utf8"));
      expect(Object.keys(state.meta)).toEqual(["key_provider.pbkdf2.c42_state"]);
      expect(typeof state.encrypted_data).toBe("string");
      expect(state).not.toHaveProperty("resources");
      expect(holds(stateFile, "PRIVATE KEY")).toEqual({ file: stateFile, holds: false });
      expect(holds(stateFile, "BEGIN CERTIFICATE")).toEqual({ file: stateFile, holds: false });
      expect(mode(stateFile)).toBe("0600");
      // The engine may keep the last plain state as the backup; it must not survive the migration.
      // Whether the engine's last write left the plain state or an encrypted copy as the backup
      // varies between runs (measured in CI), so check the property itself: no plain state remains.
      for (const file of readdirSync(stateDir).map((f) => join(stateDir, f))) {
        expect(holds(file, "PRIVATE KEY")).toEqual({ file, holds: false });
        expect(isPlainState(file)).toBe(false);
      }
      if (existsSync(`${stateFile}.backup`)) {
        expect(isEncryptedState(`${stateFile}.backup`)).toBe(true);
      } else {
        expect(written).toContain(`removed ${stateFile}.backup: it was the state before encryption, in plain text. The encrypted state is ${stateFile}.\n`);
      }
    });

    test("from then on the passphrase alone opens it, and a plan shows no changes", async () => {
      const plan = await sameState({ C42_STATE_PASSPHRASE: passphrase }).plan();
      expect(plan.stdout).toContain("No changes.");
      expect(plan.code).toBe(0);
    });
  });
});
