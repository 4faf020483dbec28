import { loadConfig } from "../../../lib/config";
import { capabilityNeeds } from "../../../ops/vault/preflight";

const config = (env: Record<string, string> = {}) => loadConfig({ env, cwd: "/nonexistent-c42-project" });
const list = (needs: ReturnType<typeof capabilityNeeds>) => needs.map((n) => `${n.access} ${n.path}`);

describe("the capabilities the preflight asks VAULT_TOKEN for", () => {
  test("drift and plan only read, with sudo where Vault wants it", () => {
    expect(list(capabilityNeeds(config(), "read"))).toEqual([
      "read sys/mounts/secret",
      "read sys/mounts/pki",
      "read sys/mounts/pki_int",
      "read+sudo sys/auth/cert/tune",
      "read sys/policies/acl/crashplanPolicy",
      "read auth/cert/certs/crashplanUser",
      "read sys/mounts/auth/token",
      "read+sudo sys/audit",
    ]);
  });

  test("commands that apply also write, on the configured paths and names; no pki mount with an external root, no sys/audit with audit.mode off", () => {
    const needs = list(capabilityNeeds(config({ C42_KV_PATH: "kv42", C42_ROOT_CA_EXTERNAL: "true", C42_AUDIT_MODE: "off", C42_ROLE_NAME: "r1" }), "write"));
    expect(needs.filter((n) => n.startsWith("write"))).toEqual([
      "write sys/mounts/kv42",
      "write sys/mounts/pki_int",
      "write sys/auth/cert",
      "write+sudo sys/auth/cert/tune",
      "write sys/policies/acl/crashplanPolicy",
      "write pki_int/roles/r1",
      "write pki_int/issue/r1",
      "write auth/cert/certs/crashplanUser",
    ]);
    expect(needs.some((n) => n.includes("sys/mounts/pki ") || n.endsWith("sys/mounts/pki") || n.endsWith("sys/audit"))).toBe(false);
  });
});
