import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../lib/config";
import { oneLine, readSynthRecords, recordsInPlainFile } from "../../../ops/engine/synth-records";

// main.ts (cdktf synth/diff/deploy) builds the stack from what the state records: a plain local state file is
// read without the engine; everything else goes through the engine (integration: cdktf-cli, state-records).

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "synth-records-"));
  chmodSync(dir, 0o700);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stateWith = (name: string, state: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, typeof state === "string" ? state : JSON.stringify(state), { mode: 0o600 });
  return file;
};

describe("recordsInPlainFile", () => {
  test("no state yet: idle, nothing adopted, no state", () => {
    const file = join(dir, "missing.tfstate");
    expect(recordsInPlainFile(file)).toEqual({ phase: "idle", adoption: undefined, stateExisted: false, cluster: undefined, where: file });
  });

  test("a plain state gives the phase and the adoption its outputs record", () => {
    const adoption = JSON.stringify({ rootIssuerId: "r-1", intermediateIssuerId: "i-1" });
    const cluster = { tokenAccessor: "auth_token_aaaa1111", clusterId: "11111111-2222", clusterName: "vault-cluster-a1" };
    const file = stateWith("adopted.tfstate", {
      version: 4,
      outputs: {
        admin_rotation_phase: { value: "started", type: "string" },
        adoption: { value: adoption, type: "string" },
        c42_cluster: { value: cluster },
      },
      resources: [],
    });
    expect(recordsInPlainFile(file)).toEqual({
      phase: "started",
      adoption: { rootIssuerId: "r-1", intermediateIssuerId: "i-1", adminCertificatePem: undefined },
      stateExisted: true,
      cluster,
      where: file,
    });
    const plain = stateWith("plain.tfstate", { version: 4, outputs: {}, resources: [] });
    expect(recordsInPlainFile(plain)).toEqual({ phase: "idle", adoption: undefined, stateExisted: true, cluster: undefined, where: plain });
  });

  test("an encrypted or unreadable state: undefined (only the engine can read it), never guessed as idle", () => {
    expect(recordsInPlainFile(stateWith("encrypted.tfstate", { encrypted_data: "xyz", meta: {} }))).toBeUndefined();
    expect(recordsInPlainFile(stateWith("broken.tfstate", "{ not json"))).toBeUndefined();
  });

  test("a record no version of the stack writes is an error naming the output", () => {
    expect(() => recordsInPlainFile(stateWith("phase.tfstate", { version: 4, outputs: { admin_rotation_phase: { value: "halfway" } } }))).toThrow(
      /holds "halfway"; expected one of idle, started, finishing/,
    );
    expect(() => recordsInPlainFile(stateWith("edited.tfstate", { outputs: { adoption: { value: "[]" } } }))).toThrow(
      "output adoption is not an adoption record",
    );
  });
});

describe("readSynthRecords", () => {
  const VAULT_ADDR = "https://vault.example.com:8200";

  test("a plain local state is read from its file, without the engine (no engine on PATH is needed)", async () => {
    const stateDir = join(dir, "plain-state");
    const env = { VAULT_ADDR, C42_STATE_DIR: stateDir, PATH: "/nonexistent" };
    const config = loadConfig({ env, cwd: dir, file: undefined });
    expect(await readSynthRecords(config, { env, projectDir: dir, outdir: join(dir, "out") })).toEqual({
      phase: "idle",
      adoption: undefined,
      stateExisted: false,
      cluster: undefined,
      where: join(stateDir, "keystore.tfstate"),
    });
  });

  test("an encrypted local state goes through the engine, and its failure is an error (never a default stack)", async () => {
    const stateDir = join(dir, "enc-state");
    const env = {
      VAULT_ADDR,
      C42_STATE_DIR: stateDir,
      C42_STATE_PASSPHRASE: "unit-test passphrase 0123456789",
      PATH: "/nonexistent",
      C42_CACHE: join(dir, "cache"),
    };
    const config = loadConfig({ env, cwd: dir, file: undefined });
    await expect(readSynthRecords(config, { env, projectDir: dir, outdir: join(dir, "out-enc") })).rejects.toThrow(/no usable engine/);
  });

  test("with a deployment already initialized (cdktf deploy's door), a state only the engine reads is read through it", async () => {
    const env = { VAULT_ADDR, C42_STATE_DIR: join(dir, "door-state"), C42_STATE_PASSPHRASE: "unit-test passphrase 0123456789", PATH: "/nonexistent" };
    const config = loadConfig({ env, cwd: dir, file: undefined });
    const records = { phase: "started", adoption: undefined, stateExisted: true, cluster: undefined, where: "the door's state" } as const;
    let reads = 0;
    const deployment = { records: async () => (reads++, records) };
    // No engine on PATH: a second init would fail with "no usable engine".
    expect(await readSynthRecords(config, { env, projectDir: dir, outdir: join(dir, "out-door"), deployment })).toBe(records);
    expect(reads).toBe(1);
  });

  test("a plain local state is still read from its file when a deployment is given", async () => {
    const stateDir = join(dir, "plain-door-state");
    const env = { VAULT_ADDR, C42_STATE_DIR: stateDir, PATH: "/nonexistent" };
    const config = loadConfig({ env, cwd: dir, file: undefined });
    const deployment = { records: async () => Promise.reject(new Error("not read through the engine")) };
    expect((await readSynthRecords(config, { env, projectDir: dir, outdir: join(dir, "out-plain-door"), deployment })).where).toBe(
      join(stateDir, "keystore.tfstate"),
    );
  });
});

describe("oneLine", () => {
  test("keeps a first line that says why", () => {
    expect(oneLine("the state is encrypted, but C42_STATE_PASSPHRASE is not set: set it.\ntofu init failed (exit 1):\nError: x")).toBe(
      "the state is encrypted, but C42_STATE_PASSPHRASE is not set: set it.",
    );
  });

  test("after a bare engine announcement, adds the engine's first Error line (box drawing removed)", () => {
    const message = "tofu init failed (exit 1):\n╷\n│ Error: Failed to get existing workspaces: connection refused\n│\n│ more\n╵";
    expect(oneLine(message)).toBe("tofu init failed (exit 1): Error: Failed to get existing workspaces: connection refused");
  });
});
