import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordedAdoptionInFile } from "../../../ops/engine/adoption-record";

// main.ts (cdktf synth) reads the adoption record from a plain local state file without the engine.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "adoption-record-"));
  chmodSync(dir, 0o700);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stateWith = (name: string, state: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, typeof state === "string" ? state : JSON.stringify(state), { mode: 0o600 });
  return file;
};

describe("recordedAdoptionInFile", () => {
  test("no state yet, or a state without the output: nothing adopted", () => {
    expect(recordedAdoptionInFile(join(dir, "missing.tfstate"))).toEqual({});
    expect(recordedAdoptionInFile(stateWith("plain.tfstate", { version: 4, outputs: {} }))).toEqual({ adoption: undefined });
  });

  test("the record as the stack writes it", () => {
    const value = JSON.stringify({ rootIssuerId: "r-1", intermediateIssuerId: "i-1" });
    expect(recordedAdoptionInFile(stateWith("adopted.tfstate", { version: 4, outputs: { adoption: { value, type: "string" } } }))).toEqual({
      adoption: { rootIssuerId: "r-1", intermediateIssuerId: "i-1", adminCertificatePem: undefined },
    });
  });

  test("an encrypted or unreadable state: undefined (main.ts then says it cannot tell)", () => {
    expect(recordedAdoptionInFile(stateWith("encrypted.tfstate", { encrypted_data: "…" }))).toBeUndefined();
    expect(recordedAdoptionInFile(stateWith("broken.tfstate", "{ not json"))).toBeUndefined();
  });

  test("a record that is not one is an error naming the output", () => {
    expect(() => recordedAdoptionInFile(stateWith("edited.tfstate", { outputs: { adoption: { value: "[]" } } }))).toThrow(
      "output adoption is not an adoption record",
    );
  });
});
