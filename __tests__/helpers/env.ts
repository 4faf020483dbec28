// Not a test file: jest's testMatch is `**/*.test.ts`.

/**
 * Saves process.env[name] before each test of the calling block (or file) and
 * puts it back after, so a test may change it freely.
 */
export function restoreEnvAfterEach(name: string): void {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env[name];
  });
  afterEach(() => {
    process.env[name] = saved;
  });
}
