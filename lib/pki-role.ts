import { Construct } from "constructs";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { IntermediateCa } from "./ca-chain";
import { checkName } from "./validation";

/** Properties of an {@link IssuingRole}. */
export interface IssuingRoleProps {
  /** The intermediate CA the role issues from. */
  readonly issuer: IntermediateCa;
  /**
   * Role name.
   * @default "cpRole"
   */
  readonly name?: string;
}

/**
 * The PKI role that issues Code42's client certificates
 * (recipe: `vault write pki_int/roles/cpRole allow_any_name=true allow_subdomains=true client_flag=true`).
 */
export class IssuingRole extends Construct {
  /** Role name, e.g. "cpRole"; a reference to the role. */
  public readonly roleName: string;
  /** Mount path of the issuing CA, e.g. "pki_int". */
  public readonly backend: string;
  /** The intermediate CA the role issues from. */
  public readonly issuer: IntermediateCa;
  /** The underlying `vault_pki_secret_backend_role`. */
  public readonly role: PkiSecretBackendRole;

  public constructor(scope: Construct, id: string, props: IssuingRoleProps) {
    super(scope, id);
    const name = checkName(`${id}.name`, props.name ?? "cpRole", this.node.path);
    this.issuer = props.issuer;
    this.role = new PkiSecretBackendRole(this, "role", {
      backend: props.issuer.mount.path,
      name,
      allowAnyName: true,
      allowSubdomains: true,
      clientFlag: true,
      // Issuing through the role needs the mount's signed issuer, which no
      // attribute of the role refers to.
      dependsOn: [props.issuer.signed],
    });
    this.roleName = this.role.name;
    this.backend = this.role.backend;
  }
}
