import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { Password } from "@cdktf/provider-random/lib/password";
import { IIssuedCertificate } from "./admin-certificate";
import { BUNDLE_OUTPUTS, BundleOutputNames } from "./bundle-output-names";
import { KeystoreValidationError, settingName } from "./errors";

/** Properties of a {@link CrashplanBundleOutputs}. */
export interface CrashplanBundleOutputsProps {
  /** The certificate to hand to Code42. */
  readonly certificate: IIssuedCertificate;
  /**
   * Length of the PKCS#12 password, from [A-Za-z0-9].
   * @default 32
   */
  readonly passwordLength?: number;
  /**
   * Names of the outputs.
   * @default BUNDLE_OUTPUTS
   */
  readonly outputNames?: BundleOutputNames;
  /**
   * Name of the password resource in the Terraform address, fixed so that a
   * \`moved\` block can name it.
   * @default - derived from the construct path
   */
  readonly resourceName?: string;
}

/**
 * Everything `crashplan.p12` is built from, as Terraform outputs: the admin
 * certificate, its key and chain, and the bundle password. The password is a
 * `random_password` kept by the certificate's serial number, so it stays the
 * same across deploys and changes exactly when the certificate is re-issued.
 */
export class CrashplanBundleOutputs extends Construct {
  /** The PKCS#12 password (sensitive). */
  public readonly password: string;
  /** The underlying `random_password`. */
  public readonly passwordResource: Password;

  public constructor(scope: Construct, id: string, props: CrashplanBundleOutputsProps) {
    super(scope, id);
    const length = props.passwordLength ?? 32;
    if (!Number.isInteger(length) || length < 16 || length > 128) {
      throw new KeystoreValidationError(settingName(this, "passwordLength"), length, "is out of range; expected a whole number from 16 to 128", this.node.path);
    }
    const cert = props.certificate;
    this.passwordResource = new Password(this, "password", {
      length,
      special: false,
      upper: true,
      lower: true,
      numeric: true,
      minUpper: 1,
      minLower: 1,
      minNumeric: 1,
      keepers: { certificate_serial: cert.serialNumber },
    });
    if (props.resourceName !== undefined) this.passwordResource.overrideLogicalId(props.resourceName);
    this.password = this.passwordResource.result;

    const names = props.outputNames ?? BUNDLE_OUTPUTS;
    const output = (name: string, value: unknown, description: string, sensitive = false) =>
      new TerraformOutput(this, name, { value, description, sensitive }).overrideLogicalId(name);
    output(names.certificate, cert.certificatePem, "Admin client certificate (PEM) that crashplanUser trusts");
    output(names.privateKey, cert.privateKeyPem, "Private key of the admin certificate (PEM)", true);
    output(names.caChain, cert.caChainPem, "CA chain of the admin certificate, intermediate first (PEM)");
    output(names.serialNumber, cert.serialNumber, "Serial number of the admin certificate");
    output(names.expiration, cert.expiration, "Expiry of the admin certificate (Unix time)");
    output(names.password, this.password, "Password of crashplan.p12; new whenever the certificate is re-issued", true);
  }
}
