/**
 * Provider versions the synthesized JSON pins, and that `npm run toolchain`
 * builds into the filesystem mirror. The npm bindings were generated from
 * older schemas (vault 5.6.0, random 3.7.2); the Go module proxy serves these
 * releases, which keep every attribute this stack uses, and the integration
 * tests deploy with exactly these binaries.
 */
export const PROVIDER_VERSIONS = {
  vault: "5.9.0",
  random: "3.9.0",
} as const;
