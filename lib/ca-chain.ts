import { Construct } from "constructs";
import { PkiSecretBackendIntermediateCertRequest } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-cert-request";
import { PkiSecretBackendIntermediateSetSigned } from "@cdktf/provider-vault/lib/pki-secret-backend-intermediate-set-signed";
import { PkiSecretBackendRootCert } from "@cdktf/provider-vault/lib/pki-secret-backend-root-cert";
import { PkiSecretBackendRootSignIntermediate } from "@cdktf/provider-vault/lib/pki-secret-backend-root-sign-intermediate";
import { formatHours, parseDuration } from "./duration";
import { TunedPkiMount } from "./pki-mount";
import { checkCommonName, checkTtlWithin } from "./validation";

/** Properties of a {@link RootCa}. */
export interface RootCaProps {
  /** The PKI mount that holds the root. */
  readonly mount: TunedPkiMount;
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
export class RootCa extends Construct {
  /** The mount holding the root. */
  public readonly mount: TunedPkiMount;
  /** Validity in seconds. */
  public readonly ttlSeconds: number;
  /** PEM of the root certificate. */
  public readonly certificatePem: string;
  /** The underlying `vault_pki_secret_backend_root_cert`. */
  public readonly certificate: PkiSecretBackendRootCert;

  public constructor(scope: Construct, id: string, props: RootCaProps) {
    super(scope, id);
    const commonName = checkCommonName(`${id}.commonName`, props.commonName ?? "example.com", this.node.path);
    const ttl = props.ttl ?? "87600h";
    this.ttlSeconds = parseDuration(`${id}.ttl`, ttl, this.node.path);
    checkTtlWithin(`${id}.ttl`, ttl, this.ttlSeconds, `${props.mount.node.id}.maxLeaseTtl`, props.mount.maxLeaseSeconds, this.node.path);
    this.mount = props.mount;
    this.certificate = new PkiSecretBackendRootCert(this, "certificate", {
      backend: props.mount.path,
      type: "internal",
      commonName,
      ttl: formatHours(this.ttlSeconds),
      lifecycle: (props.preventDestroy ?? true) ? { preventDestroy: true } : undefined,
    });
    this.certificatePem = this.certificate.certificate;
  }
}

/** Properties of an {@link IntermediateCa}. */
export interface IntermediateCaProps {
  /** The PKI mount that holds the intermediate and issues from it. */
  readonly mount: TunedPkiMount;
  /** The root that signs it. */
  readonly root: RootCa;
  /**
   * Subject common name of the intermediate certificate.
   * @default "example.com Intermediate Authority"
   */
  readonly commonName?: string;
  /**
   * Validity of the intermediate; at most the root's TTL and its mount's maximum lease.
   * @default "43800h"
   */
  readonly ttl?: string;
}

/**
 * An intermediate CA: CSR generated inside its mount, signed by the root as a
 * `pem_bundle`, then set as the mount's signed certificate (recipe:
 * `pki_int/intermediate/generate/internal`, `pki/root/sign-intermediate`,
 * `pki_int/intermediate/set-signed`).
 */
export class IntermediateCa extends Construct {
  /** The mount holding the intermediate. */
  public readonly mount: TunedPkiMount;
  /** Validity in seconds. */
  public readonly ttlSeconds: number;
  /** PEM of the intermediate certificate. */
  public readonly certificatePem: string;
  /** The signed certificate, once set on the mount: issuing depends on this. */
  public readonly signed: PkiSecretBackendIntermediateSetSigned;

  public constructor(scope: Construct, id: string, props: IntermediateCaProps) {
    super(scope, id);
    const commonName = checkCommonName(`${id}.commonName`, props.commonName ?? "example.com Intermediate Authority", this.node.path);
    const ttl = props.ttl ?? "43800h";
    this.ttlSeconds = parseDuration(`${id}.ttl`, ttl, this.node.path);
    checkTtlWithin(`${id}.ttl`, ttl, this.ttlSeconds, `${props.root.node.id}.ttl`, props.root.ttlSeconds, this.node.path);
    checkTtlWithin(`${id}.ttl`, ttl, this.ttlSeconds, `${props.mount.node.id}.maxLeaseTtl`, props.mount.maxLeaseSeconds, this.node.path);
    this.mount = props.mount;

    const request = new PkiSecretBackendIntermediateCertRequest(this, "request", {
      backend: props.mount.path,
      type: "internal",
      commonName,
    });
    const signature = new PkiSecretBackendRootSignIntermediate(this, "signature", {
      backend: props.root.mount.path,
      csr: request.csr,
      commonName,
      format: "pem_bundle",
      ttl: formatHours(this.ttlSeconds),
      // Sign with exactly this root: also orders the signing after the root exists.
      issuerRef: props.root.certificate.issuerId,
    });
    this.signed = new PkiSecretBackendIntermediateSetSigned(this, "signed", {
      backend: props.mount.path,
      certificate: signature.certificate,
    });
    this.certificatePem = signature.certificate;
  }
}
