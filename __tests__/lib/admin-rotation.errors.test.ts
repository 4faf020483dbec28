import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { RotationInput } from "../../lib/admin-rotation-phase";
import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

const cwd = mkdtempSync(join(tmpdir(), "admin-rotation-errors-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function synth(rotation: RotationInput, env: Record<string, string> = {}) {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  return Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, rotation }));
}

describe("two-slot admin certificate errors", () => {
  test("a role name too long to take the -next suffix", () => {
    const long = "r".repeat(124);
    expect(() => synth({ phase: "idle" }, { C42_CERT_ROLE_NAME: long })).toThrow(KeystoreValidationError);
    expect(() => synth({ phase: "idle" }, { C42_CERT_ROLE_NAME: long })).toThrow(
      `certRole.name: "${long}" is too long for a rotation; expected at most 123 characters (a rotation adds a role named "<name>-next")`,
    );
    expect(() => synth({ phase: "started" }, { C42_CERT_ROLE_NAME: "r".repeat(123) })).not.toThrow();
  });

  test("adminCert.rotation takes two-phase or one-step only", () => {
    expect(() => synth({ phase: "idle" }, { C42_ADMIN_CERT_ROTATION: "gradual" })).toThrow(
      'adminCert.rotation: "gradual" is not a rotation mode; expected one of two-phase, one-step',
    );
  });
});
