/** Names of the Terraform outputs the `bundle` command reads. */
export const BUNDLE_OUTPUTS = {
  certificate: "admin_certificate_pem",
  privateKey: "admin_private_key_pem",
  caChain: "admin_ca_chain_pem",
  serialNumber: "admin_certificate_serial",
  expiration: "admin_certificate_expiration",
  password: "crashplan_p12_password",
} as const;

/** The names a set of bundle outputs is written under. */
export type BundleOutputNames = { readonly [K in keyof typeof BUNDLE_OUTPUTS]: string };

/**
 * Names of the outputs of the next admin certificate while a two-phase
 * rotation is in progress: the bundle Code42 should be given next.
 */
export const NEXT_BUNDLE_OUTPUTS: BundleOutputNames = {
  certificate: "admin_next_certificate_pem",
  privateKey: "admin_next_private_key_pem",
  caChain: "admin_next_ca_chain_pem",
  serialNumber: "admin_next_certificate_serial",
  expiration: "admin_next_certificate_expiration",
  password: "crashplan_next_p12_password",
};
