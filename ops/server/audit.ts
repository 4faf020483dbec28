import { VaultEndpoint, vaultCall } from "../vault/client";
import { readAuditDevices, requireSuccess } from "../vault/readers";

/** The path of the audit device every local server and cluster node declares: `sys/audit/file`, `sys/audit-hash/file`. */
export const AUDIT_DEVICE_PATH = "file";

const DESCRIPTION = "c42-keystore: every request and response, tokens and values hashed (hmac-sha256)";

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
  description = ${JSON.stringify(DESCRIPTION)}
  options {
    file_path = ${JSON.stringify(file)}
    mode      = "0600"
  }
}
`;
}

/**
 * The same device as {@link auditStanza}, for HashiCorp Vault, which has no
 * `audit` stanza and keeps devices enabled through the API in its storage.
 * Enables it unless it is there already; needs the active node and a root token.
 */
export async function ensureApiAuditDevice(endpoint: VaultEndpoint, token: string, file: string): Promise<void> {
  const devices = readAuditDevices(requireSuccess(await vaultCall(endpoint, { path: "sys/audit", token }), "listing sys/audit"));
  if (devices.some((d) => d.path === `${AUDIT_DEVICE_PATH}/`)) return;
  const answer = await vaultCall(endpoint, {
    method: "PUT",
    path: `sys/audit/${AUDIT_DEVICE_PATH}`,
    token,
    body: { type: "file", description: DESCRIPTION, options: { file_path: file, mode: "0600" } },
  });
  requireSuccess(answer, `enabling the audit device sys/audit/${AUDIT_DEVICE_PATH}`);
}
