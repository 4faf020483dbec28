/** Unit tests: synth-only, no server, no engine. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/__tests__/integration/"],
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
};
