/** The path of the audit device every local server and cluster node declares: `sys/audit/file`, `sys/audit-hash/file`. */
export const AUDIT_DEVICE_PATH = "file";

/**
 * The `audit` stanza writing to `file` (0600). OpenBao ≥ 2.3.2 refuses audit devices made
 * through the API (CVE-2025-6000) and creates the ones its config declares
 * when a node becomes active; every node declares the same device, each
 * writing its own file, so the device survives a change of leader.
 */
export function auditStanza(file: string): string {
  return `
# Declared, not enabled through the API: OpenBao >= 2.3.2 refuses API-created audit devices.
audit "file" ${JSON.stringify(AUDIT_DEVICE_PATH)} {
  description = "c42-keystore: every request and response, tokens and values hashed (hmac-sha256)"
  options {
    file_path = ${JSON.stringify(file)}
    mode      = "0600"
  }
}
`;
}
