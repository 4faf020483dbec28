import { X509Certificate } from "node:crypto";
import { AdoptionImports, AdoptionInput } from "../../lib/adoption-record";
import { KeystoreConfig } from "../../lib/config";
import { formatHours, parseDuration } from "../../lib/duration";
import { renderPolicy } from "../../lib/policy-document";
import { colonHex } from "../common/serial";
import { Deployment } from "../engine/deployment";
import {
  CertRoleInfo,
  IssuerInfo,
  MountInfo,
  readCertRole,
  readDefaultIssuer,
  readIssuer,
  readKeys,
  readMounts,
  readRole,
  readUrls,
} from "../vault/adoption-readers";
import { VaultAnswer, VaultCall, VaultEndpoint, endpointFromEnv, vaultCall, vaultToken } from "../vault/client";
import { readCertificatePem } from "../vault/backup-readers";
import { readPolicy, readTune, requireSuccess } from "../vault/readers";

/*
 * What `npm run adopt` looks at before it takes anything over (issue 23: files with one job): the server read by
 * the configured paths and names, what adopt would take over, what it leaves alone, and how Vault differs from
 * the configuration. Reads only. Taking over is ops/lifecycle/adopt.ts.
 */

/** One object Code42's recipe makes, looked up by the configured path or name. */
export interface FoundObject {
  /** The stack part, as settings name it: kv, certAuth, pki, rootCa, pki_int, intermediateCa, role, policy, certRole. */
  readonly part: string;
  /** Where it is in Vault, e.g. "secret/" or "pki_int/roles/cpRole". */
  readonly where: string;
  readonly exists: boolean;
  /** What adopt does with it, for people. */
  readonly action: string;
}

/** A value in Vault that differs from the configuration. */
export interface AdoptionDifference {
  /** The setting, e.g. "pki.maxLeaseTtl" or "policy.name (text)". */
  readonly setting: string;
  readonly inVault: string;
  readonly configured: string;
  /** True when taking it over changes what Code42 or a certificate sees: it is rewritten only after confirmation. */
  readonly changesBehaviour: boolean;
  /** What adopt does about it. */
  readonly effect: string;
}

/** What {@link inspectForAdoption} found on the server. */
export interface AdoptionFindings {
  /** Each object the stack manages, found or not. */
  readonly objects: readonly FoundObject[];
  /** What exists on the server and adopt leaves alone. */
  readonly leftAlone: readonly string[];
  /** Differences from the configuration. */
  readonly differences: readonly AdoptionDifference[];
  /** Reasons adoption cannot go on (nothing is changed while there is one). */
  readonly blockers: readonly string[];
  /**
   * What the stack will use as it is (the state records it). The certificate
   * `crashplanUser` pins is in `adminCertificatePem`: kept because its key is
   * in a hand-made crashplan.p12. A caller whose certificate has no key
   * anywhere (an interrupted deploy lost it with its state) drops it, and the
   * stack issues a managed one: `{ ...findings, adoption: { ...findings.adoption, adminCertificatePem: undefined } }`.
   */
  readonly adoption: AdoptionInput;
  /** What the adopting apply imports into the state. */
  readonly imports: AdoptionImports;
  /** Serials (Vault's `1a:2b:…` form) of the CAs and the admin certificate found. */
  readonly serials: { readonly root?: string; readonly intermediate?: string; readonly adminCert?: string };
  /**
   * Issuers holding a key in each PKI mount: the CAs of the mount (1 each for a
   * keystore built by the recipe; a second one means a second root or
   * intermediate was generated). Chain certificates without a key, which
   * set-signed imports beside the intermediate, are not counted.
   */
  readonly issuerCounts: { readonly pki: number; readonly pki_int: number };
}

/** Options of {@link inspectForAdoption}. */
export interface InspectOptions {
  /**
   * Take over PKI mounts that do not look like the recipe's (another root name, roles or certificates the
   * recipe does not make) instead of refusing them: the operator says these mounts are the keystore's.
   * @default false
   */
  readonly takeOverPki?: boolean;
}

/** The flag that takes over a PKI mount that does not look like the recipe's. */
export const TAKE_OVER_PKI_FLAG = "--take-over-pki";

/**
 * Looks at the server by the configured paths and names (kv `secret`, cert
 * auth, `pki`, `pki_int`, cpRole, crashplanPolicy, crashplanUser) and says
 * what adopt would take over, what it leaves alone, and how Vault differs from
 * the configuration. Reads only; needs a token that may read the mounts, the
 * PKI issuers and roles, the policy and the cert role.
 */
export async function inspectForAdoption(deployment: Deployment, options: InspectOptions = {}): Promise<AdoptionFindings> {
  const endpoint = endpointFromEnv(deployment.env);
  const inspection = new Inspection(deployment.config, options, endpoint, vaultToken(deployment.env));
  return inspection.run();
}

/** What a differing value does when adopt takes it over. */
const REWRITE = "rewritten to the configured value when you confirm the plan";

/** A CA found on a PKI mount: the issuer Vault lists and its certificate. */
interface FoundCa {
  readonly info: IssuerInfo;
  readonly cert: X509Certificate;
}

/**
 * One inspection: a step per part of the recipe, in the order the findings are
 * reported (kv, cert auth, root, intermediate, role, the root mount's
 * foreignness, policy, cert role, what else is there). Each step reads Vault
 * and adds to the findings; nothing is written.
 */
class Inspection {
  private readonly objects: FoundObject[] = [];
  private readonly leftAlone: string[] = [];
  private readonly differences: AdoptionDifference[] = [];
  private readonly blockers: string[] = [];
  private readonly imports: { -readonly [K in keyof AdoptionImports]: AdoptionImports[K] } = {};
  private readonly adoption: { -readonly [K in keyof AdoptionInput]: AdoptionInput[K] } = {};
  private readonly serials: { root?: string; intermediate?: string; adminCert?: string } = {};
  private readonly issuerCounts = { pki: 0, pki_int: 0 };
  private mounts = new Map<string, MountInfo>();
  private auths = new Map<string, MountInfo>();
  private root?: FoundCa;
  private intermediate?: FoundCa;

  constructor(
    private readonly c: KeystoreConfig,
    private readonly options: InspectOptions,
    private readonly endpoint: VaultEndpoint,
    private readonly token: string,
  ) {}

  public async run(): Promise<AdoptionFindings> {
    this.mounts = readMounts(requireSuccess(await this.call("sys/mounts"), "reading sys/mounts"), "sys/mounts");
    this.auths = readMounts(requireSuccess(await this.call("sys/auth"), "reading sys/auth"), "sys/auth");
    const kv = this.kv();
    const cert = await this.certAuth();
    if (!this.c.rootCa.external) await this.rootCa();
    else if (this.mounts.has(this.c.pki.path)) this.leftAlone.push(`${this.c.pki.path}/: rootCa.external is set, so the stack has no root mount`);
    await this.intermediateCa();
    await this.role();
    await this.rootMountIsTheRecipes();
    await this.policy();
    if (cert?.type === "cert") await this.certRole();
    this.otherMounts(kv);
    const { objects, leftAlone, differences, blockers, adoption, imports, serials, issuerCounts } = this;
    return { objects, leftAlone, differences, blockers, adoption, imports, serials, issuerCounts };
  }

  private call(path: string, method: VaultCall["method"] = "GET"): Promise<VaultAnswer> {
    return vaultCall(this.endpoint, { path, method, token: this.token });
  }

  private async get(path: string): Promise<VaultAnswer | undefined> {
    const answer = await this.call(path);
    if (answer.status === 404) return undefined;
    return requireSuccess(answer, `reading ${path}`);
  }

  private async list(path: string): Promise<string[]> {
    return readKeys(requireOk404(await this.call(path, "LIST"), `listing ${path}`), path);
  }

  private differ(setting: string, inVault: string, configured: string, changesBehaviour: boolean, effect: string): void {
    this.differences.push({ setting, inVault, configured, changesBehaviour, effect });
  }

  /** Adopting a mount another team uses would sign the intermediate with their root and rewrite their URLs. */
  private notTheRecipes(what: string): void {
    if (this.options.takeOverPki) this.leftAlone.push(`${what}: taken over all the same, as ${TAKE_OVER_PKI_FLAG} asks`);
    else
      this.blockers.push(
        `${what}. Adopting it would sign with it and rewrite its URLs: check pki.path and pki_int.path, or pass ${TAKE_OVER_PKI_FLAG} if this mount is the keystore's`,
      );
  }

  private kv(): MountInfo | undefined {
    const c = this.c;
    const kv = this.mounts.get(c.kv.path);
    if (kv && (kv.type !== "kv" || (kv.version ?? "1") !== "1")) {
      this.blockers.push(
        `kv.path: ${c.kv.path}/ is a ${kv.type}${kv.version ? ` version ${kv.version}` : ""} mount; Code42 needs kv version 1 there and adopt never replaces a mount`,
      );
    }
    this.objects.push({
      part: "kv",
      where: `${c.kv.path}/`,
      exists: kv !== undefined,
      action: kv ? "import (its secrets are never read or changed)" : "create",
    });
    if (kv) this.imports.kv = c.kv.path;
    return kv;
  }

  private async certAuth(): Promise<MountInfo | undefined> {
    const c = this.c;
    const cert = this.auths.get(c.certAuth.path);
    if (cert && cert.type !== "cert")
      this.blockers.push(`certAuth.path: auth/${c.certAuth.path}/ is a ${cert.type} auth method, not cert; adopt never replaces an auth method`);
    this.objects.push({ part: "certAuth", where: `auth/${c.certAuth.path}/`, exists: cert !== undefined, action: cert ? "import" : "create" });
    if (cert?.type === "cert") {
      this.imports.certAuth = c.certAuth.path;
      const tune = readTune(requireSuccess(await this.call(`sys/auth/${c.certAuth.path}/tune`), "reading the cert auth tune"));
      const configured = parseDuration("certAuth.defaultLeaseTtl", c.certAuth.defaultLeaseTtl);
      if (tune.defaultLeaseTtl !== configured) {
        this.differ("certAuth.defaultLeaseTtl", `${tune.defaultLeaseTtl}s`, `${configured}s`, true, `${REWRITE} (the default lease of certificate logins)`);
      }
    }
    return cert;
  }

  /** A PKI mount, its tune, its URLs and its issuers (`undefined`: no PKI mount at `path`). */
  private async pkiMount(part: "pki" | "pki_int", path: string, maxLeaseTtl: string): Promise<IssuerInfo[] | undefined> {
    const mount = this.mounts.get(path);
    this.objects.push({ part, where: `${path}/`, exists: mount !== undefined, action: mount ? "import (the mount and its URLs; never replaced)" : "create" });
    if (!mount) return undefined;
    if (mount.type !== "pki") {
      this.blockers.push(`${part}.path: ${path}/ is a ${mount.type} mount, not pki; adopt never replaces a mount`);
      return undefined;
    }
    this.imports[part] = path;
    this.imports[part === "pki" ? "pkiUrls" : "pki_intUrls"] = `${path}/config/urls`;
    const tune = readTune(requireSuccess(await this.call(`sys/mounts/${path}/tune`), `reading the ${path} tune`));
    const configured = parseDuration(`${part}.maxLeaseTtl`, maxLeaseTtl);
    if (tune.maxLeaseTtl !== configured) {
      this.differ(`${part}.maxLeaseTtl`, formatHours(tune.maxLeaseTtl), formatHours(configured), true, `${REWRITE} (the longest certificate ${path} issues)`);
    }
    const urls = readUrls(await this.call(`${path}/config/urls`), `${path}/config/urls`);
    const base = this.c.publicUrl.replace(/\/+$/, "");
    const want = { issuing: `${base}/v1/${path}/ca`, crl: `${base}/v1/${path}/crl` };
    const urlEffect = `${REWRITE} (goes into certificates ${path} issues from then on; certificates already issued keep theirs); set publicUrl to keep the server's`;
    if (urls.issuingCertificates.join(",") !== want.issuing) {
      this.differ(`publicUrl (${path} issuing_certificates)`, urls.issuingCertificates.join(",") || "(none)", want.issuing, true, urlEffect);
    }
    if (urls.crlDistributionPoints.join(",") !== want.crl) {
      this.differ(`publicUrl (${path} crl_distribution_points)`, urls.crlDistributionPoints.join(",") || "(none)", want.crl, true, urlEffect);
    }
    const issuers: IssuerInfo[] = [];
    for (const id of await this.list(`${path}/issuers`)) {
      const answer = await this.get(`${path}/issuer/${id}`);
      if (answer) issuers.push(readIssuer(answer, `${path}/issuer`));
    }
    return issuers;
  }

  /** The mount's default issuer (the only one, when there is one and no default); the others are left alone. */
  private async defaultIssuerOf(path: string, issuers: IssuerInfo[]): Promise<IssuerInfo | undefined> {
    if (issuers.length === 0) return undefined;
    const id = readDefaultIssuer(await this.call(`${path}/config/issuers`), `${path}/config/issuers`);
    const chosen = issuers.find((i) => i.issuerId === id) ?? (issuers.length === 1 ? issuers[0] : undefined);
    for (const other of issuers) {
      if (other === chosen) continue;
      const cn = /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(other.certificatePem).subject)?.[1] ?? "?";
      this.leftAlone.push(
        `${path} issuer ${other.issuerId} (CN=${cn}, ${other.keyId ? "with a key" : "a chain certificate without a key"}): not the default issuer`,
      );
    }
    return chosen;
  }

  private async rootCa(): Promise<void> {
    const c = this.c;
    const issuers = await this.pkiMount("pki", c.pki.path, c.pki.maxLeaseTtl);
    this.issuerCounts.pki = issuers?.filter((i) => i.keyId).length ?? 0;
    const chosen = issuers ? await this.defaultIssuerOf(c.pki.path, issuers) : undefined;
    if (issuers && issuers.length > 0 && !chosen)
      this.blockers.push(
        `pki.path: ${c.pki.path}/ holds ${issuers.length} issuers and none is the default; set its default issuer to the root CA Code42 trusts`,
      );
    if (chosen) {
      const cert = new X509Certificate(chosen.certificatePem);
      if (!cert.checkIssued(cert))
        this.blockers.push(
          `pki.path: the default issuer of ${c.pki.path}/ (${chosen.issuerId}) is not a self-signed root CA (subject ${cert.subject.replace(/\n/g, ", ")})`,
        );
      if (!chosen.keyId)
        this.blockers.push(`pki.path: the default issuer of ${c.pki.path}/ (${chosen.issuerId}) has no key in the mount; it cannot sign the intermediate`);
      this.root = { info: chosen, cert };
      this.adoption.rootIssuerId = chosen.issuerId;
      this.serials.root = colonHex(cert.serialNumber);
      describeCa("rootCa", c.rootCa.commonName, c.rootCa.ttl, cert, (...d) => this.differ(...d));
    }
    this.objects.push({
      part: "rootCa",
      where: `${c.pki.path}/ issuer ${chosen?.issuerId ?? "(none)"}`,
      exists: chosen !== undefined,
      action: chosen ? `use as it is (serial ${this.serials.root}); never generated again` : "generate",
    });
  }

  private async intermediateCa(): Promise<void> {
    const c = this.c;
    const root = this.root;
    const intIssuers = await this.pkiMount("pki_int", c.pki_int.path, c.pki_int.maxLeaseTtl);
    this.issuerCounts.pki_int = intIssuers?.filter((i) => i.keyId).length ?? 0;
    const intChosen = intIssuers ? await this.defaultIssuerOf(c.pki_int.path, intIssuers) : undefined;
    if (intIssuers && intIssuers.length > 0 && !intChosen) {
      this.blockers.push(
        `pki_int.path: ${c.pki_int.path}/ holds ${intIssuers.length} issuers and none is the default; set its default issuer to the intermediate that issued the admin certificate`,
      );
    }
    if (intChosen) {
      const cert = new X509Certificate(intChosen.certificatePem);
      if (!intChosen.keyId)
        this.blockers.push(
          `pki_int.path: the default issuer of ${c.pki_int.path}/ (${intChosen.issuerId}) has no key in the mount; nothing can be issued from it`,
        );
      if (root && !cert.checkIssued(root.cert)) {
        this.blockers.push(
          `pki_int.path: the intermediate of ${c.pki_int.path}/ (${intChosen.issuerId}) was not signed by the root on ${c.pki.path}/ (${root.info.issuerId})`,
        );
      } else if (root && !cert.verify(root.cert.publicKey)) {
        this.blockers.push(`pki_int.path: the intermediate's signature does not verify with the key of the root on ${c.pki.path}/`);
      }
      this.intermediate = { info: intChosen, cert };
      this.adoption.intermediateIssuerId = intChosen.issuerId;
      this.serials.intermediate = colonHex(cert.serialNumber);
      describeCa("intermediateCa", c.intermediateCa.commonName, c.intermediateCa.ttl, cert, (...d) => this.differ(...d));
      const left = Date.parse(cert.validTo) - Date.now();
      const adminTtl = parseDuration("adminCert.ttl", c.adminCert.ttl) * 1000;
      if (adminTtl > left) {
        this.differ(
          "adminCert.ttl",
          `the intermediate expires ${new Date(cert.validTo).toISOString()}`,
          c.adminCert.ttl,
          true,
          "kept: Vault refuses to issue past the intermediate's expiry, so a rotation fails until adminCert.ttl fits",
        );
      }
    }
    this.objects.push({
      part: "intermediateCa",
      where: `${c.pki_int.path}/ issuer ${intChosen?.issuerId ?? "(none)"}`,
      exists: intChosen !== undefined,
      action: intChosen ? `use as it is (serial ${this.serials.intermediate}); never generated again` : "generate",
    });
  }

  /** cpRole, and any other role on the intermediate mount. */
  private async role(): Promise<void> {
    const c = this.c;
    if (this.mounts.get(c.pki_int.path)?.type !== "pki") return;
    const roleAnswer = await this.get(`${c.pki_int.path}/roles/${c.role.name}`);
    this.objects.push({
      part: "role",
      where: `${c.pki_int.path}/roles/${c.role.name}`,
      exists: roleAnswer !== undefined,
      action: roleAnswer ? "import" : "create",
    });
    if (roleAnswer) {
      this.imports.role = `${c.pki_int.path}/roles/${c.role.name}`;
      const role = readRole(roleAnswer, "pki role");
      for (const flag of ["allow_any_name", "allow_subdomains", "client_flag"]) {
        if (role[flag] !== true) this.differ(`role.name (${c.role.name} ${flag})`, String(role[flag]), "true", true, REWRITE);
      }
    }
    const otherRoles = (await this.list(`${c.pki_int.path}/roles`)).filter((other) => other !== c.role.name);
    // The certificates pki_int issues are the admin certificates through the recipe's role: their names are Code42's choice, so they are not told apart.
    if (otherRoles.length > 0)
      this.notTheRecipes(`pki_int.path: ${c.pki_int.path}/ holds role(s) the recipe does not make (${otherRoles.join(", ")}; it makes ${c.role.name} only)`);
  }

  /** The root mount: the recipe makes its root (named rootCa.commonName) and signs the intermediate with it; nothing else. */
  private async rootMountIsTheRecipes(): Promise<void> {
    const c = this.c;
    if (c.rootCa.external || this.mounts.get(c.pki.path)?.type !== "pki") return;
    const root = this.root;
    const foreign: string[] = [];
    const rootCn = root ? commonNameOf(root.cert) : undefined;
    if (root && rootCn !== c.rootCa.commonName)
      foreign.push(`its root CA is "${rootCn}" (subject ${root.cert.subject.replace(/\n/g, ", ")}), not rootCa.commonName "${c.rootCa.commonName}"`);
    const roles = await this.list(`${c.pki.path}/roles`);
    if (roles.length > 0) foreign.push(`it holds role(s) ${roles.join(", ")}, and the recipe makes none on the root mount`);
    const issued = await foreignCertificates(
      c.pki.path,
      (path) => this.list(path),
      (path) => this.get(path),
      (cert) => {
        const serial = colonHex(cert.serialNumber);
        if (serial === this.serials.root) return true;
        // The intermediate the root signed: the one on pki_int, or one named as the recipe names it.
        return cert.ca && (serial === this.serials.intermediate || commonNameOf(cert) === c.intermediateCa.commonName);
      },
    );
    if (issued.length > 0) foreign.push(`it issued certificate(s) the recipe does not make: ${issued.join("; ")}`);
    if (foreign.length > 0) this.notTheRecipes(`pki.path: ${c.pki.path}/ does not look like the recipe's root mount: ${foreign.join("; ")}`);
  }

  /** crashplanPolicy, and the other ACL policies (left alone). */
  private async policy(): Promise<void> {
    const c = this.c;
    const policyAnswer = await this.get(`sys/policies/acl/${c.policy.name}`);
    this.objects.push({
      part: "policy",
      where: `sys/policies/acl/${c.policy.name}`,
      exists: policyAnswer !== undefined,
      action: policyAnswer ? "import" : "create",
    });
    if (policyAnswer) {
      this.imports.policy = c.policy.name;
      const inVault = readPolicy(policyAnswer);
      const paths = [...(c.rootCa.external ? [] : [`${c.pki.path}/issue/*`]), "sys/policy/*", `auth/${c.certAuth.path}/certs/*`, ...c.policy.extraPaths];
      const configured = renderPolicy(paths);
      if (normalizePolicy(inVault) !== normalizePolicy(configured)) {
        const granted = policyGrants(inVault);
        const wanted = policyGrants(configured);
        const added = wanted.filter((g) => !granted.includes(g));
        const removed = granted.filter((g) => !wanted.includes(g));
        const what =
          added.length + removed.length === 0
            ? "same grants, other text"
            : `${added
                .map((g) => `+ ${g}`)
                .concat(removed.map((g) => `- ${g}`))
                .join("; ")}`;
        this.differ(
          `policy.name (${c.policy.name} text)`,
          what,
          `${paths.length} paths with ${"create, read, update, delete, list"}`,
          added.length + removed.length > 0,
          REWRITE,
        );
      }
    }
    for (const other of await this.list("sys/policies/acl")) {
      if (other !== c.policy.name.toLowerCase() && other !== c.policy.name && other !== "default" && other !== "root") this.leftAlone.push(`policy ${other}`);
    }
  }

  /** crashplanUser and the hand-made admin certificate it pins; other cert roles are left alone. */
  private async certRole(): Promise<void> {
    const c = this.c;
    const certRoleAnswer = await this.get(`auth/${c.certAuth.path}/certs/${c.certRole.name}`);
    let info: CertRoleInfo | undefined;
    if (certRoleAnswer) info = readCertRole(certRoleAnswer, "cert role");
    this.objects.push({
      part: "certRole",
      where: `auth/${c.certAuth.path}/certs/${c.certRole.name}`,
      exists: info !== undefined,
      action: info ? "write it again with the certificate it pins (the provider cannot import a cert role; a write replaces it in place)" : "create",
    });
    if (info) {
      const pem = info.certificatePem;
      let admin: X509Certificate | undefined;
      try {
        admin = new X509Certificate(pem);
      } catch {
        this.blockers.push(`certRole.name: auth/${c.certAuth.path}/certs/${c.certRole.name} pins no readable certificate`);
      }
      if (admin) {
        this.adoption.adminCertificatePem = pem;
        this.serials.adminCert = colonHex(admin.serialNumber);
        if (this.intermediate && !admin.checkIssued(this.intermediate.cert)) {
          this.differ(
            "certRole (pinned certificate)",
            `issued by ${admin.issuer.replace(/\n/g, ", ")}`,
            `issued by the intermediate on ${c.pki_int.path}`,
            false,
            "kept: it logs in as it pins it",
          );
        }
        this.objects.push({
          part: "adminCert",
          where: `certificate pinned by ${c.certRole.name}`,
          exists: true,
          action: `keep (serial ${this.serials.adminCert}, expires ${new Date(admin.validTo).toISOString()}); its key is in your crashplan.p12 only, so it logs in until \`npm run rotate -- start\`/\`finish\` moves Code42 to a managed one`,
        });
      }
      const wantPolicies = [c.policy.name.toLowerCase()];
      const hasPolicies = info.tokenPolicies.map((p) => p.toLowerCase()).sort();
      if (hasPolicies.join(",") !== wantPolicies.join(","))
        this.differ(`certRole.name (${c.certRole.name} policies)`, hasPolicies.join(",") || "(none)", wantPolicies.join(","), true, REWRITE);
      const wantTtl = parseDuration("certRole.tokenTtl", c.certRole.tokenTtl);
      if (info.tokenTtl !== wantTtl) this.differ("certRole.tokenTtl", `${info.tokenTtl}s`, `${wantTtl}s`, true, REWRITE);
    }
    for (const other of await this.list(`auth/${c.certAuth.path}/certs`)) {
      if (other.toLowerCase() !== c.certRole.name.toLowerCase())
        this.leftAlone.push(`auth/${c.certAuth.path}/certs/${other} (a login role Code42 or someone else made)`);
    }
  }

  /** The mounts and auth methods the recipe does not make, the archive keys, and the CAs: left alone. */
  private otherMounts(kv: MountInfo | undefined): void {
    const c = this.c;
    for (const [path, m] of this.mounts) {
      if (![c.kv.path, c.pki.path, c.pki_int.path].includes(path) && !["sys", "identity", "cubbyhole"].includes(path))
        this.leftAlone.push(`${path}/ (${m.type} mount)`);
    }
    for (const [path, m] of this.auths) if (path !== c.certAuth.path && path !== "token") this.leftAlone.push(`auth/${path}/ (${m.type})`);
    if (kv) this.leftAlone.push(`the secrets in ${c.kv.path}/ (archive keys Code42 wrote): never read or changed`);
    if (this.root || this.intermediate) this.leftAlone.push("the CA certificates and keys: used as they are, never re-generated, re-signed or replaced");
  }
}

/** A certificate's CN, or "" without one. */
function commonNameOf(cert: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
}

/** How many certificates of a foreign mount are read before giving up counting: a busy CA holds thousands. */
const MAX_CERTIFICATES_READ = 100;

/** The certificates `mount` stored that `isRecipes` does not accept, described without secrets ("serial CN=…"). */
async function foreignCertificates(
  mount: string,
  list: (path: string) => Promise<string[]>,
  get: (path: string) => Promise<VaultAnswer | undefined>,
  isRecipes: (cert: X509Certificate) => boolean,
): Promise<string[]> {
  const serials = await list(`${mount}/certs`);
  const foreign: string[] = [];
  for (const serial of serials.slice(0, MAX_CERTIFICATES_READ)) {
    const answer = await get(`${mount}/cert/${serial}`);
    const pem = answer && readCertificatePem(answer, `${mount}/cert`);
    if (!pem) continue;
    const cert = new X509Certificate(pem);
    if (!isRecipes(cert)) foreign.push(`${colonHex(cert.serialNumber)} CN=${commonNameOf(cert)}${cert.ca ? " (a CA)" : ""}`);
  }
  if (serials.length > MAX_CERTIFICATES_READ) foreign.push(`${serials.length - MAX_CERTIFICATES_READ} more not read`);
  return foreign.length > 5 ? [...foreign.slice(0, 5), `${foreign.length - 5} more`] : foreign;
}

/** Notes the configured CA settings an adopted CA does not follow (they are not used). */
function describeCa(
  part: "rootCa" | "intermediateCa",
  commonName: string,
  ttl: string,
  cert: X509Certificate,
  differ: (setting: string, inVault: string, configured: string, changesBehaviour: boolean, effect: string) => void,
): void {
  const cn = commonNameOf(cert);
  if (cn !== commonName) differ(`${part}.commonName`, cn, commonName, false, "kept: the adopted CA is used as it is; the setting is not used");
  const validity = Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000);
  if (Math.abs(validity - parseDuration(`${part}.ttl`, ttl)) > 3600) {
    differ(
      `${part}.ttl`,
      `${formatHours(validity)} (expires ${new Date(cert.validTo).toISOString()})`,
      ttl,
      false,
      "kept: the adopted CA is used as it is; the setting is not used",
    );
  }
}

function requireOk404(answer: VaultAnswer, what: string): VaultAnswer {
  return answer.status === 404 ? answer : requireSuccess(answer, what);
}

function normalizePolicy(text: string): string {
  return text.replace(/\s+/g, "");
}

/** `path capability` pairs of a policy as written by the recipe or renderPolicy. */
function policyGrants(text: string): string[] {
  const grants: string[] = [];
  for (const m of text.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    const caps = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2])?.[1] ?? "";
    for (const cap of caps.matchAll(/"([^"]+)"/g)) grants.push(`${m[1]} ${cap[1]}`);
  }
  return grants.sort();
}
