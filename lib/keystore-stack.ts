import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { join } from "node:path";
import { AdminCertificate } from "./admin-certificate";
import { addAdoptionRecord, importInto } from "./adoption";
import { AdoptedCertificate, AdoptionImports, AdoptionInput } from "./adoption-record";
import { FileAuditDevice } from "./audit-device";
import { addAdminCertificates } from "./admin-rotation";
import { RotationInput, RotationMode } from "./admin-rotation-phase";
import { CrashplanBundleOutputs } from "./bundle-outputs";
import { BUNDLE_OUTPUTS } from "./bundle-output-names";
import { IIssuer, IRootCa, IntermediateCa, RootCa } from "./ca-chain";
import { CertAuthBackend, CertLoginRole } from "./cert-auth";
import { CiOidcAuth } from "./ci-oidc";
import { CiProvider } from "./ci-claims";
import { ClusterRecord } from "./cluster-identity";
import { ClusterIdentity } from "./cluster-identity-record";
import { KeystoreConfig } from "./config";
import { DEFAULT_ENGINE_TARGET, EngineTarget, engineLabel } from "./engine-target";
import { KeystoreValidationError } from "./errors";
import { KvV1Mount } from "./kv-mount";
import { TunedPkiMount } from "./pki-mount";
import { IssuingRole } from "./pki-role";
import { CrashplanPolicy } from "./policy";
import { KeystoreProviders } from "./providers";
import { addStateBackend } from "./state-backend";
import { StateEncryption } from "./state-encryption";
import { IssuerGuard } from "./issuer-guard";
import { StateRecords } from "./state-records";

/** Properties of a {@link KeystoreStack}. */
export interface KeystoreStackProps {
  /** The validated configuration. */
  readonly config: KeystoreConfig;
  /**
   * Where a two-phase rotation of the admin certificate stands (the commands
   * read it from the state's `admin_rotation_phase` output).
   * @default { phase: "idle" }
   */
  readonly rotation?: RotationInput;
  /**
   * The engine that will read the JSON: Terraform has no state encryption,
   * and its s3 backend locks only from 1.10.
   * @default - OpenTofu 1.10, the toolchain's engine
   */
  readonly engine?: EngineTarget;
  /**
   * Objects this stack uses as they are instead of creating them (`npm run
   * adopt`; the commands read it from the state's `adoption` output).
   * @default - everything is made by this stack
   */
  readonly adoption?: AdoptionInput;
  /**
   * Existing Vault objects to import into the state with this synth (`import`
   * blocks): only the run that adopts them passes this.
   * @default - none
   */
  readonly imports?: AdoptionImports;
  /**
   * Lets the plan destroy the kv mount and the archive keys in it: only
   * `npm run destroy` passes it, for its one engine run, after counting the
   * keys (and, when there are any, a verified backup and the user's consent).
   * @default false - the mount carries prevent_destroy, whatever door runs the engine
   */
  readonly releaseArchiveKeys?: boolean;
  /**
   * The Vault cluster at VAULT_ADDR, as the command that synthesizes read it
   * (see lib/cluster-identity.ts).
   * @default - the state records the cluster's token auth accessor alone
   */
  readonly cluster?: ClusterIdentity;
  /**
   * `npm run rebind` only: the stack leaves out the check that the engine
   * talks to the cluster the state records (ops/lifecycle/rebind.ts guards the
   * move instead), so that the state can be bound to a restored server.
   * @default false
   */
  readonly rebinding?: boolean;
  /**
   * Whether the state existed when the records above were read from it (see
   * {@link StateRecords}; ignored for the local backend).
   * @default true
   */
  readonly stateExisted?: boolean;
}

/**
 * The Code42 keystore: every step of Code42's Vault recipe, composed from the
 * constructs in this library. Construct ids double as setting names in error
 * messages and must never change: changing one replaces a Vault object.
 */
export class KeystoreStack extends TerraformStack {
  public readonly kv: KvV1Mount;
  /** What the state records, read back by the engine at plan time; a plan synthesized for other records is refused. */
  public readonly stateRecords: StateRecords;
  public readonly certAuth: CertAuthBackend;
  /** The file audit device, with `audit.mode` `enable` only. */
  public readonly audit?: FileAuditDevice;
  /** The root's mount; none when the root CA is outside Vault (`rootCa.external`). */
  public readonly rootPki?: TunedPkiMount;
  public readonly intermediatePki: TunedPkiMount;
  /** The root CA; none when it is outside Vault (`rootCa.external`); an existing issuer when adopted. */
  public readonly rootCa?: RootCa | IRootCa;
  /** The intermediate; an existing issuer when adopted. */
  public readonly intermediateCa: IntermediateCa | IIssuer;
  public readonly policy: CrashplanPolicy;
  /** The issuing side, once the intermediate is signed (always, unless its outside signature is still missing). */
  public readonly role?: IssuingRole;
  /** The certificate Code42 logs in with (during `finishing`, the new one); none while it is an adopted one. */
  public readonly adminCert?: AdminCertificate;
  /** The hand-made admin certificate `crashplanUser` pins until a rotation replaces it (`npm run adopt`). */
  public readonly adoptedAdminCert?: AdoptedCertificate;
  /** The next certificate while a rotation is `started`. */
  public readonly adminCertNext?: AdminCertificate;
  public readonly certRole?: CertLoginRole;
  /** The second login role (`crashplanUser-next`) while a rotation is in progress. */
  public readonly certRoleNext?: CertLoginRole;
  public readonly bundle?: CrashplanBundleOutputs;
  /** The next certificate's bundle outputs while a rotation is `started`. */
  public readonly bundleNext?: CrashplanBundleOutputs;
  /** CI's OIDC login and its plan and apply roles, unless `ci.provider` is `none`. */
  public readonly ci?: CiOidcAuth;
  /** Which Vault cluster the state belongs to. */
  public readonly cluster: ClusterRecord;

  public constructor(scope: Construct, id: string, props: KeystoreStackProps) {
    super(scope, id);
    const c = props.config;
    new KeystoreProviders(this, "providers");
    const engine = props.engine ?? DEFAULT_ENGINE_TARGET;
    const backend = addStateBackend(this, c.backend, join(c.stateDir, `${id}.tfstate`), engine);
    if (c.stateEncryption.enabled) {
      if (engine.kind !== "tofu") {
        // Before anything runs: Terraform would refuse the block at init, or with a bare config write the state in clear.
        throw new KeystoreValidationError(
          "engine",
          engineLabel(engine),
          "cannot encrypt the state: C42_STATE_PASSPHRASE is set, and state and plan encryption is an OpenTofu feature; " +
            "expected OpenTofu 1.10 or later (engine, C42_ENGINE; for cdktf TERRAFORM_BINARY_NAME), or C42_STATE_PASSPHRASE unset",
          this.node.path,
        );
      }
      new StateEncryption(this, "stateEncryption", { rotating: c.stateEncryption.rotating, migrateFromPlain: c.stateEncryption.migrateFromPlain });
    }
    this.stateRecords = new StateRecords(this, "stateRecords", { backend, rotation: props.rotation, stateExisted: props.stateExisted });

    this.cluster = new ClusterRecord(this, "cluster", { known: props.cluster });
    // A plan against another cluster fails inside the engine, whoever runs it (issue 29).
    if (!props.rebinding) this.stateRecords.addCheck(this.cluster.sameClusterCheck());
    this.kv = new KvV1Mount(this, "kv", { path: c.kv.path, preventDestroy: !props.releaseArchiveKeys });
    this.certAuth = new CertAuthBackend(this, "certAuth", c.certAuth);
    if (c.audit.mode === "enable") this.audit = new FileAuditDevice(this, "audit", { filePath: c.audit.filePath });
    const urls = { publicUrl: c.publicUrl, allowInsecureHttp: c.allowInsecureHttp };
    // With the root outside Vault, the intermediate's key is what its signature
    // binds to: losing the mount or the key needs a new signature by that root.
    const external = c.rootCa.external;
    const adoption = props.adoption ?? {};
    if (external && adoption.rootIssuerId !== undefined) {
      throw new KeystoreValidationError(
        "rootCa.external",
        true,
        `is set, but the state records a root CA adopted on ${c.pki.path}; expected rootCa.external false for an adopted keystore`,
      );
    }
    // An adopted intermediate cannot be made again by this stack: its mount is protected like the root's.
    const protectIntermediate = (external || adoption.intermediateIssuerId !== undefined) && c.rootCa.preventDestroy;
    if (!external) {
      this.rootPki = new TunedPkiMount(this, "pki", { ...c.pki, ...urls, preventDestroy: c.rootCa.preventDestroy });
    }
    this.intermediatePki = new TunedPkiMount(this, "pki_int", { ...c.pki_int, ...urls, preventDestroy: protectIntermediate });
    if (this.rootPki) {
      this.rootCa =
        adoption.rootIssuerId !== undefined
          ? RootCa.fromIssuer(this, "rootCa", { mount: this.rootPki, issuerRef: adoption.rootIssuerId })
          : new RootCa(this, "rootCa", { mount: this.rootPki, ...c.rootCa });
    }
    this.intermediateCa =
      adoption.intermediateIssuerId !== undefined
        ? IntermediateCa.fromMount(this, "intermediateCa", { mount: this.intermediatePki })
        : new IntermediateCa(this, "intermediateCa", {
            mount: this.intermediatePki,
            root: this.rootCa,
            ...c.intermediateCa,
            preventDestroy: external && c.rootCa.preventDestroy,
          });
    this.guardIssuers();
    const issuing = !(this.intermediateCa instanceof IntermediateCa) || this.intermediateCa.signed !== undefined;
    if (issuing) {
      this.role = new IssuingRole(this, "role", { issuer: this.intermediateCa, name: c.role.name });
    }
    this.policy = new CrashplanPolicy(this, "policy", {
      issuingMount: this.rootPki,
      certAuth: this.certAuth,
      name: c.policy.name,
      extraPaths: [...c.policy.extraPaths],
    });
    if (this.role) {
      const { rotation: mode, ...certificate } = c.adminCert;
      const admin = addAdminCertificates(this, {
        certificate: { role: this.role, ...certificate },
        login: { backend: this.certAuth, policies: [this.policy], ...c.certRole },
        mode: mode as RotationMode,
        rotation: props.rotation,
        adopted:
          adoption.adminCertificatePem === undefined ? undefined : AdoptedCertificate.fromPem("adoption.adminCertificatePem", adoption.adminCertificatePem),
      });
      this.adminCert = admin.current;
      this.adoptedAdminCert = admin.adopted;
      this.adminCertNext = admin.next;
      this.certRole = admin.certRole;
      this.certRoleNext = admin.certRoleNext;
      this.bundle = admin.bundle;
      this.bundleNext = admin.bundleNext;
    }
    if (c.ci.provider !== "none") {
      const { provider, ...ci } = c.ci;
      this.ci = new CiOidcAuth(this, "ci", {
        ...ci,
        provider: provider as CiProvider,
        targets: {
          secretMounts: [this.kv.path, ...(this.rootPki ? [this.rootPki.path] : []), this.intermediatePki.path],
          rootPki: this.rootPki?.path,
          intermediatePki: this.intermediatePki.path,
          pkiRoleName: c.role.name,
          certAuthPath: this.certAuth.path,
          certRoleName: c.certRole.name,
          crashplanPolicyName: this.policy.policyName,
          auditMode: c.audit.mode,
          auditDevicePath: this.audit?.path,
        },
      });
    }
    // The adopted certificate leaves the record once a rotation retired it.
    addAdoptionRecord(this, { ...adoption, adminCertificatePem: this.adoptedAdminCert?.certificatePem });
    if (props.imports) {
      importInto(
        {
          kv: this.kv.mount,
          certAuth: this.certAuth.backend,
          pki: this.rootPki?.mount,
          pkiUrls: this.rootPki?.urls,
          pki_int: this.intermediatePki.mount,
          pki_intUrls: this.intermediatePki.urls,
          role: this.role?.role,
          policy: this.policy.policy,
        },
        props.imports,
      );
    }
  }

  /**
   * Refuses, inside the engine, a plan that makes a CA on a mount holding an
   * issuer the state does not record (see lib/issuer-guard.ts): whoever runs
   * the engine, Vault would add a second CA issuer there. The state's record is
   * read back with the other records (lib/state-records.ts); a JSON that reads
   * nothing back (a remote backend's, synthesized before its first apply)
   * carries the record but no refusal, since a second first deploy applied
   * after the first would be refused for the first one's issuers.
   */
  private guardIssuers(): void {
    const records = {
      records: this.stateRecords,
      presentSinceFirstApply: BUNDLE_OUTPUTS.certificate,
    };
    if (this.rootCa instanceof RootCa) {
      const guard = new IssuerGuard(this, "rootIssuers", { mount: this.rootCa.mount, output: "ca_root_issuer_ids", ...records });
      if (this.stateRecords.readsBack) guard.guard(this.rootCa.certificate, "a root CA");
      guard.record(`[${this.rootCa.certificate.fqn}.issuer_id]`);
    }
    if (this.intermediateCa instanceof IntermediateCa) {
      const guard = new IssuerGuard(this, "intermediateIssuers", { mount: this.intermediateCa.mount, output: "ca_intermediate_issuer_ids", ...records });
      if (this.stateRecords.readsBack) guard.guard(this.intermediateCa.request, "an intermediate CA (a new key)");
      if (this.intermediateCa.signed) guard.record(`${this.intermediateCa.signed.fqn}.imported_issuers`);
    }
  }
}
