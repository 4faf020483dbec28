import { Construct, IConstruct } from "constructs";
import { AuthBackend } from "@cdktf/provider-vault/lib/auth-backend";
import { CertAuthBackendRole } from "@cdktf/provider-vault/lib/cert-auth-backend-role";
import { formatProviderDuration, parseDuration } from "./duration";
import { settingName } from "./errors";
import { ReplacingSetting } from "./replacement-guard";
import { checkMountPath, checkName } from "./validation";

/** A TLS certificate auth method: made by this stack or already in Vault. */
export interface ICertAuthBackend extends IConstruct {
  /** Mount path under `auth/`, e.g. "cert"; a reference when this stack makes it. */
  readonly path: string;
}

/** Properties of a {@link CertAuthBackend}. */
export interface CertAuthBackendProps {
  /**
   * Where the cert auth method is mounted (under `auth/`).
   * @default "cert"
   */
  readonly path?: string;
  /**
   * Default lease of tokens issued by this method.
   * @default "60s"
   */
  readonly defaultLeaseTtl?: string;
}

/**
 * The TLS certificate auth method, tuned to a short default lease
 * (recipe: `vault auth enable cert`, `vault write sys/auth/cert/tune default_lease_ttl=60`).
 */
export class CertAuthBackend extends Construct implements ICertAuthBackend {
  /** Refers to a cert auth method that already exists, by its path under `auth/`; nothing is created or changed. */
  public static fromPath(scope: Construct, id: string, path: string): ICertAuthBackend {
    return new ExistingCertAuthBackend(scope, id, path);
  }

  /** Mount path under `auth/`, e.g. "cert". */
  public readonly path: string;
  /** Default lease in seconds. */
  public readonly defaultLeaseSeconds: number;
  /** The underlying `vault_auth_backend`. */
  public readonly backend: AuthBackend;
  /**
   * The settings whose change moves the method (a remount, or a new mount
   * where Vault cannot remount): logins at the old path fail from then on.
   */
  public readonly replacingSettings: readonly ReplacingSetting[];

  public constructor(scope: Construct, id: string, props: CertAuthBackendProps = {}) {
    super(scope, id);
    const path = checkMountPath(settingName(this, "path"), props.path ?? "cert", this.node.path);
    this.defaultLeaseSeconds = parseDuration(settingName(this, "defaultLeaseTtl"), props.defaultLeaseTtl ?? "60s", this.node.path);
    this.backend = new AuthBackend(this, "backend", {
      type: "cert",
      path,
      description: "Code42 keystore: TLS client certificate login",
      // Written in the provider's read-back form ("1m", not "60s") so that an
      // import or refresh never shows a diff.
      tune: [{ defaultLeaseTtl: formatProviderDuration(this.defaultLeaseSeconds) }],
    });
    this.path = this.backend.path;
    this.replacingSettings = [{ setting: settingName(this, "path"), attribute: "path", label: "path", configured: path }];
  }
}

class ExistingCertAuthBackend extends Construct implements ICertAuthBackend {
  public readonly path: string;

  public constructor(scope: Construct, id: string, path: string) {
    super(scope, id);
    this.path = checkMountPath(settingName(this, "path"), path, this.node.path);
  }
}

/** The certificate a {@link CertLoginRole} trusts. */
export interface ITrustedCertificate {
  /** PEM of the certificate allowed to log in. */
  readonly certificatePem: string;
}

/**
 * The policy a {@link CertLoginRole} grants: a construct's, or any existing
 * policy by name (`{ policyName: "default" }`).
 */
export interface IGrantedPolicy {
  /** Policy name. */
  readonly policyName: string;
}

/** Properties of a {@link CertLoginRole}. */
export interface CertLoginRoleProps {
  /** The cert auth method the role lives in. */
  readonly backend: ICertAuthBackend;
  /** The certificate that may log in. */
  readonly certificate: ITrustedCertificate;
  /** The policies its tokens carry. */
  readonly policies: IGrantedPolicy[];
  /**
   * Role name, which is also its display name.
   * @default "crashplanUser"
   */
  readonly name?: string;
  /**
   * TTL of the tokens it issues.
   * @default "60s"
   */
  readonly tokenTtl?: string;
  /**
   * Name of the underlying resource in the Terraform address, fixed so that a
   * \`moved\` block can name it.
   * @default - derived from the construct path
   */
  readonly resourceName?: string;
  /**
   * The config file section its settings come from, as error messages name them.
   * @default the construct id
   */
  readonly settingsSection?: string;
}

/**
 * A cert auth role binding one certificate to policies
 * (recipe: `vault write auth/cert/certs/crashplanUser display_name=crashplanUser policies=crashplanPolicy certificate=@… ttl=60`).
 */
export class CertLoginRole extends Construct {
  /** Role name, e.g. "crashplanUser". */
  public readonly roleName: string;
  /** Token TTL in seconds. */
  public readonly tokenTtlSeconds: number;
  /** The underlying `vault_cert_auth_backend_role`. */
  public readonly role: CertAuthBackendRole;
  /**
   * The settings whose change replaces the role (delete, then create: no
   * login through it in between): its name and its method's path. The
   * certificate is ForceNew too, but it is no setting.
   */
  public readonly replacingSettings: readonly ReplacingSetting[];

  public constructor(scope: Construct, id: string, props: CertLoginRoleProps) {
    super(scope, id);
    const setting = (prop: string) => (props.settingsSection === undefined ? settingName(this, prop) : `${props.settingsSection}.${prop}`);
    const name = checkName(setting("name"), props.name ?? "crashplanUser", this.node.path);
    this.tokenTtlSeconds = parseDuration(setting("tokenTtl"), props.tokenTtl ?? "60s", this.node.path);
    this.role = new CertAuthBackendRole(this, "role", {
      backend: props.backend.path,
      name,
      displayName: name,
      certificate: props.certificate.certificatePem,
      tokenPolicies: props.policies.map((p) => p.policyName),
      tokenTtl: this.tokenTtlSeconds,
    });
    if (props.resourceName !== undefined) this.role.overrideLogicalId(props.resourceName);
    this.roleName = this.role.name;
    this.replacingSettings = [
      { setting: setting("name"), attribute: "name", label: "name", configured: name },
      { setting: settingName(props.backend, "path"), attribute: "backend", label: "method", configured: props.backend.path },
    ];
  }
}
