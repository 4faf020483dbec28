/** Integration tests: real OpenTofu, real providers, a real OpenBao per test file. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__/integration"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 600000,
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // The HashiCorp Vault files last: they wait for Vault's background build (scripts/build-vault.sh --background).
  testSequencer: "<rootDir>/__tests__/integration/sequencer.js",
};
