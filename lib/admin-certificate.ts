import { Construct, IConstruct } from "constructs";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { KeystoreValidationError, settingName } from "./errors";
import { formatHours, parseDuration } from "./duration";
import { IIssuingRole } from "./pki-role";
import { ReplacingSetting } from "./replacement-guard";
import { checkCommonName, checkTtlWithin } from "./validation";

/** A client certificate with its key, as a bundle is built from it. */
export interface IIssuedCertificate extends IConstruct {
  /** PEM of the certificate. */
  readonly certificatePem: string;
  /** PEM of the private key (sensitive). */
  readonly privateKeyPem: string;
  /** PEM of the CA chain, issuing CA first, as one string. */
  readonly caChainPem: string;
  /** Serial number, changes with every re-issue. */
  readonly serialNumber: string;
  /** Expiry as a Unix timestamp. */
  readonly expiration: number;
}

/** Properties of an {@link AdminCertificate}. */
export interface AdminCertificateProps {
  /** The role that issues it. */
  readonly role: IIssuingRole;
  /**
   * Subject common name.
   * @default "crashplan-admin"
   */
  readonly commonName?: string;
  /**
   * Validity; at most the intermediate's TTL and its mount's maximum lease.
   * @default "8760h"
   */
  readonly ttl?: string;
  /**
   * A deploy inside this window before expiry issues a new certificate.
   * Must be shorter than `ttl`, or every deploy would re-issue.
   * @default "30d"
   */
  readonly renewBefore?: string;
  /**
   * Whether a deploy inside `renewBefore` re-issues it in place (one-step
   * rotation: Code42 cannot log in until the new bundle is uploaded). When
   * false, nothing re-issues it and the provider is told a window of 0 s, so
   * that a refresh never flags it as due before it expires; a two-phase
   * rotation issues the next certificate beside it instead.
   * @default true
   */
  readonly autoRenew?: boolean;
  /**
   * The config file section its settings come from, as error messages name them.
   * @default the construct id
   */
  readonly settingsSection?: string;
  /**
   * Name of the underlying resource in the Terraform address, fixed so that a
   * \`moved\` block can name it.
   * @default - derived from the construct path
   */
  readonly resourceName?: string;
}

/**
 * The client certificate Code42 logs in with, issued from the role and
 * re-issued by any deploy that runs within `renewBefore` of its expiry
 * (recipe: `vault write pki_int/issue/cpRole common_name=… ttl=8760h`).
 */
export class AdminCertificate extends Construct implements IIssuedCertificate {
  /** Validity in seconds. */
  public readonly ttlSeconds: number;
  /** Renewal window in seconds. */
  public readonly renewBeforeSeconds: number;
  /** PEM of the certificate. */
  public readonly certificatePem: string;
  /** PEM of the private key (sensitive). */
  public readonly privateKeyPem: string;
  /** PEM of the CA chain, intermediate first, as one string. */
  public readonly caChainPem: string;
  /** Serial number, changes with every re-issue. */
  public readonly serialNumber: string;
  /** Expiry as a Unix timestamp. */
  public readonly expiration: number;
  /** The underlying `vault_pki_secret_backend_cert`. */
  public readonly certificate: PkiSecretBackendCert;
  /**
   * The settings whose change replaces this certificate (ForceNew in the
   * provider): its common name, TTL, the role it is issued from and that
   * role's mount.
   */
  public readonly replacingSettings: readonly ReplacingSetting[];

  public constructor(scope: Construct, id: string, props: AdminCertificateProps) {
    super(scope, id);
    const setting = (prop: string) => (props.settingsSection === undefined ? settingName(this, prop) : `${props.settingsSection}.${prop}`);
    const commonName = checkCommonName(setting("commonName"), props.commonName ?? "crashplan-admin", this.node.path);
    const ttl = props.ttl ?? "8760h";
    const renewBefore = props.renewBefore ?? "30d";
    const ttlSetting = setting("ttl");
    const renewBeforeSetting = setting("renewBefore");
    this.ttlSeconds = parseDuration(ttlSetting, ttl, this.node.path);
    this.renewBeforeSeconds = parseDuration(renewBeforeSetting, renewBefore, this.node.path);
    // The issuer already fits its mount's maximum lease, so fitting the
    // issuer is enough.
    const issuer = props.role.issuer;
    if (issuer.ttlSeconds !== undefined) {
      checkTtlWithin(ttlSetting, ttl, this.ttlSeconds, issuer.ttlSetting, issuer.ttlSeconds, this.node.path);
    }
    if (this.renewBeforeSeconds >= this.ttlSeconds) {
      throw new KeystoreValidationError(
        renewBeforeSetting,
        renewBefore,
        `is not shorter than ${ttlSetting} (${formatHours(this.ttlSeconds)}); expected a window shorter than the certificate's life, or every deploy re-issues it`,
        this.node.path,
      );
    }

    const autoRenew = props.autoRenew ?? true;
    this.certificate = new PkiSecretBackendCert(this, "certificate", {
      backend: props.role.backend,
      name: props.role.roleName,
      commonName,
      ttl: formatHours(this.ttlSeconds),
      autoRenew,
      minSecondsRemaining: autoRenew ? this.renewBeforeSeconds : 0,
      // Revoke the old certificate when it is replaced, so a leaked key dies with it.
      revoke: true,
    });
    if (props.resourceName !== undefined) this.certificate.overrideLogicalId(props.resourceName);
    this.certificatePem = this.certificate.certificate;
    this.privateKeyPem = this.certificate.privateKey;
    this.caChainPem = this.certificate.caChain;
    this.serialNumber = this.certificate.serialNumber;
    this.expiration = this.certificate.expiration;
    // The TTL is not ForceNew in the provider, but a new value never reaches the
    // live certificate (its update is a no-op): only a new certificate carries it.
    this.replacingSettings = [
      { setting: setting("commonName"), attribute: "common_name", label: "common name", configured: commonName },
      { setting: ttlSetting, attribute: "ttl", label: "TTL", configured: formatHours(this.ttlSeconds) },
      { setting: settingName(props.role, "name"), attribute: "name", label: "issuing role", configured: props.role.roleName },
      { setting: settingName(props.role.issuer.mount, "path"), attribute: "backend", label: "mount", configured: props.role.backend },
    ];
  }
}
