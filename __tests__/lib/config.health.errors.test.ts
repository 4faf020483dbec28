import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { VAULT_ADDR, freshConfigDirEachTest } from "../helpers/config-dir";

let cwd: string;
freshConfigDirEachTest((dir) => (cwd = dir));

const withEnv = (env: Record<string, string>) => () => loadConfig({ env: { VAULT_ADDR, ...env }, cwd });

describe("health thresholds", () => {
  test("a window that is not a duration names the setting, the value and the form expected", () => {
    expect(withEnv({ C42_HEALTH_CERT_WARN_BEFORE: "a month" })).toThrow(
      'health.certWarnBefore: "a month" is not a duration; expected a positive Vault duration such as "60s", "8760h" or "30d"',
    );
  });

  test("the critical window must lie inside the warning window", () => {
    expect(withEnv({ C42_HEALTH_CERT_WARN_BEFORE: "7d", C42_HEALTH_CERT_CRIT_BEFORE: "7d" })).toThrow(
      'health.certCritBefore: "7d" is not shorter than health.certWarnBefore ("7d"); expected the critical window inside the warning window',
    );
    expect(withEnv({ C42_HEALTH_CERT_CRIT_BEFORE: "60d" })).toThrow(KeystoreValidationError);
  });

  test("a backup age that is not a duration", () => {
    expect(withEnv({ C42_HEALTH_BACKUP_MAX_AGE: "daily" })).toThrow(/^health\.backupMaxAge: "daily" is not a duration/);
  });

  test("a zero window is refused (a certificate is critical at the latest when it expires)", () => {
    expect(withEnv({ C42_HEALTH_CERT_CRIT_BEFORE: "0s" })).toThrow(/^health\.certCritBefore: "0s" is not a duration/);
  });

  test.each([
    ["C42_HEALTH_CHECK_TIMEOUT", "health.checkTimeout", "6m", 300],
    ["C42_HEALTH_DRIFT_TIMEOUT", "health.driftTimeout", "2h", 3600],
  ])("%s longer than its bound", (name, key, value, max) => {
    expect(withEnv({ [name]: value })).toThrow(`${key}: "${value}" is too long; expected at most ${max}s`);
  });

  test("values at the bounds are accepted", () => {
    const config = loadConfig({
      env: {
        VAULT_ADDR,
        C42_HEALTH_CHECK_TIMEOUT: "5m",
        C42_HEALTH_DRIFT_TIMEOUT: "1h",
        C42_HEALTH_CERT_WARN_BEFORE: "876000h",
        C42_HEALTH_CERT_CRIT_BEFORE: "1s",
      },
      cwd,
    });
    expect(config.health).toEqual({ certWarnBefore: "876000h", certCritBefore: "1s", checkTimeout: "5m", backupMaxAge: "26h", driftTimeout: "1h" });
  });
});
