import { Construct } from "constructs";
import { Audit } from "@cdktf/provider-vault/lib/audit";
import { KeystoreValidationError, settingName } from "./errors";

/** Properties of a {@link FileAuditDevice}. */
export interface FileAuditDeviceProps {
  /** Absolute path of the log file on the Vault server's host. */
  readonly filePath: string;
  /**
   * Where the device is enabled (`sys/audit/<path>`).
   * @default "file"
   */
  readonly path?: string;
}

/**
 * A file audit device enabled through the API (`vault audit enable file
 * file_path=…`), for servers that still allow it: HashiCorp Vault, or
 * OpenBao with `unsafe_allow_api_audit_creation`. OpenBao ≥ 2.3.2 refuses it
 * (CVE-2025-6000) and takes devices from its server config only; there,
 * `audit.mode = "require"` checks for one instead (ops/blind-spots/audit-device.ts).
 * Code42's guide asks for audit logging; entries hash tokens and values with HMAC-SHA256.
 */
export class FileAuditDevice extends Construct {
  /** `sys/audit` path, e.g. "file". */
  public readonly path: string;
  /** The underlying `vault_audit`. */
  public readonly device: Audit;

  public constructor(scope: Construct, id: string, props: FileAuditDeviceProps) {
    super(scope, id);
    if (!props.filePath.startsWith("/")) {
      throw new KeystoreValidationError(
        settingName(this, "filePath"),
        props.filePath,
        'is not an absolute path; expected the audit log\'s path on the Vault server, e.g. "/var/log/vault/audit.log", with audit.mode "enable"',
        this.node.path,
      );
    }
    this.device = new Audit(this, "device", {
      type: "file",
      path: props.path ?? "file",
      description: "Code42 keystore: every request and response, tokens and values hashed (hmac-sha256)",
      options: { file_path: props.filePath, mode: "0600" },
    });
    this.path = this.device.path;
  }
}
