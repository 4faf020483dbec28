import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearDeployJournal, deployJournalFile, readDeployJournal, writeDeployJournal } from "../../../ops/engine/deploy-journal";

describe("the deploy journal", () => {
  let dir: string;
  let file: string;
  const journal = { startedAt: "2026-11-27T05:00:00.000Z", vaultAddr: "https://127.0.0.1:8200", creates: ["kv", "pki", "rootCa"] };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "c42-journal-"));
    file = deployJournalFile(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("lives beside the state, is written 0600 and read back as written", () => {
    expect(file).toBe(join(dir, "keystore.deploy-journal.json"));
    writeDeployJournal(file, journal);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readDeployJournal(file)).toEqual(journal);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(journal);
  });

  test("a second write replaces the first; clearing removes it; none reads as undefined", () => {
    writeDeployJournal(file, journal);
    writeDeployJournal(file, { ...journal, creates: ["certRole"] });
    expect(readDeployJournal(file)?.creates).toEqual(["certRole"]);
    clearDeployJournal(file);
    expect(readDeployJournal(file)).toBeUndefined();
    clearDeployJournal(file);
  });

  test.each([
    ["not JSON", "{"],
    ["no creates", JSON.stringify({ startedAt: "x", vaultAddr: "y" })],
    ["creates that are not names", JSON.stringify({ startedAt: "x", vaultAddr: "y", creates: [1] })],
  ])("a file that is %s is an error naming it and what to do", (_, text) => {
    writeFileSync(file, text);
    expect(() => readDeployJournal(file)).toThrow(
      `${file} is not a deploy journal (expected startedAt, vaultAddr and creates); remove it if no deploy was interrupted`,
    );
  });
});
