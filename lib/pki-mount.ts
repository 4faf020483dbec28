import { Construct, IConstruct } from "constructs";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { PkiSecretBackendConfigUrls } from "@cdktf/provider-vault/lib/pki-secret-backend-config-urls";
import { formatHours, parseDuration } from "./duration";
import { settingName } from "./errors";
import { checkBaseUrl, checkMountPath } from "./validation";

/** A PKI secrets engine, made by this stack or already in Vault. */
export interface IPkiMount extends IConstruct {
  /** Mount path; a reference to the mount when this stack makes it, so users of it depend on it. */
  readonly path: string;
  /** Maximum lease in seconds, when known: what the mount issues must fit inside it. */
  readonly maxLeaseSeconds?: number;
}

/** What is known about a PKI mount that already exists. */
export interface PkiMountAttributes {
  /** Mount path, e.g. "pki". */
  readonly path: string;
  /**
   * Its maximum lease, e.g. "87600h", to check TTLs against before deploying.
   * @default - unknown: Vault checks TTLs when it issues
   */
  readonly maxLeaseTtl?: string;
}

/** Properties of a {@link TunedPkiMount}. */
export interface TunedPkiMountProps {
  /** Mount path, e.g. "pki" or "pki_int". */
  readonly path: string;
  /** Longest lease the mount allows, e.g. "87600h". */
  readonly maxLeaseTtl: string;
  /**
   * Public base URL of the Vault server, from which the issuing-certificate
   * (`<base>/v1/<path>/ca`) and CRL (`<base>/v1/<path>/crl`) URLs are built.
   */
  readonly publicUrl: string;
  /**
   * Accept an http:// `publicUrl`. Only for local development.
   * @default false
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * Refuse to destroy or replace the mount. Unmounting a PKI engine deletes its CA.
   * @default false
   */
  readonly preventDestroy?: boolean;
  /**
   * Mount description.
   * @default - "Code42 keystore PKI (<path>)"
   */
  readonly description?: string;
}

/**
 * A PKI secrets engine tuned to a maximum lease, with its issuing-certificate
 * and CRL distribution URLs configured (recipe: `vault secrets enable pki`,
 * `vault secrets tune -max-lease-ttl=87600h pki`, `vault write pki/config/urls …`).
 * Both URLs come from one base, so they never disagree about host or port.
 */
export class TunedPkiMount extends Construct implements IPkiMount {
  /**
   * Refers to a PKI mount that already exists in Vault, by path; nothing is
   * created or changed. Its maximum lease is unknown, so TTLs are checked by
   * Vault when it issues rather than here.
   */
  public static fromPath(scope: Construct, id: string, path: string): IPkiMount {
    return TunedPkiMount.fromAttributes(scope, id, { path });
  }

  /** Refers to a PKI mount that already exists in Vault, with what is known about it. */
  public static fromAttributes(scope: Construct, id: string, attributes: PkiMountAttributes): IPkiMount {
    return new ExistingPkiMount(scope, id, attributes);
  }

  /** Mount path; a reference to the mount, so users of it depend on it. */
  public readonly path: string;
  /** Maximum lease in seconds. */
  public readonly maxLeaseSeconds: number;
  /** URL of the CA certificate, as written into issued certificates. */
  public readonly issuingCertificateUrl: string;
  /** URL of the CRL, as written into issued certificates. */
  public readonly crlDistributionUrl: string;
  /** The underlying `vault_mount`. */
  public readonly mount: Mount;
  /** The underlying `vault_pki_secret_backend_config_urls`. */
  public readonly urls: PkiSecretBackendConfigUrls;

  public constructor(scope: Construct, id: string, props: TunedPkiMountProps) {
    super(scope, id);
    const path = checkMountPath(settingName(this, "path"), props.path, this.node.path);
    this.maxLeaseSeconds = parseDuration(settingName(this, "maxLeaseTtl"), props.maxLeaseTtl, this.node.path);
    const base = checkBaseUrl("publicUrl", props.publicUrl, props.allowInsecureHttp ?? false, this.node.path);

    this.mount = new Mount(this, "mount", {
      path,
      type: "pki",
      description: props.description ?? `Code42 keystore PKI (${path})`,
      maxLeaseTtlSeconds: this.maxLeaseSeconds,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.path = this.mount.path;
    this.issuingCertificateUrl = `${base}/v1/${path}/ca`;
    this.crlDistributionUrl = `${base}/v1/${path}/crl`;
    this.urls = new PkiSecretBackendConfigUrls(this, "urls", {
      backend: this.path,
      issuingCertificates: [this.issuingCertificateUrl],
      crlDistributionPoints: [this.crlDistributionUrl],
    });
  }

  /** The maximum lease as Vault prints it, e.g. "87600h". */
  public get maxLeaseTtl(): string {
    return formatHours(this.maxLeaseSeconds);
  }
}

class ExistingPkiMount extends Construct implements IPkiMount {
  public readonly path: string;
  public readonly maxLeaseSeconds?: number;

  public constructor(scope: Construct, id: string, attributes: PkiMountAttributes) {
    super(scope, id);
    this.path = checkMountPath(settingName(this, "path"), attributes.path, this.node.path);
    if (attributes.maxLeaseTtl !== undefined) {
      this.maxLeaseSeconds = parseDuration(settingName(this, "maxLeaseTtl"), attributes.maxLeaseTtl, this.node.path);
    }
  }
}
