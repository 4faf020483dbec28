import { Construct, IConstruct } from "constructs";
import { PkiSecretBackendRole } from "@cdktf/provider-vault/lib/pki-secret-backend-role";
import { IIssuer } from "./ca-chain";
import { settingName } from "./errors";
import { checkName } from "./validation";

/** A PKI role that issues certificates: made by this stack or already in Vault. */
export interface IIssuingRole extends IConstruct {
  /** Role name; a reference to the role when this stack makes it. */
  readonly roleName: string;
  /** Mount path the role lives in, e.g. "pki_int". */
  readonly backend: string;
  /** The CA the role issues from. */
  readonly issuer: IIssuer;
}

/** Properties of an {@link IssuingRole}. */
export interface IssuingRoleProps {
  /** The CA the role issues from, normally the intermediate. */
  readonly issuer: IIssuer;
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
export class IssuingRole extends Construct implements IIssuingRole {
  /** Refers to a role that already exists on the issuer's mount, by name; nothing is created or changed. */
  public static fromRoleName(scope: Construct, id: string, issuer: IIssuer, roleName: string): IIssuingRole {
    return new ExistingIssuingRole(scope, id, issuer, roleName);
  }

  /** Role name, e.g. "cpRole"; a reference to the role. */
  public readonly roleName: string;
  /** Mount path of the issuing CA, e.g. "pki_int". */
  public readonly backend: string;
  /** The CA the role issues from. */
  public readonly issuer: IIssuer;
  /** The underlying `vault_pki_secret_backend_role`. */
  public readonly role: PkiSecretBackendRole;

  public constructor(scope: Construct, id: string, props: IssuingRoleProps) {
    super(scope, id);
    const name = checkName(settingName(this, "name"), props.name ?? "cpRole", this.node.path);
    this.issuer = props.issuer;
    const ready = props.issuer.ready;
    this.role = new PkiSecretBackendRole(this, "role", {
      backend: props.issuer.mount.path,
      name,
      allowAnyName: true,
      allowSubdomains: true,
      clientFlag: true,
      // Issuing through the role needs the mount's signed issuer, which no
      // attribute of the role refers to.
      dependsOn: ready ? [ready] : undefined,
    });
    this.roleName = this.role.name;
    this.backend = this.role.backend;
  }
}

class ExistingIssuingRole extends Construct implements IIssuingRole {
  public readonly roleName: string;
  public readonly backend: string;

  public constructor(
    scope: Construct,
    id: string,
    public readonly issuer: IIssuer,
    roleName: string,
  ) {
    super(scope, id);
    this.roleName = checkName(settingName(this, "name"), roleName, this.node.path);
    this.backend = issuer.mount.path;
  }
}
