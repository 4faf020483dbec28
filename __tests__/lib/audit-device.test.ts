import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { Audit } from "@cdktf/provider-vault/lib/audit";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { FileAuditDevice } from "../../lib/audit-device";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

const VAULT_ADDR = "https://vault.example.com:8200";
const cwd = mkdtempSync(join(tmpdir(), "audit-device-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const stackJson = (env: Record<string, string>) =>
  JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config: loadConfig({ env: { VAULT_ADDR, ...env }, cwd }) })));

describe("FileAuditDevice", () => {
  test("enables a file device at file/ with the given path, 0600, through the API (vault audit enable file)", () => {
    const synth = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      new FileAuditDevice(scope, "audit", { filePath: "/var/log/vault/audit.log" });
    });
    expect(synth).toHaveResourceWithProperties(Audit, { type: "file", path: "file", options: { file_path: "/var/log/vault/audit.log", mode: "0600" } });
  });

  test("refuses a relative or empty file path, naming the setting", () => {
    for (const filePath of ["", "audit.log"]) {
      expect(() =>
        Testing.synthScope((scope) => {
          new VaultProvider(scope, "vault");
          new FileAuditDevice(scope, "audit", { filePath });
        }),
      ).toThrow(new RegExp(`^audit\\.filePath: ${JSON.stringify(filePath)} is not an absolute path; expected the audit log's path on the Vault server`));
    }
  });
});

describe("audit.mode in the stack", () => {
  test("require (the default) and off add no resource: the device comes from the server's config", () => {
    for (const env of [{}, { C42_AUDIT_MODE: "off" }, { C42_AUDIT_MODE: "require" }] as Record<string, string>[])
      expect(stackJson(env).resource.vault_audit).toBeUndefined();
  });

  test("enable adds one file device with audit.filePath", () => {
    const json = stackJson({ C42_AUDIT_MODE: "enable", C42_AUDIT_FILE_PATH: "/var/log/vault/audit.log" });
    expect(Object.values(json.resource.vault_audit)).toEqual([
      expect.objectContaining({ type: "file", path: "file", options: { file_path: "/var/log/vault/audit.log", mode: "0600" } }),
    ]);
  });

  test("enable without audit.filePath is refused before anything is built", () => {
    expect(() => stackJson({ C42_AUDIT_MODE: "enable" })).toThrow(/^audit\.filePath: "" is not an absolute path/);
  });

  test("an unknown mode is refused, naming the setting and the choices", () => {
    expect(() => loadConfig({ env: { VAULT_ADDR, C42_AUDIT_MODE: "on" }, cwd })).toThrow(
      /audit\.mode: "on" is not a valid audit mode; expected one of require, enable, off/,
    );
  });
});
