// Runs the HashiCorp Vault test files last: `bash scripts/toolchain.sh --for-tests` builds Vault in the
// background when it is not cached (scripts/build-vault.sh --background), and those files wait for that
// build (fixtures.ts hashicorpVault), so every other file runs while it compiles. Otherwise jest's own order.
const Sequencer = require("@jest/test-sequencer").default;

const needsVault = (test) => /hashicorp-vault[^/]*\.test\.ts$/.test(test.path);

class VaultLastSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter((t) => !needsVault(t)), ...sorted.filter(needsVault)];
  }
}

module.exports = VaultLastSequencer;
