// The recipe's chain of constructs, built inside a Testing.synthScope scope with
// the seed values: provider → pki and pki_int mounts → root CA → intermediate CA
// → cpRole → admin certificate. Each builder builds everything before its own
// construct, in that order, and returns all of it; options override seed values.
// Not a test file: jest's testMatch is `**/*.test.ts`.

import { Construct } from "constructs";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { AdminCertificate, AdminCertificateProps } from "../../lib/admin-certificate";
import { IntermediateCa, IntermediateCaProps, RootCa, RootCaProps } from "../../lib/ca-chain";
import { TunedPkiMount } from "../../lib/pki-mount";
import { IssuingRole } from "../../lib/pki-role";

export const PUBLIC_URL = "https://vault.example.com:8200";

export interface PkiMountsOptions {
  /** Also the random provider, right after the vault one. */
  readonly random?: boolean;
  /** pki's max lease TTL; seed 87600h. */
  readonly pkiMax?: string;
  /** pki_int's max lease TTL; seed 43800h. */
  readonly pkiIntMax?: string;
}

/** The `vault` provider, then the pki and pki_int mounts. */
export function pkiMountsInScope(scope: Construct, options: PkiMountsOptions = {}) {
  new VaultProvider(scope, "vault");
  if (options.random) new RandomProvider(scope, "random");
  const pki = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: options.pkiMax ?? "87600h", publicUrl: PUBLIC_URL });
  const pkiInt = new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: options.pkiIntMax ?? "43800h", publicUrl: PUBLIC_URL });
  return { pki, pkiInt };
}

export interface CaChainOptions extends PkiMountsOptions {
  readonly root?: Partial<RootCaProps>;
  readonly intermediate?: Partial<IntermediateCaProps>;
}

/** …then rootCa on pki and intermediateCa on pki_int, signed by that root. */
export function caChainInScope(scope: Construct, options: CaChainOptions = {}) {
  const mounts = pkiMountsInScope(scope, options);
  const root = new RootCa(scope, "rootCa", { mount: mounts.pki, ...options.root });
  const issuer = new IntermediateCa(scope, "intermediateCa", { mount: mounts.pkiInt, root, ...options.intermediate });
  return { ...mounts, root, issuer };
}

export interface IssuingRoleOptions extends CaChainOptions {
  /** The role's name; seed cpRole. */
  readonly roleName?: string;
}

/** …then the role issuing from the intermediate. */
export function issuingRoleInScope(scope: Construct, options: IssuingRoleOptions = {}) {
  const chain = caChainInScope(scope, options);
  const role = new IssuingRole(scope, "role", { issuer: chain.issuer, name: options.roleName });
  return { ...chain, role };
}

export interface AdminCertificateOptions extends IssuingRoleOptions {
  readonly cert?: Partial<AdminCertificateProps>;
}

/** …then adminCert, issued by that role. */
export function adminCertificateInScope(scope: Construct, options: AdminCertificateOptions = {}) {
  const chain = issuingRoleInScope(scope, options);
  const cert = new AdminCertificate(scope, "adminCert", { role: chain.role, ...options.cert });
  return { ...chain, cert };
}
