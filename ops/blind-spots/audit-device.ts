import { Deployment } from "../engine/deployment";
import { endpointFromEnv, vaultCall, vaultToken } from "../vault/client";
import { readErrors } from "../vault/readers";
import { BlindSpot } from "./blind-spot";

/** Where a drift report puts a missing audit device: no Terraform resource holds it. */
export const AUDIT_DEVICE_ADDRESS = "sys/audit";
export const AUDIT_DEVICE_ATTRIBUTE = "audit device (none enabled; audit.mode is require)";

/** The audit devices enabled on the server, by path; fails with what to do when the token may not list them. */
export async function listAuditDevices(deployment: Deployment): Promise<string[]> {
  const answer = await vaultCall(endpointFromEnv(deployment.env), { path: "sys/audit", token: vaultToken(deployment.env) });
  if (answer.status === 403) {
    throw new Error(
      'audit.mode is "require" but listing sys/audit was refused (HTTP 403): the deploy token needs "read" and "sudo" on sys/audit to check for an audit device; grant them, or set audit.mode to "off"',
    );
  }
  if (answer.status !== 200) throw new Error(`listing sys/audit failed: HTTP ${answer.status} ${readErrors(answer)}`);
  const body = answer.json as { data?: unknown } | undefined;
  const data = body?.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error(`sys/audit answered HTTP ${answer.status} without a data object`);
  return Object.keys(data);
}

/**
 * An audit device on the server. OpenBao ≥ 2.3.2 refuses audit devices made
 * through the API (CVE-2025-6000): they are declared in the server's config
 * file, which no provider can write. With `audit.mode` "require", deploy and
 * drift ask Vault whether any device is enabled; a missing one is drift
 * that only the server's operator can repair, so a deploy stops before it
 * changes anything. (`audit.mode` "enable" makes the device a resource of
 * the stack instead; the plan shows it.)
 */
export const auditDevice: BlindSpot = {
  name: "audit device",

  async probe(deployment) {
    if (deployment.config.audit.mode !== "require") return [];
    const devices = await listAuditDevices(deployment);
    return devices.length > 0 ? [] : [{ address: AUDIT_DEVICE_ADDRESS, attribute: AUDIT_DEVICE_ATTRIBUTE }];
  },

  async repair(deployment: Deployment) {
    throw new Error(
      `audit.mode is "require" but ${deployment.env.VAULT_ADDR ?? "the server"} has no audit device enabled, and none can be made through the API on OpenBao >= 2.3.2: ` +
        'declare one in the server config (audit "file" "file" { options { file_path = "/var/log/openbao/audit.log" } }) and restart or SIGHUP every node; ' +
        'on HashiCorp Vault set audit.mode to "enable" with audit.filePath; audit.mode "off" skips this check. Nothing was changed',
    );
  },
};
