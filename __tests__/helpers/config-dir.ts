// Setup shared by the loadConfig tests. Not a test file: jest's testMatch is
// `**/*.test.ts`.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The VAULT_ADDR every config test runs with unless it says otherwise. */
export const VAULT_ADDR = "https://vault.example.com:8200";

/**
 * Gives each test of the calling file a fresh, empty working directory for
 * loadConfig (handed to `use` before the test) and removes it after the test.
 */
export function freshConfigDirEachTest(use: (cwd: string) => void): void {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), "keystore-config-"));
    use(cwd);
  });
  afterEach(() => {
    rmSync(cwd, { recursive: true, force: true });
  });
}

/** Writes `text` to `name` in `dir` and returns the file's path. */
export function writeFileIn(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
