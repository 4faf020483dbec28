import { ResourceChange } from "../../ops/engine/plan-json";

/** Addresses of the synthesized stack's resources, as plans name them. */
export const ADDRESS = {
  policy: "vault_policy.policy_03D53757",
  kv: "vault_mount.kv_mount_FDFB2C73",
  role: "vault_pki_secret_backend_role.role_3D9F059D",
  certAuth: "vault_auth_backend.certAuth_backend_E3AD8DCF",
  adminCert: "vault_pki_secret_backend_cert.adminCert_certificate_7A2F5C5E",
} as const;

/** One entry of a plan's resource_changes or resource_drift. */
export function rc(
  address: string,
  actions: string[],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  afterUnknown?: Record<string, unknown>,
): ResourceChange {
  const [type, name] = address.split(".");
  return { address, type, name, change: { actions, before, after, after_unknown: afterUnknown } };
}
