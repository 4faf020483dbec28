import { createPublicKey } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { Construct } from "constructs";
import { JwtAuthBackend } from "@cdktf/provider-vault/lib/jwt-auth-backend";
import { JwtAuthBackendRole } from "@cdktf/provider-vault/lib/jwt-auth-backend-role";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { parseDuration } from "./duration";
import { KeystoreValidationError, settingName } from "./errors";
import { CiProvider, checkCiText } from "./ci-claims";
import { CI_APPLY_ROLE, CI_PLAN_ROLE, CiPolicyTargets, ciPolicyRules, renderCiPolicy } from "./ci-policy-rules";
import { checkMountPath, checkUrlText } from "./validation";

/** The `iss` of GitHub Actions' OIDC tokens, also their discovery URL. */
export const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

/** Seconds a token's `exp` may lie in the past (clock skew); Vault's own default is 150. */
export const CI_EXPIRATION_LEEWAY_SECONDS = 30;

/** A validation keys file holds a few public keys; anything larger is not one. */
export const MAX_VALIDATION_KEYS_FILE_BYTES = 64 * 1024;

const CLAIM_SEGMENT = /^[A-Za-z0-9_.-]+$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Properties of a {@link CiOidcAuth}. */
export interface CiOidcAuthProps {
  /** Who issues the tokens: GitHub Actions or GitLab CI. */
  readonly provider: CiProvider;
  /**
   * Where the JWT auth method is mounted (under `auth/`).
   * @default "jwt-ci"
   */
  readonly path?: string;
  /**
   * The tokens' `iss`, also the OIDC discovery URL unless validation keys are given.
   * @default - GitHub's issuer with `github`; required with `gitlab`
   */
  readonly issuer?: string;
  /**
   * PEM file of the public keys that sign the tokens, trusted instead of OIDC discovery.
   * @default - keys come from the issuer's OIDC discovery
   */
  readonly validationKeysFile?: string;
  /** The `aud` the tokens must carry. */
  readonly audience: string;
  /** `owner/repo` (GitHub) or `group/project` (GitLab): the one repository whose pipelines may log in. */
  readonly repository: string;
  /**
   * The protected branch whose pipelines may log in.
   * @default "main"
   */
  readonly branch?: string;
  /**
   * The CI environment of the plan and drift jobs.
   * @default "keystore-plan"
   */
  readonly planEnvironment?: string;
  /**
   * The CI environment of the apply job.
   * @default "keystore-production"
   */
  readonly applyEnvironment?: string;
  /**
   * Lifetime of a login's Vault token; it cannot be renewed past it.
   * @default "15m"
   */
  readonly tokenTtl?: string;
  /** What the stack manages (this construct adds its own auth path): the policies grant on exactly these paths. */
  readonly targets: Omit<CiPolicyTargets, "jwtPath">;
}

/**
 * CI logs in with its own short-lived OIDC identity instead of a standing
 * token: a JWT auth method trusting one issuer, and two roles bound exactly
 * to one repository, its protected branch and an environment each.
 * `c42-keystore-plan` may run `plan` and `drift` (reads only);
 * `c42-keystore-apply` may run `apply-plan` on what the stack manages. Their
 * policies are generated from the stack's paths ({@link ciPolicyRules}).
 * Tokens live minutes and carry no `default` policy. A pull request's token
 * carries another ref, so no role accepts it.
 */
export class CiOidcAuth extends Construct {
  /** Mount path under `auth/`, e.g. "jwt-ci"; a reference to the auth method. */
  public readonly path: string;
  /** The issuer the tokens must name. */
  public readonly issuer: string;
  /** Token TTL in seconds. */
  public readonly tokenTtlSeconds: number;
  /** The claims both roles bind exactly, without `environment`. */
  public readonly boundClaims: Readonly<Record<string, string>>;
  public readonly backend: JwtAuthBackend;
  public readonly planPolicy: Policy;
  public readonly applyPolicy: Policy;
  public readonly planRole: JwtAuthBackendRole;
  public readonly applyRole: JwtAuthBackendRole;

  public constructor(scope: Construct, id: string, props: CiOidcAuthProps) {
    super(scope, id);
    const fail = (prop: string, value: unknown, expected: string): never => {
      throw new KeystoreValidationError(settingName(this, prop), value, expected, this.node.path);
    };
    const provider = props.provider;
    const path = checkMountPath(settingName(this, "path"), props.path ?? "jwt-ci", this.node.path);
    const audience = checkCiText(settingName(this, "audience"), props.audience, this.node.path);
    if (audience === "")
      fail(
        "audience",
        audience,
        `is empty, and ${settingName(this, "provider")} is "${provider}"; expected the aud your pipelines request, e.g. "https://vault.example.com"`,
      );
    const repository = checkCiText(settingName(this, "repository"), props.repository, this.node.path);
    checkRepository(repository, provider, (v, e) => fail("repository", v, e));
    const branch = checkCiText(settingName(this, "branch"), props.branch ?? "main", this.node.path);
    if (
      branch === "" ||
      branch.startsWith("refs/") ||
      branch.startsWith("/") ||
      branch.endsWith("/") ||
      branch.includes("..") ||
      !/^[A-Za-z0-9_./-]+$/.test(branch)
    ) {
      fail("branch", branch, 'is not a branch name; expected the protected branch as git names it, without "refs/heads/", e.g. "main"');
    }
    const environments = {
      plan: checkEnvironment(this, "planEnvironment", props.planEnvironment ?? "keystore-plan"),
      apply: checkEnvironment(this, "applyEnvironment", props.applyEnvironment ?? "keystore-production"),
    };
    if (environments.plan === environments.apply) {
      fail(
        "applyEnvironment",
        environments.apply,
        `equals ${settingName(this, "planEnvironment")}; expected an environment of its own, so that a plan job's token never logs in as the apply role`,
      );
    }
    this.issuer = props.issuer || (provider === "github" ? GITHUB_ISSUER : "");
    if (this.issuer === "") fail("issuer", this.issuer, 'is empty, and the provider is "gitlab"; expected your GitLab\'s URL, e.g. "https://gitlab.com"');
    const issuerUrl = checkUrlText(settingName(this, "issuer"), this.issuer, 'expected e.g. "https://gitlab.com"', this.node.path);
    if (issuerUrl.protocol !== "https:") fail("issuer", this.issuer, "is not an https:// URL; expected the https:// URL your CI's tokens name as iss");
    const keys = props.validationKeysFile
      ? readValidationKeysFile(settingName(this, "validationKeysFile"), props.validationKeysFile, this.node.path)
      : undefined;
    const ttlSetting = settingName(this, "tokenTtl");
    this.tokenTtlSeconds = parseDuration(ttlSetting, props.tokenTtl ?? "15m", this.node.path);
    if (this.tokenTtlSeconds < 60 || this.tokenTtlSeconds > 3600) {
      fail(
        "tokenTtl",
        props.tokenTtl,
        'is outside 1m to 1h; expected minutes, e.g. "15m" (long enough for one plan or apply, short enough that a leaked token dies soon)',
      );
    }

    this.backend = new JwtAuthBackend(this, "backend", {
      path,
      type: "jwt",
      description: `Code42 keystore: ${provider === "github" ? "GitHub Actions" : "GitLab CI"} OIDC login for ${repository}`,
      boundIssuer: this.issuer,
      ...(keys === undefined ? { oidcDiscoveryUrl: this.issuer } : { jwtValidationPubkeys: keys }),
    });
    this.path = this.backend.path;
    // GitHub: ref is "refs/heads/main"; a pull request's is "refs/pull/N/merge". GitLab: ref is the
    // bare branch name, ref_type tells a branch from a tag of the same name, ref_protected is "true"
    // only on a protected branch.
    this.boundClaims =
      provider === "github"
        ? { repository, ref: `refs/heads/${branch}` }
        : { project_path: repository, ref: branch, ref_type: "branch", ref_protected: "true" };

    const targets = { ...props.targets, jwtPath: this.path };
    this.planPolicy = new Policy(this, "planPolicy", { name: CI_PLAN_ROLE, policy: renderCiPolicy(ciPolicyRules(targets, "plan")) });
    this.applyPolicy = new Policy(this, "applyPolicy", { name: CI_APPLY_ROLE, policy: renderCiPolicy(ciPolicyRules(targets, "apply")) });
    const role = (roleId: string, name: string, environment: string, policy: Policy) =>
      new JwtAuthBackendRole(this, roleId, {
        backend: this.path,
        roleName: name,
        roleType: "jwt",
        userClaim: "sub",
        boundAudiences: [audience],
        boundClaimsType: "string",
        boundClaims: { ...this.boundClaims, environment },
        expirationLeeway: CI_EXPIRATION_LEEWAY_SECONDS,
        tokenPolicies: [policy.name],
        tokenNoDefaultPolicy: true,
        tokenTtl: this.tokenTtlSeconds,
        tokenMaxTtl: this.tokenTtlSeconds,
        tokenExplicitMaxTtl: this.tokenTtlSeconds,
      });
    this.planRole = role("planRole", CI_PLAN_ROLE, environments.plan, this.planPolicy);
    this.applyRole = role("applyRole", CI_APPLY_ROLE, environments.apply, this.applyPolicy);
  }
}

function checkRepository(value: string, provider: CiProvider, fail: (value: string, expected: string) => never): void {
  const segments = value.split("/");
  const shape = provider === "github" ? '"owner/repo"' : '"group/project" (or "group/subgroup/project")';
  if (value === "") fail(value, `is empty, and the provider is "${provider}"; expected the one repository whose pipelines may log in, ${shape}`);
  const ok = segments.every((s) => CLAIM_SEGMENT.test(s) && s !== "." && s !== "..") && (provider === "github" ? segments.length === 2 : segments.length >= 2);
  if (!ok) fail(value, `is not a ${provider === "github" ? "GitHub repository" : "GitLab project path"}; expected ${shape}, exactly, with no wildcard`);
}

function checkEnvironment(scope: Construct, prop: string, value: string): string {
  const setting = settingName(scope, prop);
  checkCiText(setting, value, scope.node.path);
  if (!CLAIM_SEGMENT.test(value)) {
    throw new KeystoreValidationError(
      setting,
      value,
      'is not an environment name; expected letters, digits, "_", "-" or ".", e.g. "keystore-production"',
      scope.node.path,
    );
  }
  return value;
}

/**
 * Reads the public keys CI's tokens are signed with: a regular file of at
 * most 64 KiB holding one or more `PUBLIC KEY` PEM blocks, each a key Node
 * can parse, and nothing else (a private key is refused without being
 * echoed).
 */
export function readValidationKeysFile(setting: string, file: string, constructPath?: string): string[] {
  const fail = (expected: string): never => {
    throw new KeystoreValidationError(setting, file, expected, constructPath);
  };
  const expected = "expected a PEM file of the public keys that sign your CI's tokens (-----BEGIN PUBLIC KEY-----)";
  try {
    const stat = statSync(file);
    if (!stat.isFile()) fail(`is not a regular file; ${expected}`);
    if (stat.size > MAX_VALIDATION_KEYS_FILE_BYTES) fail(`is ${stat.size} bytes; ${expected}, of at most ${MAX_VALIDATION_KEYS_FILE_BYTES} bytes`);
  } catch (e) {
    if (e instanceof KeystoreValidationError) throw e;
    fail(`cannot be read (${(e as NodeJS.ErrnoException).code}); ${expected}`);
  }
  const blocks = [...readFileSync(file, "utf8").matchAll(PEM_BLOCK)];
  const other = blocks.find((b) => b[1] !== "PUBLIC KEY");
  // Name the block type only: the content may be a private key.
  if (other) fail(`holds a ${other[1]} block; ${expected}, and nothing else`);
  if (blocks.length === 0) fail(`holds no PEM block; ${expected}`);
  return blocks.map((b, i) => {
    try {
      createPublicKey(b[0]);
    } catch (e) {
      fail(`holds a public key (number ${i + 1}) that does not parse (${(e as Error).message}); ${expected}`);
    }
    return b[0];
  });
}
