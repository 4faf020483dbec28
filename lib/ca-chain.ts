import { Construct, IConstruct } from "constructs";
import { ITerraformDependable, TerraformOutput } from "cdktf";
import { DataVaultPkiSecretBackendIssuers } from "@cdktf/provider-vault/lib/data-vault-pki-secret-backend-issuers";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRootCert } from "@cdktf/provider-vault/lib/pki-secret-backend-root-cert";
import { PkiSecretBackendRootSignIntermediate } from "@cdktf/provider-vault/lib/pki-secret-backend-root-sign-intermediate";
import { readSignedCaChainFile } from "./certificate-file";
import { formatHours, parseDuration } from "./duration";
import { KeystoreValidationError, settingName } from "./errors";
import { IPkiMount } from "./pki-mount";
import { checkCommonName, checkTtlWithin } from "./validation";

/** Names of the Terraform outputs of an intermediate signed outside Vault. */
export const EXTERNAL_SIGNING_OUTPUTS = {
  /** The intermediate's CSR (PEM), for the user's root CA to sign. */
  csr: "intermediate_csr",
  /** What to do next, while the signed certificate is still missing. */
  nextStep: "intermediate_next_step",
} as const;

/** A CA a role issues from: made by this stack or already in a Vault mount. */
export interface IIssuer extends IConstruct {
  /** The mount that holds the CA's key and issues from it. */
  readonly mount: IPkiMount;
  /** Validity in seconds, when known: what it issues must fit inside. */
  readonly ttlSeconds?: number;
  /** The setting that decides `ttlSeconds`, as error messages name it, e.g. `intermediateCa.ttl`. */
  readonly ttlSetting: string;
  /**
   * The resource after which the mount can issue; `undefined` for a CA that
   * already exists. Roles wait for it, since none of their attributes refer to it.
   */
  readonly ready: ITerraformDependable | undefined;
}

/** A root CA inside Vault that signs intermediates: made by this stack or already there. */
export interface IRootCa extends IConstruct {
  /** The mount that holds the root. */
  readonly mount: IPkiMount;
  /** Vault's id of the root's issuer; a reference when made here, so signing waits for the root. */
  readonly issuerRef: string;
  /** Validity in seconds, when known: an intermediate it signs must fit inside. */
  readonly ttlSeconds?: number;
}

/** What is known about a root CA that already exists in a Vault mount. */
export interface RootCaAttributes {
  /** The mount that holds it. */
  readonly mount: IPkiMount;
  /**
   * Its issuer id or name in that mount.
   * @default "default"
   */
  readonly issuerRef?: string;
  /**
   * Its validity, to check the intermediate's TTL against before deploying.
   * @default - unknown: Vault checks when it signs
   */
  readonly ttl?: string;
}

/** Properties of a {@link RootCa}. */
export interface RootCaProps {
  /** The PKI mount that holds the root. */
  readonly mount: IPkiMount;
  /**
   * Subject common name of the root certificate.
   * @default "example.com"
   */
  readonly commonName?: string;
  /**
   * Validity of the root certificate; at most the mount's maximum lease.
   * @default "87600h"
   */
  readonly ttl?: string;
  /**
   * Refuse to destroy or replace the root. Replacing it invalidates every certificate it signed.
   * @default true
   */
  readonly preventDestroy?: boolean;
}

/**
 * A root CA whose key is generated inside Vault and never leaves it
 * (recipe: `vault write pki/root/generate/internal common_name=… ttl=87600h`).
 */
export class RootCa extends Construct implements IRootCa, IIssuer {
  /**
   * Refers to a root CA that already exists in a Vault mount, for instance an
   * enterprise root kept in another PKI mount; nothing is created or changed.
   */
  public static fromIssuer(scope: Construct, id: string, attributes: RootCaAttributes): IRootCa {
    return new ExistingRootCa(scope, id, attributes);
  }

  /** The mount holding the root. */
  public readonly mount: IPkiMount;
  /** Validity in seconds. */
  public readonly ttlSeconds: number;
  public readonly ttlSetting: string;
  /** PEM of the root certificate. */
  public readonly certificatePem: string;
  /** Vault's id of the root's issuer. */
  public readonly issuerRef: string;
  /** The underlying `vault_pki_secret_backend_root_cert`. */
  public readonly certificate: PkiSecretBackendRootCert;

  public constructor(scope: Construct, id: string, props: RootCaProps) {
    super(scope, id);
    const commonName = checkCommonName(settingName(this, "commonName"), props.commonName ?? "example.com", this.node.path);
    const ttl = props.ttl ?? "87600h";
    this.ttlSetting = settingName(this, "ttl");
    this.ttlSeconds = parseDuration(this.ttlSetting, ttl, this.node.path);
    if (props.mount.maxLeaseSeconds !== undefined) {
      checkTtlWithin(this.ttlSetting, ttl, this.ttlSeconds, settingName(props.mount, "maxLeaseTtl"), props.mount.maxLeaseSeconds, this.node.path);
    }
    this.mount = props.mount;
    this.certificate = new PkiSecretBackendRootCert(this, "certificate", {
      backend: props.mount.path,
      type: "internal",
      commonName,
      ttl: formatHours(this.ttlSeconds),
      lifecycle: (props.preventDestroy ?? true) ? { preventDestroy: true } : undefined,
    });
    this.certificatePem = this.certificate.certificate;
    this.issuerRef = this.certificate.issuerId;
  }

  /** The root can issue once it exists. */
  public get ready(): ITerraformDependable {
    return this.certificate;
  }
}

class ExistingRootCa extends Construct implements IRootCa {
  public readonly mount: IPkiMount;
  public readonly issuerRef: string;
  public readonly ttlSeconds?: number;

  public constructor(scope: Construct, id: string, attributes: RootCaAttributes) {
    super(scope, id);
    this.mount = attributes.mount;
    this.issuerRef = attributes.issuerRef ?? "default";
    if (attributes.ttl !== undefined) this.ttlSeconds = parseDuration(settingName(this, "ttl"), attributes.ttl, this.node.path);
  }
}

/** What is known about an issuing CA that already exists in a Vault mount. */
export interface IssuerAttributes {
  /** The mount that holds it and issues from it. */
  readonly mount: IPkiMount;
  /**
   * Its validity, to check TTLs of what it issues against before deploying.
   * @default - unknown: Vault checks when it issues
   */
  readonly ttl?: string;
}

/** Properties of an {@link IntermediateCa}. */
export interface IntermediateCaProps {
  /** The PKI mount that holds the intermediate and issues from it. */
  readonly mount: IPkiMount;
  /**
   * The root inside Vault that signs it.
   * @default - signed outside Vault by the user's own root: the CSR becomes the
   * `intermediate_csr` output and waits for `signedCertificateFile`
   */
  readonly root?: IRootCa;
  /**
   * Path of a PEM file holding the intermediate certificate signed outside
   * Vault by the user's root CA, followed by that root's certificate. Only
   * without `root`.
   * @default - not signed yet: nothing can issue from the intermediate
   */
  readonly signedCertificateFile?: string;
  /**
   * Subject common name of the intermediate certificate.
   * @default "example.com Intermediate Authority"
   */
  readonly commonName?: string;
  /**
   * Validity of the intermediate; at most the root's TTL and its mount's
   * maximum lease. Signed outside Vault, the signer decides the validity.
   * @default "43800h"
   */
  readonly ttl?: string;
  /**
   * Refuse to destroy or replace the CSR's key: once an outside root has
   * signed it, a new key needs a new signature.
   * @default false
   */
  readonly preventDestroy?: boolean;
}

/**
 * An intermediate CA: CSR generated inside its mount, signed, then set as the
 * mount's signed certificate. Signed by a root inside Vault as a `pem_bundle`
 * (recipe: `pki_int/intermediate/generate/internal`, `pki/root/sign-intermediate`,
 * `pki_int/intermediate/set-signed`), or by the user's own root outside Vault:
 * the CSR is then the `intermediate_csr` output, and once the signed
 * certificate file is given, a later deploy sets it as signed.
 */
export class IntermediateCa extends Construct implements IIssuer {
  /**
   * Refers to an issuing CA that already exists in a Vault mount, signed and
   * ready to issue; nothing is created or changed.
   */
  public static fromMount(scope: Construct, id: string, attributes: IssuerAttributes): IIssuer {
    return new ExistingIssuer(scope, id, attributes);
  }

  /** The mount holding the intermediate. */
  public readonly mount: IPkiMount;
  /** Validity in seconds: the `ttl` prop, or, signed outside Vault, the certificate's; unknown before it is signed. */
  public readonly ttlSeconds?: number;
  public readonly ttlSetting: string;
  /** PEM of the CSR. */
  public readonly csr: string;
  /** PEM of the signed intermediate certificate with its chain; `undefined` until signed outside Vault. */
  public readonly certificatePem?: string;
  /** The underlying `vault_pki_secret_backend_intermediate_cert_request`. */
  public readonly request: PkiSecretBackendIntermediateCertRequest;
  /** The signed certificate, once set on the mount: issuing depends on this. `undefined` until signed outside Vault. */
  public readonly signed?: PkiSecretBackendIntermediateSetSigned;
  private readonly readiness?: ITerraformDependable;

  public constructor(scope: Construct, id: string, props: IntermediateCaProps) {
    super(scope, id);
    const commonName = checkCommonName(settingName(this, "commonName"), props.commonName ?? "example.com Intermediate Authority", this.node.path);
    const fileSetting = settingName(this, "signedCertificateFile");
    if (props.root && props.signedCertificateFile) {
      throw new KeystoreValidationError(
        fileSetting,
        props.signedCertificateFile,
        `is set, but ${props.root.node.path} signs this intermediate inside Vault; expected no file, or ${settingName(props.root, "external")} set to true so that your own root signs it`,
        this.node.path,
      );
    }
    this.mount = props.mount;
    this.request = new PkiSecretBackendIntermediateCertRequest(this, "request", {
      backend: props.mount.path,
      type: "internal",
      commonName,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    this.csr = this.request.csr;

    if (props.root) {
      const ttl = props.ttl ?? "43800h";
      this.ttlSetting = settingName(this, "ttl");
      this.ttlSeconds = parseDuration(this.ttlSetting, ttl, this.node.path);
      if (props.root.ttlSeconds !== undefined) {
        checkTtlWithin(this.ttlSetting, ttl, this.ttlSeconds, settingName(props.root, "ttl"), props.root.ttlSeconds, this.node.path);
      }
      if (props.mount.maxLeaseSeconds !== undefined) {
        checkTtlWithin(this.ttlSetting, ttl, this.ttlSeconds, settingName(props.mount, "maxLeaseTtl"), props.mount.maxLeaseSeconds, this.node.path);
      }
      const signature = new PkiSecretBackendRootSignIntermediate(this, "signature", {
        backend: props.root.mount.path,
        csr: this.request.csr,
        commonName,
        format: "pem_bundle",
        ttl: formatHours(this.ttlSeconds),
        // Sign with exactly this root: also orders the signing after the root exists.
        issuerRef: props.root.issuerRef,
      });
      this.certificatePem = signature.certificate;
    } else {
      this.ttlSetting = `the intermediate in ${fileSetting}`;
      new TerraformOutput(this, "csrOutput", {
        value: this.csr,
        description: "CSR of the intermediate CA, for your own root CA to sign (CA:TRUE)",
      }).overrideLogicalId(EXTERNAL_SIGNING_OUTPUTS.csr);
      if (props.signedCertificateFile) {
        const chain = readSignedCaChainFile(fileSetting, props.signedCertificateFile, this.node.path);
        this.ttlSeconds = chain.validitySeconds;
        this.certificatePem = chain.pem;
      } else {
        new TerraformOutput(this, "nextStepOutput", {
          value:
            `Sign the CSR in output ${EXTERNAL_SIGNING_OUTPUTS.csr} with your root CA as an intermediate CA (basic constraints CA:TRUE), ` +
            `write the signed certificate followed by your root CA's certificate to one PEM file, ` +
            `set ${fileSetting} to that file and deploy again: the role, the admin certificate and the bundle come with that deploy.`,
          description: "What to do before anything can issue from the intermediate",
        }).overrideLogicalId(EXTERNAL_SIGNING_OUTPUTS.nextStep);
      }
    }

    if (this.certificatePem !== undefined) {
      this.signed = new PkiSecretBackendIntermediateSetSigned(this, "signed", {
        backend: props.mount.path,
        certificate: this.certificatePem,
      });
      this.readiness = props.root ? this.signed : this.checkSignedForOwnKey(this.signed, props.mount, fileSetting);
    }
  }

  /**
   * Vault accepts a certificate signed for another key as an issuer without a
   * key, and only the first issue fails, with "no default issuer". So, once it
   * is set, check that some issuer it imported holds a key of this mount, and
   * stop the deploy there, naming the setting, before a role or certificate is built.
   */
  private checkSignedForOwnKey(signed: PkiSecretBackendIntermediateSetSigned, mount: IPkiMount, fileSetting: string): ITerraformDependable {
    // Nothing imported means every certificate was in the mount already (set
    // again after a lost state): there is nothing new to judge.
    return new DataVaultPkiSecretBackendIssuers(this, "signedCheck", {
      backend: mount.path,
      dependsOn: [signed],
      lifecycle: {
        postcondition: [
          {
            condition: `\${anytrue([for id in ${signed.fqn}.imported_issuers : try(jsondecode(self.key_info_json)[id].key_id, "") != ""]) || length(${signed.fqn}.imported_issuers) == 0}`,
            errorMessage:
              `${fileSetting}: the intermediate certificate was not signed for the key of this deployment's CSR; ` +
              `expected the CSR in the ${EXTERNAL_SIGNING_OUTPUTS.csr} output signed by your root CA (not an older or another CSR), then deploy again.`,
          },
        ],
      },
    });
  }

  /**
   * What issuing waits for: the signed certificate set on the mount, or, signed
   * outside Vault, the check that it holds the mount's key. Throws while the
   * intermediate waits for its outside signature, so nothing is built to issue from it.
   */
  public get ready(): ITerraformDependable {
    if (!this.readiness) {
      throw new KeystoreValidationError(
        settingName(this, "signedCertificateFile"),
        undefined,
        `is needed before anything can issue from ${this.node.path}; expected the intermediate signed by your root CA (sign the ${EXTERNAL_SIGNING_OUTPUTS.csr} output)`,
        this.node.path,
      );
    }
    return this.readiness;
  }
}

class ExistingIssuer extends Construct implements IIssuer {
  public readonly mount: IPkiMount;
  public readonly ttlSeconds?: number;
  public readonly ttlSetting: string;
  public readonly ready = undefined;

  public constructor(scope: Construct, id: string, attributes: IssuerAttributes) {
    super(scope, id);
    this.mount = attributes.mount;
    this.ttlSetting = settingName(this, "ttl");
    if (attributes.ttl !== undefined) this.ttlSeconds = parseDuration(this.ttlSetting, attributes.ttl, this.node.path);
  }
}
