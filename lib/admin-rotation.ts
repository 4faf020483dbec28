import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { AdminCertificate, AdminCertificateProps } from "./admin-certificate";
import { guardLiveLogin } from "./admin-rotation-guards";
import { NEXT_ROLE_SUFFIX, ROTATION_OUTPUT, RotationInput, RotationMode } from "./admin-rotation-phase";
import { AdoptedCertificate } from "./adoption-record";
import { CrashplanBundleOutputs } from "./bundle-outputs";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "./bundle-output-names";
import { CertLoginRole, CertLoginRoleProps } from "./cert-auth";
import { KeystoreValidationError } from "./errors";
import { MAX_NAME_LENGTH } from "./validation";

/**
 * Fixed addresses of the next slot's resources. The current slot keeps the
 * ids it always had (`adminCert`, `bundle`, `certRole`), so existing states
 * are untouched; the next slot's objects are moved onto those addresses when
 * a rotation completes.
 */
export const NEXT_SLOT_ADDRESSES = {
  certificate: "vault_pki_secret_backend_cert.admin_cert_next",
  password: "random_password.bundle_password_next",
  role: "vault_cert_auth_backend_role.cert_role_next",
} as const;

/** Properties of {@link addAdminCertificates}. */
export interface AdminCertificatesProps {
  /** What every certificate is issued with (`adminCert.*`). */
  readonly certificate: Omit<AdminCertificateProps, "autoRenew">;
  /** The login role (`certRole.*`) and what it grants; the next role copies it. */
  readonly login: Omit<CertLoginRoleProps, "certificate">;
  /**
   * How a deploy inside the window renews: `one-step` lets the provider
   * re-issue the current certificate in place (Code42 is locked out until the
   * new bundle is uploaded); `two-phase` never re-issues it in place, nor
   * replaces it or `crashplanUser` for a config edit (the plan is refused and
   * names `rotate start`; see {@link guardLiveLogin}).
   * @default "two-phase"
   */
  readonly mode?: RotationMode;
  /**
   * Where the rotation stands.
   * @default { phase: "idle" }
   */
  readonly rotation?: RotationInput;
  /**
   * The certificate `crashplanUser` pinned before this stack existed (`npm run
   * adopt`): it stays in the current slot, without key or bundle password,
   * until a rotation moves Code42 to a managed certificate.
   * @default - the current certificate is issued by this stack
   */
  readonly adopted?: AdoptedCertificate;
}

/** What {@link addAdminCertificates} made. */
export interface AdminCertificates {
  /** The certificate `crashplanUser` pins: the one Code42 logs in with now (in `finishing`, the new one); undefined while it is an adopted one. */
  readonly current?: AdminCertificate;
  /** The adopted certificate `crashplanUser` still pins (idle or started); gone once a rotation finished. */
  readonly adopted?: AdoptedCertificate;
  /** The next certificate, while a rotation is `started`. */
  readonly next?: AdminCertificate;
  /** `crashplanUser`. */
  readonly certRole: CertLoginRole;
  /** `crashplanUser-next`, while a rotation is in progress. */
  readonly certRoleNext?: CertLoginRole;
  /** Outputs of the current certificate's bundle; undefined while the current certificate is an adopted one (no key in the state). */
  readonly bundle?: CrashplanBundleOutputs;
  /** Outputs of the next certificate's bundle, while a rotation is `started`. */
  readonly bundleNext?: CrashplanBundleOutputs;
}

/**
 * The admin certificate, its login role and bundle outputs in two slots, so
 * that a rotation never leaves a certificate Code42 may use without a role
 * that pins it. The construct ids are the stack's own (`adminCert`,
 * `certRole`, `bundle`; `adminCertNext`, `certRoleNext`, `bundleNext`): they
 * are part of every existing state's addresses and must not move under a
 * parent construct.
 *
 * Roles pin one certificate each: OpenBao compares only the first certificate
 * of a role's PEM, and a new `certificate` or `name` replaces the role
 * (delete, then create). So the login role is only ever re-pointed at a
 * certificate another role already pins (`finishing`), and the second role is
 * removed only once the first pins the new certificate.
 */
export function addAdminCertificates(scope: Construct, props: AdminCertificatesProps): AdminCertificates {
  const mode = props.mode ?? "two-phase";
  const phase = props.rotation?.phase ?? "idle";
  const recorded = props.rotation?.recorded ?? phase;
  const roleName = props.login.name ?? "crashplanUser";
  if (roleName.length > MAX_NAME_LENGTH - NEXT_ROLE_SUFFIX.length) {
    throw new KeystoreValidationError(
      "certRole.name",
      roleName,
      `is too long for a rotation; expected at most ${MAX_NAME_LENGTH - NEXT_ROLE_SUFFIX.length} characters (a rotation adds a role named "<name>${NEXT_ROLE_SUFFIX}")`,
    );
  }
  const issue = (id: string, resourceName?: string) =>
    new AdminCertificate(scope, id, { ...props.certificate, settingsSection: "adminCert", autoRenew: mode === "one-step" && phase === "idle", resourceName });

  // In `finishing` the current certificate is gone and the next one is the
  // only one: its bundle outputs are the current bundle's. An adopted
  // certificate holds the current slot until then.
  const adopted = phase === "finishing" ? undefined : props.adopted;
  if (adopted) addAdoptedCertificateOutputs(scope, adopted);
  const current = phase === "finishing" || adopted ? undefined : issue("adminCert");
  const bundle = current ? new CrashplanBundleOutputs(scope, "bundle", { certificate: current }) : undefined;
  if (current && bundle && recorded === "finishing") {
    current.certificate.moveFromId(NEXT_SLOT_ADDRESSES.certificate);
    bundle.passwordResource.moveFromId(NEXT_SLOT_ADDRESSES.password);
  }
  let next: { certificate: AdminCertificate; bundle: CrashplanBundleOutputs; role: CertLoginRole } | undefined;
  if (phase !== "idle") {
    const certificate = issue("adminCertNext", localName(NEXT_SLOT_ADDRESSES.certificate));
    const nextBundle = new CrashplanBundleOutputs(scope, "bundleNext", {
      certificate,
      outputNames: current || adopted ? NEXT_BUNDLE_OUTPUTS : BUNDLE_OUTPUTS,
      resourceName: localName(NEXT_SLOT_ADDRESSES.password),
    });
    const role = new CertLoginRole(scope, "certRoleNext", {
      ...props.login,
      name: `${roleName}${NEXT_ROLE_SUFFIX}`,
      certificate,
      resourceName: localName(NEXT_SLOT_ADDRESSES.role),
      settingsSection: "certRole",
    });
    next = { certificate, bundle: nextBundle, role };
  }
  const pinned = adopted ?? current ?? next?.certificate;
  const pinnedBundle = bundle ?? (adopted ? undefined : next?.bundle);
  if (!pinned) throw new Error(`rotation phase ${phase}: no certificate to pin`);
  const certRole = new CertLoginRole(scope, "certRole", { ...props.login, certificate: pinned });
  if (mode === "two-phase") {
    guardLiveLogin({ phase, recorded, current, next: next?.certificate, certRole, certRoleNext: next?.role, certAuth: props.login.backend });
  }
  new TerraformOutput(scope, ROTATION_OUTPUT, {
    value: phase,
    description: "Where a two-phase rotation of the admin certificate stands: idle, started or finishing",
  }).overrideLogicalId(ROTATION_OUTPUT);
  return {
    current: current ?? (adopted ? undefined : next?.certificate),
    adopted,
    next: current || adopted ? next?.certificate : undefined,
    certRole,
    certRoleNext: next?.role,
    bundle: pinnedBundle,
    bundleNext: current || adopted ? next?.bundle : undefined,
  };
}

/**
 * The outputs of an adopted certificate that need no secret: its PEM, serial
 * and expiry, under the current bundle's names, so that status, health and
 * the renewal window see it. There is no key or password output: `bundle`
 * says the existing crashplan.p12 stays in use.
 */
function addAdoptedCertificateOutputs(scope: Construct, adopted: AdoptedCertificate): void {
  const output = (name: string, value: unknown, description: string) => new TerraformOutput(scope, name, { value, description }).overrideLogicalId(name);
  output(BUNDLE_OUTPUTS.certificate, adopted.certificatePem, "Admin client certificate (PEM) that crashplanUser trusts: adopted, made outside this stack");
  output(BUNDLE_OUTPUTS.serialNumber, adopted.serialNumber, "Serial number of the admin certificate (adopted)");
  output(BUNDLE_OUTPUTS.expiration, adopted.expiration, "Expiry of the admin certificate (Unix time; adopted)");
}

function localName(address: string): string {
  return address.slice(address.indexOf(".") + 1);
}
