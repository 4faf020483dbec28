import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { JwtAuthBackend } from "@cdktf/provider-vault/lib/jwt-auth-backend";
import { JwtAuthBackendRole } from "@cdktf/provider-vault/lib/jwt-auth-backend-role";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { GITHUB_ISSUER } from "../../lib/ci-oidc";
import { CI_APPLY_ROLE, CI_PLAN_ROLE, CiPolicyTargets, ciPolicyRules, renderCiPolicy } from "../../lib/ci-policy-rules";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { Resources, ref, resourceIds } from "../helpers/synth";

const dir = mkdtempSync(join(tmpdir(), "ci-oidc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, "ci-keys.pem");
const publicPem = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
writeFileSync(keyFile, publicPem);

const GITHUB = {
  C42_CI_PROVIDER: "github",
  C42_CI_AUDIENCE: "https://vault.example.com",
  C42_CI_REPOSITORY: "acme/keystore",
};

function synthStack(env: Record<string, string>) {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd: dir });
  const synth = Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
  const json = JSON.parse(synth);
  const { idOf, only } = resourceIds(json);
  const resources = json.resource as Resources;
  const policyText = (name: string) => resources.vault_policy[idOf("vault_policy", { name })].policy as string;
  const role = (name: string) => resources.vault_jwt_auth_backend_role[idOf("vault_jwt_auth_backend_role", { role_name: name })];
  return { synth, json, idOf, only, resources, policyText, role };
}

/** The `path "…" { capabilities = […] }` stanzas of a policy, as path → capabilities. */
function stanzas(policy: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const m of policy.matchAll(/path "([^"]+)" \{\n {2}capabilities = \[([^\]]*)\]\n\}/g)) {
    found.set(
      m[1],
      m[2].split(", ").map((c) => c.replace(/"/g, "")),
    );
  }
  return found;
}

describe("ci.provider github, with validation keys from a file", () => {
  const { synth, idOf, only, policyText, role } = synthStack({ ...GITHUB, C42_CI_VALIDATION_KEYS_FILE: keyFile });
  const jwtPath = ref("vault_jwt_auth_backend", only("vault_jwt_auth_backend"), "path");
  const kv = ref("vault_mount", idOf("vault_mount", { path: "secret" }), "path");
  const pki = ref("vault_mount", idOf("vault_mount", { path: "pki" }), "path");
  const pkiInt = ref("vault_mount", idOf("vault_mount", { path: "pki_int" }), "path");
  const cert = ref("vault_auth_backend", only("vault_auth_backend"), "path");

  test("a JWT auth method at jwt-ci trusting GitHub's issuer and the keys of the file, not discovery", () => {
    expect(synth).toHaveResourceWithProperties(JwtAuthBackend, {
      path: "jwt-ci",
      type: "jwt",
      bound_issuer: GITHUB_ISSUER,
      jwt_validation_pubkeys: [publicPem.trim()],
    });
    expect(synth).not.toHaveResourceWithProperties(JwtAuthBackend, { oidc_discovery_url: expect.anything() });
  });

  test("two jwt roles bound exactly to the repository, refs/heads/main and an environment each, with the audience", () => {
    for (const [name, environment] of [
      [CI_PLAN_ROLE, "keystore-plan"],
      [CI_APPLY_ROLE, "keystore-production"],
    ]) {
      expect(role(name)).toMatchObject({
        backend: jwtPath,
        role_type: "jwt",
        user_claim: "sub",
        bound_audiences: ["https://vault.example.com"],
        bound_claims_type: "string",
        bound_claims: { repository: "acme/keystore", ref: "refs/heads/main", environment },
        token_policies: [ref("vault_policy", idOf("vault_policy", { name }), "name")],
        token_no_default_policy: true,
        expiration_leeway: 30,
      });
      expect(Object.keys(role(name).bound_claims as object).sort()).toEqual(["environment", "ref", "repository"]);
    }
  });

  test("tokens live 15 minutes and cannot be renewed past that", () => {
    for (const name of [CI_PLAN_ROLE, CI_APPLY_ROLE]) {
      expect(role(name)).toMatchObject({ token_ttl: 900, token_max_ttl: 900, token_explicit_max_ttl: 900 });
    }
  });

  test("the plan policy reads what plan and drift read, from the mounts' real paths, and writes nothing", () => {
    const plan = stanzas(policyText(CI_PLAN_ROLE));
    expect(plan.get(`sys/mounts/${kv}`)).toEqual(["read"]);
    expect(plan.get(`sys/mounts/${pki}`)).toEqual(["read"]);
    expect(plan.get(`sys/mounts/${pkiInt}`)).toEqual(["read"]);
    expect(plan.get(`sys/auth/${cert}`)).toEqual(["read", "sudo"]);
    expect(plan.get(`sys/auth/${cert}/tune`)).toEqual(["read", "sudo"]);
    expect(plan.get(`sys/auth/${jwtPath}/tune`)).toEqual(["read", "sudo"]);
    expect(plan.get(`auth/${cert}/certs/crashplanUser`)).toEqual(["read"]);
    expect(plan.get(`auth/${cert}/certs/crashplanUser-next`)).toEqual(["read"]);
    // Every cert role, to name one that would capture Code42's nameless login (drift, status).
    expect(plan.get(`auth/${cert}/certs/`)).toEqual(["list"]);
    expect(plan.get(`auth/${cert}/certs/+`)).toEqual(["read"]);
    expect(plan.get(`auth/${jwtPath}/role/${CI_APPLY_ROLE}`)).toEqual(["read"]);
    expect(plan.get(`${pkiInt}/roles/cpRole`)).toEqual(["read"]);
    expect(plan.get(`${pki}/issuers`)).toEqual(["list"]);
    expect(plan.get("sys/audit")).toEqual(["read", "sudo"]);
    expect(plan.get("auth/token/lookup-self")).toEqual(["read"]);
    // The preflight's capabilities-self and revoking its own token are the only updates.
    const writes = [...plan].filter(([, caps]) => caps.some((c) => ["create", "update", "delete"].includes(c)));
    expect(writes).toEqual([
      ["auth/token/revoke-self", ["update"]],
      ["sys/capabilities-self", ["update"]],
    ]);
  });

  test("the apply policy manages exactly the stack's objects", () => {
    const apply = stanzas(policyText(CI_APPLY_ROLE));
    expect(apply.get(`sys/mounts/${kv}`)).toEqual(["create", "read", "update", "delete"]);
    expect(apply.get(`sys/auth/${cert}`)).toEqual(["create", "read", "update", "delete", "sudo"]);
    expect(apply.get(`sys/auth/${jwtPath}/tune`)).toEqual(["read", "update", "sudo"]);
    const crashplanPolicy = ref("vault_policy", idOf("vault_policy", { name: "crashplanPolicy" }), "name");
    expect(apply.get(`sys/policies/acl/${crashplanPolicy}`)).toEqual(["create", "read", "update", "delete"]);
    expect(apply.get(`sys/policies/acl/${CI_APPLY_ROLE}`)).toEqual(["create", "read", "update", "delete"]);
    expect(apply.get(`${pki}/root/generate/internal`)).toEqual(["update"]);
    expect(apply.get(`${pkiInt}/intermediate/set-signed`)).toEqual(["update"]);
    expect(apply.get(`${pkiInt}/issue/cpRole`)).toEqual(["update"]);
    expect(apply.get(`auth/${cert}/certs/crashplanUser`)).toEqual(["create", "read", "update", "delete"]);
  });

  test("neither policy reaches the kv mount's data, another mount, auth method or policy, or any wildcard segment but +", () => {
    for (const name of [CI_PLAN_ROLE, CI_APPLY_ROLE]) {
      const paths = [...stanzas(policyText(name)).keys()];
      expect(paths.length).toBeGreaterThan(20);
      expect(paths.filter((p) => p.startsWith(kv))).toEqual([]);
      expect(paths.filter((p) => p.includes("*"))).toEqual([]);
      expect(paths.filter((p) => /^sys\/(mounts|auth|policy|policies\/acl)\/?$/.test(p))).toEqual([]);
      // Each mount and auth method path names the stack's own object, and nothing else (the token auth method is only read, to tell the cluster).
      const own = [
        "sys/mounts/auth/token",
        ...[kv, pki, pkiInt].flatMap((m) => [`sys/mounts/${m}`, `sys/mounts/${m}/tune`]),
        ...[cert, jwtPath].flatMap((a) => [`sys/auth/${a}`, `sys/auth/${a}/tune`, `sys/mounts/auth/${a}`, `sys/mounts/auth/${a}/tune`]),
      ];
      expect(paths.filter((p) => /^sys\/(mounts|auth)\//.test(p)).sort()).toEqual(own.sort());
    }
  });
});

describe("ci.provider gitlab, with OIDC discovery", () => {
  const { synth, role } = synthStack({
    C42_CI_PROVIDER: "gitlab",
    C42_CI_ISSUER: "https://gitlab.example.com",
    C42_CI_AUDIENCE: "https://vault.example.com",
    C42_CI_REPOSITORY: "infra/keys/keystore",
    C42_CI_BRANCH: "production",
    C42_CI_PATH: "gitlab-jwt",
    C42_CI_TOKEN_TTL: "5m",
  });

  test("discovers the keys at the issuer", () => {
    expect(synth).toHaveResourceWithProperties(JwtAuthBackend, {
      path: "gitlab-jwt",
      bound_issuer: "https://gitlab.example.com",
      oidc_discovery_url: "https://gitlab.example.com",
    });
    expect(synth).not.toHaveResourceWithProperties(JwtAuthBackend, { jwt_validation_pubkeys: expect.anything() });
  });

  test("binds GitLab's claims: project_path, the bare branch as a protected branch ref, the environment", () => {
    expect(role(CI_APPLY_ROLE).bound_claims).toEqual({
      project_path: "infra/keys/keystore",
      ref: "production",
      ref_type: "branch",
      ref_protected: "true",
      environment: "keystore-production",
    });
    expect(role(CI_PLAN_ROLE)).toMatchObject({ token_ttl: 300, token_max_ttl: 300 });
  });
});

describe("ci.provider none (the default)", () => {
  test("makes no JWT auth method, role or CI policy", () => {
    const { synth, resources } = synthStack({});
    expect(synth).not.toHaveResource(JwtAuthBackend);
    expect(synth).not.toHaveResource(JwtAuthBackendRole);
    expect(Object.values(resources.vault_policy).map((p) => p.name)).toEqual(["crashplanPolicy"]);
    expect(synth).toHaveResourceWithProperties(Policy, { name: "crashplanPolicy" });
  });
});

describe("ciPolicyRules on plain paths (what `npm run ci-policies`-style tools print)", () => {
  const targets: CiPolicyTargets = {
    secretMounts: ["secret", "pki_int"],
    intermediatePki: "pki_int",
    pkiRoleName: "cpRole",
    certAuthPath: "cert",
    certRoleName: "crashplanUser",
    crashplanPolicyName: "crashplanPolicy",
    jwtPath: "jwt-ci",
    auditMode: "off",
  };

  test("with the root outside Vault: no root paths; with audit off: no sys/audit", () => {
    const text = renderCiPolicy(ciPolicyRules(targets, "apply"));
    expect(text).toContain('path "pki_int/intermediate/set-signed" {\n  capabilities = ["update"]\n}\n');
    expect(text).not.toMatch(/"pki\//);
    expect(text).not.toContain("sys/audit");
  });

  test("audit.mode enable grants the device's own path to the apply policy only", () => {
    const withAudit = { ...targets, auditMode: "enable", auditDevicePath: "c42-file" };
    expect(stanzas(renderCiPolicy(ciPolicyRules(withAudit, "apply"))).get("sys/audit/c42-file")).toEqual(["create", "read", "update", "delete", "sudo"]);
    expect(stanzas(renderCiPolicy(ciPolicyRules(withAudit, "plan"))).get("sys/audit/c42-file")).toBeUndefined();
    expect(stanzas(renderCiPolicy(ciPolicyRules(withAudit, "plan"))).get("sys/audit")).toEqual(["read", "sudo"]);
  });
});
