import { NEXT_ROLE_SUFFIX } from "./admin-rotation-phase";

/** The role (and policy) of the plan and drift jobs: reads what the stack manages, writes nothing. */
export const CI_PLAN_ROLE = "c42-keystore-plan";
/** The role (and policy) of the apply job: manages what the stack manages, and nothing else. */
export const CI_APPLY_ROLE = "c42-keystore-apply";

/**
 * Where the stack's objects live, as policy paths need them: mount paths
 * and names (plain text, or references to the resources that make them).
 * The CI policies grant on these and on nothing else.
 */
export interface CiPolicyTargets {
  /** The stack's secrets-engine mounts (kv, pki, pki_int): their configuration only, never their data. */
  readonly secretMounts: readonly string[];
  /** The root CA's mount; none when the root is outside Vault. */
  readonly rootPki?: string;
  /** The intermediate CA's mount. */
  readonly intermediatePki: string;
  /** The PKI role on the intermediate mount (`cpRole`). */
  readonly pkiRoleName: string;
  /** The cert auth method's path (`cert`). */
  readonly certAuthPath: string;
  /** The cert auth role Code42 logs in with (`crashplanUser`); its rotation twin is granted too. */
  readonly certRoleName: string;
  /** The policy Code42's login carries (`crashplanPolicy`). */
  readonly crashplanPolicyName: string;
  /** The JWT auth method CI logs in with (`jwt-ci`). */
  readonly jwtPath: string;
  /** `audit.mode`: with `require` or `enable` the stack reads `sys/audit`. */
  readonly auditMode: string;
  /** With `audit.mode` `enable`: the audit device's path under `sys/audit/`. */
  readonly auditDevicePath?: string;
}

/** One `path` stanza of a policy. */
export interface PolicyRule {
  readonly path: string;
  readonly capabilities: readonly string[];
}

const READ = ["read"];
const READ_SUDO = ["read", "sudo"];
const WRITE = ["create", "read", "update", "delete"];
const WRITE_SUDO = ["create", "read", "update", "delete", "sudo"];

/**
 * The rules of the plan or the apply policy, generated from the paths the
 * stack manages: what the provider reads on a refresh (plan, drift), what it
 * writes on an apply, what the commands themselves call (the preflight's
 * `sys/capabilities-self`, the blind-spot probes of the auth methods' tunes
 * and of `sys/audit`, the issuer guard's `LIST <pki>/issuers`), and the
 * provider's `auth/token/lookup-self`. Nothing on the kv mount's data, no
 * `sys/mounts` or `sys/policy` wildcard, no other auth method or policy.
 */
export function ciPolicyRules(t: CiPolicyTargets, kind: "plan" | "apply"): PolicyRule[] {
  const apply = kind === "apply";
  const rw = apply ? WRITE : READ;
  const rwSudo = apply ? WRITE_SUDO : READ_SUDO;
  const pkiMounts = [...(t.rootPki === undefined ? [] : [t.rootPki]), t.intermediatePki];
  const policies = [t.crashplanPolicyName, CI_PLAN_ROLE, CI_APPLY_ROLE];
  const rules: PolicyRule[] = [
    { path: "auth/token/lookup-self", capabilities: READ },
    { path: "auth/token/revoke-self", capabilities: ["update"] },
    { path: "sys/capabilities-self", capabilities: ["update"] },
    // Which cluster this is: the token auth method's accessor, read by the preflight and at every plan (lib/cluster-identity.ts).
    { path: "sys/mounts/auth/token", capabilities: READ },
    ...t.secretMounts.flatMap((m) => [
      { path: `sys/mounts/${m}`, capabilities: rw },
      { path: `sys/mounts/${m}/tune`, capabilities: apply ? ["read", "update"] : READ },
    ]),
    ...[t.certAuthPath, t.jwtPath].flatMap((a) => [
      { path: `sys/auth/${a}`, capabilities: rwSudo },
      { path: `sys/auth/${a}/tune`, capabilities: apply ? ["read", "update", "sudo"] : READ_SUDO },
      // The provider reads an auth method's tune here (authMountTuneGet), and writes it here on an apply.
      { path: `sys/mounts/auth/${a}`, capabilities: READ },
      { path: `sys/mounts/auth/${a}/tune`, capabilities: apply ? ["read", "update"] : READ },
    ]),
    ...policies.flatMap((p) => [
      { path: `sys/policies/acl/${p}`, capabilities: rw },
      { path: `sys/policy/${p}`, capabilities: rw },
    ]),
    // drift and status read every cert role to name any other that accepts the admin certificate (ops/lifecycle/shadowing.ts).
    { path: `auth/${t.certAuthPath}/certs/`, capabilities: ["list"] },
    { path: `auth/${t.certAuthPath}/certs/+`, capabilities: READ },
    { path: `auth/${t.certAuthPath}/certs/${t.certRoleName}`, capabilities: rw },
    { path: `auth/${t.certAuthPath}/certs/${t.certRoleName}${NEXT_ROLE_SUFFIX}`, capabilities: rw },
    { path: `auth/${t.jwtPath}/config`, capabilities: apply ? ["create", "read", "update"] : READ },
    { path: `auth/${t.jwtPath}/role/${CI_PLAN_ROLE}`, capabilities: rw },
    { path: `auth/${t.jwtPath}/role/${CI_APPLY_ROLE}`, capabilities: rw },
    ...pkiMounts.flatMap((m) => [
      { path: `${m}/issuers`, capabilities: ["list"] },
      { path: `${m}/issuer/+`, capabilities: apply ? ["read", "update"] : READ },
      { path: `${m}/cert/+`, capabilities: READ },
      { path: `${m}/config/urls`, capabilities: apply ? ["create", "read", "update"] : READ },
    ]),
    { path: `${t.intermediatePki}/roles/${t.pkiRoleName}`, capabilities: rw },
    ...(t.auditMode === "require" || t.auditMode === "enable" ? [{ path: "sys/audit", capabilities: READ_SUDO }] : []),
  ];
  if (!apply) return rules;
  const root = t.rootPki;
  const int = t.intermediatePki;
  return [
    ...rules,
    ...(root === undefined
      ? []
      : [
          { path: `${root}/root`, capabilities: ["delete"] },
          { path: `${root}/root/generate/internal`, capabilities: ["update"] },
          { path: `${root}/issuers/generate/root/internal`, capabilities: ["update"] },
          { path: `${root}/root/sign-intermediate`, capabilities: ["update"] },
          { path: `${root}/issuer/+/sign-intermediate`, capabilities: ["update"] },
        ]),
    { path: `${int}/intermediate/generate/internal`, capabilities: ["update"] },
    { path: `${int}/issuers/generate/intermediate/internal`, capabilities: ["update"] },
    { path: `${int}/intermediate/set-signed`, capabilities: ["update"] },
    { path: `${int}/issue/${t.pkiRoleName}`, capabilities: ["update"] },
    { path: `${int}/revoke`, capabilities: ["update"] },
    ...(t.auditMode === "enable" && t.auditDevicePath !== undefined ? [{ path: `sys/audit/${t.auditDevicePath}`, capabilities: WRITE_SUDO }] : []),
  ];
}

/** Renders rules as a Vault policy (HCL), one `path` stanza each. */
export function renderCiPolicy(rules: readonly PolicyRule[]): string {
  return rules.map((r) => `path "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(", ")}]\n}\n`).join("\n");
}
