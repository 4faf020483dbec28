import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupCheckError } from "../../../ops/backup/errors";
import { BackupManifest } from "../../../ops/backup/manifest";
import { UNSEAL_KEYS_ENV, parseUnsealKeys, readUnsealKeysFile, resolveUnsealKeys } from "../../../ops/backup/unseal-keys";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-unseal-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const K1 = "q1XzTUGr6xQ2nNo2UzvcV3xRrwl8fD9WJkVb4q7Cx1M=";
const K2 = "0b5a7e0c2f9d3e4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345";

const manifest = {
  server: { addr: "https://127.0.0.1:41234", clusterId: "c-1", seal: { type: "shamir", threshold: 2, shares: 3 } },
} as unknown as BackupManifest;

test("keys come one per line, comma or space separated, with # comments, or as bao operator init JSON", () => {
  expect(parseUnsealKeys(`# cluster c-1\n${K1}\n\n${K2}  # second\n`, "f")).toEqual([K1, K2]);
  expect(parseUnsealKeys(`${K1},${K2}`, "f")).toEqual([K1, K2]);
  expect(parseUnsealKeys(JSON.stringify({ unseal_keys_b64: [K1, K2], root_token: "s.x" }), "f")).toEqual([K1, K2]);
  expect(parseUnsealKeys(JSON.stringify({ keys_base64: [K1] }), "f")).toEqual([K1]);
});

test("bad key text is refused without echoing it", () => {
  expect(() => parseUnsealKeys("\n# none\n", "src")).toThrow("src: holds no unseal key");
  expect(() => parseUnsealKeys(`${K1}\nnot-a-key!${K2}`, "src")).toThrow(/^src: key 2 is not base64 or hex \(a key is not echoed\)/);
  try {
    parseUnsealKeys(`${K1}\nnot-a-key!${K2}`, "src");
  } catch (e) {
    expect((e as Error).message).not.toContain(K2);
    expect((e as Error).message).not.toContain(K1);
  }
  expect(() => parseUnsealKeys("{oops", "src")).toThrow('src: starts with "{" but is not JSON');
  expect(() => parseUnsealKeys('{"root_token":"x"}', "src")).toThrow("src: the JSON has no unseal_keys_b64");
});

test("a keys file must be a regular file only its owner can read", () => {
  const file = join(dir, "keys");
  expect(() => readUnsealKeysFile(file, "--unseal-keys")).toThrow(`--unseal-keys ${file}: the file does not exist`);
  expect(() => readUnsealKeysFile(file, "--unseal-keys")).toThrow(BackupCheckError);
  writeFileSync(file, `${K1}\n`, { mode: 0o640 });
  chmodSync(file, 0o640);
  expect(() => readUnsealKeysFile(file, "--unseal-keys")).toThrow(
    `--unseal-keys ${file}: other users may read it (mode 640); unseal keys belong in a file only you can read: chmod 600 ${file}`,
  );
  chmodSync(file, 0o600);
  expect(readUnsealKeysFile(file, "--unseal-keys")).toEqual([K1]);
  expect(() => readUnsealKeysFile(dir, "--unseal-keys")).toThrow("not a regular file");
});

describe("where the keys come from", () => {
  const localServer = (port: number) => {
    const server = join(dir, "server");
    mkdirSync(server, { recursive: true });
    writeFileSync(join(server, "server.json"), JSON.stringify({ apiPort: port, clusterPort: port + 1 }));
    writeFileSync(join(server, "unseal.key"), `${K2}\n`, { mode: 0o600 });
    return server;
  };

  test("the file first, then C42_UNSEAL_KEYS", () => {
    const file = join(dir, "keys");
    writeFileSync(file, `${K1}\n`, { mode: 0o600 });
    expect(resolveUnsealKeys({ file, env: { [UNSEAL_KEYS_ENV]: K2 } }, manifest)).toEqual({ keys: [K1], source: `--unseal-keys ${file}` });
    expect(resolveUnsealKeys({ env: { [UNSEAL_KEYS_ENV]: `${K2}\n${K1}` } }, manifest)).toEqual({ keys: [K2, K1], source: UNSEAL_KEYS_ENV });
  });

  test("a snapshot of the project's local server opens with its stored key, without asking", () => {
    const server = localServer(41234);
    expect(resolveUnsealKeys({ env: {}, localServerDir: server }, manifest)).toEqual({
      keys: [K2],
      source: `the local server's ${join(server, "unseal.key")}`,
    });
  });

  test("none at all (or a local server at another address) is exit 4, naming both ways to give them", () => {
    const server = localServer(41999);
    let error: unknown;
    try {
      resolveUnsealKeys({ env: { [UNSEAL_KEYS_ENV]: "  " }, localServerDir: server }, manifest);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackupCheckError);
    expect(error).toMatchObject({
      exitCode: 4,
      message:
        "the snapshot of cluster c-1 opens only with that cluster's unseal keys (2 of 3); give them in a file only you can read (--unseal-keys FILE) or in C42_UNSEAL_KEYS, never on the command line",
    });
  });
});

test("a key typed where the file's name belongs is never repeated, and is an unseal-keys failure (exit 4)", () => {
  for (const key of [K1, K2, K1.replace(/=$/, ""), "Zm9v/YmFyYmF6cXV4MTIzNDU2Nzg5"]) {
    let error: unknown;
    try {
      readUnsealKeysFile(key, "--unseal-keys");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackupCheckError);
    expect((error as BackupCheckError).exitCode).toBe(4);
    expect((error as Error).message).toMatch(/^--unseal-keys: no file has the name given \(\d+ characters, not shown: it could be a key/);
    expect((error as Error).message).not.toContain(key.slice(0, 8));
  }
});

test("an empty keys file, or one without a key, is exit 4 (keys missing), not a general failure", () => {
  const file = join(dir, "empty.keys");
  for (const text of ["", "\n\n", "# the keys go here\n"]) {
    writeFileSync(file, text, { mode: 0o600 });
    let error: unknown;
    try {
      readUnsealKeysFile(file, "--unseal-keys");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackupCheckError);
    expect((error as BackupCheckError).exitCode).toBe(4);
    expect((error as Error).message).toBe(
      `--unseal-keys ${file}: holds no unseal key; expected one key per line (base64 or hex, as \`bao operator init\` printed them)`,
    );
  }
});
