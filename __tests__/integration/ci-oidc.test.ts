import { KeyObject, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GITHUB_ISSUER } from "../../lib/ci-oidc";
import { CI_APPLY_ROLE, CI_PLAN_ROLE } from "../../lib/ci-policy-rules";
import { applyPlanMain } from "../../ops/commands/apply-plan";
import { driftMain } from "../../ops/commands/drift";
import { planMain } from "../../ops/commands/plan";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { capture } from "../helpers/io";
import { TestAnswer, TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

// CI's OIDC login through the real JWT auth method of a real OpenBao: the test is its own
// issuer (an RSA key pair made here; the public key reaches Vault through ci.validationKeysFile),
// signs RS256 tokens with node:crypto carrying the claims GitHub Actions sends, and runs the
// commands CI runs with the Vault tokens those logins return. One server, one deploy.

const AUDIENCE = "https://vault.keystore.test";
const REPOSITORY = "acme/keystore";
const TOKEN_TTL_SECONDS = 300;
const GITLAB_ISSUER = "https://gitlab.keystore.test";

type Claims = Record<string, string | number>;

/** A JWT as GitHub Actions issues one (RS256), for `claims` over a push to main in `environment`. */
function githubToken(key: KeyObject, environment: string, overrides: Claims = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Claims = {
    jti: randomUUID(),
    sub: `repo:${REPOSITORY}:environment:${environment}`,
    aud: AUDIENCE,
    ref: "refs/heads/main",
    sha: "0123456789abcdef0123456789abcdef01234567",
    repository: REPOSITORY,
    repository_owner: "acme",
    repository_visibility: "private",
    run_id: "42",
    run_attempt: "1",
    actor: "octocat",
    workflow: "keystore plan and apply",
    event_name: "push",
    ref_type: "branch",
    environment,
    job_workflow_ref: `${REPOSITORY}/.github/workflows/plan-apply.yml@refs/heads/main`,
    iss: GITHUB_ISSUER,
    nbf: now - 5,
    iat: now - 5,
    exp: now + 300,
    ...overrides,
  };
  return signToken(key, claims);
}

/** A JWT as GitLab issues one in `id_tokens` (RS256), for a pipeline of main in `environment`. */
function gitlabToken(key: KeyObject, environment: string, overrides: Claims = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signToken(key, {
    namespace_id: "17",
    namespace_path: "infra/keys",
    project_id: "42",
    project_path: "infra/keys/keystore",
    user_id: "7",
    user_login: "maintainer",
    pipeline_id: "1001",
    pipeline_source: "push",
    job_id: "5005",
    ref: "main",
    ref_type: "branch",
    ref_path: "refs/heads/main",
    ref_protected: "true",
    environment,
    environment_protected: "true",
    deployment_tier: "production",
    jti: randomUUID(),
    iss: GITLAB_ISSUER,
    iat: now - 5,
    nbf: now - 5,
    exp: now + 300,
    sub: "project_path:infra/keys/keystore:ref_type:branch:ref:main",
    aud: AUDIENCE,
    ...overrides,
  });
}

function signToken(key: KeyObject, claims: Claims): string {
  const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT", kid: "test-key" })}.${encode(claims)}`;
  return `${unsigned}.${sign("sha256", Buffer.from(unsigned), key).toString("base64url")}`;
}

describe("CI logs in with OIDC tokens: plan and apply roles on a real OpenBao", () => {
  let server: TestServer;
  let td: TestDeployment;
  let settings: Record<string, string>;
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const otherKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });

  const login = (role: string, jwt: string): Promise<TestAnswer> =>
    server.call({ method: "POST", path: "auth/jwt-ci/login", token: undefined, body: { role, jwt } });
  const loginToken = async (role: string, environment: string): Promise<string> => {
    const answer = await login(role, githubToken(keys.privateKey, environment));
    expect(answer.status).toBe(200);
    return answer.json.auth.client_token as string;
  };
  /** The deployment CI runs: the same checkout and state, the Vault token from the OIDC login. */
  const ciDeployment = (token: string, more: Record<string, string> = {}): Deployment =>
    isolatedDeployment(td.work, server.env, { ...settings, ...more, VAULT_TOKEN: token });
  const run = async (main: typeof planMain, argv: string[], d: Deployment) => {
    const { out, io } = capture();
    const code = await main(argv, () => d, io);
    return { code, ...out };
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    const keyFile = join(td.work, "ci-keys.pem");
    writeFileSync(keyFile, keys.publicKey.export({ type: "spki", format: "pem" }));
    settings = {
      C42_CI_PROVIDER: "github",
      C42_CI_AUDIENCE: AUDIENCE,
      C42_CI_REPOSITORY: REPOSITORY,
      C42_CI_VALIDATION_KEYS_FILE: keyFile,
      C42_CI_TOKEN_TTL: "5m",
    };
    // The first deploy is an administrator's (root token): it makes the auth method CI logs in with.
    await deploy(isolatedDeployment(td.work, server.env, settings));
  });

  afterAll(async () => {
    td?.cleanup();
    await server?.stop();
  });

  test("the plan identity runs drift and plan, and is refused every write: apply-plan and a direct write get permission denied", async () => {
    const token = await loginToken(CI_PLAN_ROLE, "keystore-plan");
    const d = ciDeployment(token);
    const drift = await run(driftMain, [], d);
    expect(drift.stderr).toBe("");
    expect([drift.code, drift.stdout]).toEqual([0, expect.stringContaining("in sync")]);
    const planFile = join(td.work, "plans", "plan-role.tfplan");
    const plan = await run(planMain, ["--out", planFile], d);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("no changes");

    // A write the stack makes, straight through the API: the policy, the cert auth tune, the PKI role.
    for (const write of [
      { method: "PUT" as const, path: "sys/policies/acl/crashplanPolicy", body: { policy: 'path "sys/*" { capabilities = ["sudo"] }' } },
      { method: "POST" as const, path: "sys/auth/cert/tune", body: { default_lease_ttl: "1h" } },
      { method: "POST" as const, path: "pki_int/roles/cpRole", body: { allow_any_name: false } },
      { method: "POST" as const, path: "auth/jwt-ci/role/c42-keystore-plan", body: { bound_claims: { repository: "*" } } },
    ]) {
      const answer = await server.call({ ...write, token });
      expect([write.path, answer.status, String(answer.json?.errors)]).toEqual([write.path, 403, expect.stringContaining("permission denied")]);
    }
    // Through the door: apply-plan stops at the preflight, naming what the token may not do.
    const refused = await run(applyPlanMain, [planFile], ciDeployment(token, { C42_CERT_ROLE_TOKEN_TTL: "90s" }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("VAULT_TOKEN may not do what this command needs");
    expect(refused.stderr).toContain("create or update on sys/policies/acl/crashplanPolicy");
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(60);
  });

  test("the apply identity applies a plan the plan identity made; drift is in sync after it", async () => {
    // Writes of the kinds a day-to-day change makes: a cert role, a policy, an auth method's tune (sudo), a mount's tune.
    const changed = {
      C42_CERT_ROLE_TOKEN_TTL: "120s",
      C42_POLICY_EXTRA_PATHS: "secret/code42/*",
      C42_CERT_AUTH_DEFAULT_LEASE_TTL: "2m",
      C42_PKI_INT_MAX_LEASE_TTL: "50000h",
    };
    const planToken = await loginToken(CI_PLAN_ROLE, "keystore-plan");
    const planFile = join(td.work, "plans", "keystore.tfplan");
    const plan = await run(planMain, ["--out", planFile], ciDeployment(planToken, changed));
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/update vault_cert_auth_backend_role\.\S+ \(.*token_ttl.*\)/);

    const applyToken = await loginToken(CI_APPLY_ROLE, "keystore-production");
    const applied = await run(applyPlanMain, [planFile], ciDeployment(applyToken, changed));
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.token_ttl).toBe(120);
    expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy).toContain('path "secret/code42/*"');
    expect((await server.call({ path: "sys/auth/cert/tune" })).json.data.default_lease_ttl).toBe(120);
    expect((await server.call({ path: "sys/mounts/pki_int/tune" })).json.data.max_lease_ttl).toBe(50000 * 3600);

    const drift = await run(driftMain, [], ciDeployment(planToken, changed));
    expect([drift.code, drift.stdout]).toEqual([0, expect.stringContaining("in sync")]);
  });

  test("neither identity may read or list the kv mount's data", async () => {
    await server.call({ method: "PUT", path: "secret/code42/archive-key", body: { value: "not for CI" } });
    for (const token of [await loginToken(CI_PLAN_ROLE, "keystore-plan"), await loginToken(CI_APPLY_ROLE, "keystore-production")]) {
      expect((await server.call({ path: "secret/code42/archive-key", token })).status).toBe(403);
      expect((await server.call({ method: "LIST", path: "secret/code42", token })).status).toBe(403);
      expect((await server.call({ method: "LIST", path: "secret", token })).status).toBe(403);
    }
  });

  test("a token from another repository, owner, branch, pull request, environment or audience, an expired one, or one signed by another key is refused at login", async () => {
    const refusals: [string, string, string][] = [
      [
        "another repository",
        CI_PLAN_ROLE,
        githubToken(keys.privateKey, "keystore-plan", { repository: "acme/other", sub: "repo:acme/other:environment:keystore-plan" }),
      ],
      ["another owner", CI_PLAN_ROLE, githubToken(keys.privateKey, "keystore-plan", { repository: "evil/keystore", repository_owner: "evil" })],
      ["another branch", CI_APPLY_ROLE, githubToken(keys.privateKey, "keystore-production", { ref: "refs/heads/feature" })],
      [
        "a pull request",
        CI_PLAN_ROLE,
        githubToken(keys.privateKey, "keystore-plan", { ref: "refs/pull/7/merge", event_name: "pull_request", sub: `repo:${REPOSITORY}:pull_request` }),
      ],
      ["the plan environment asking for the apply role", CI_APPLY_ROLE, githubToken(keys.privateKey, "keystore-plan")],
      ["no environment", CI_PLAN_ROLE, githubToken(keys.privateKey, "", { environment: "" })],
      ["another audience", CI_PLAN_ROLE, githubToken(keys.privateKey, "keystore-plan", { aud: "https://github.com/acme" })],
      ["another issuer", CI_PLAN_ROLE, githubToken(keys.privateKey, "keystore-plan", { iss: "https://gitlab.com" })],
      ["expired", CI_PLAN_ROLE, githubToken(keys.privateKey, "keystore-plan", { iat: 1, nbf: 1, exp: Math.floor(Date.now() / 1000) - 120 })],
      ["signed by another key", CI_PLAN_ROLE, githubToken(otherKeys.privateKey, "keystore-plan")],
    ];
    const answers = await Promise.all(refusals.map(async ([why, role, jwt]) => ({ why, answer: await login(role, jwt) })));
    // Vault answers 400 (claims, audience, expiry, signature) or 403, with no token in either case.
    expect(answers.map(({ why, answer }) => [why, [400, 403].includes(answer.status), answer.json?.auth ?? null])).toEqual(
      refusals.map(([why]) => [why, true, null]),
    );
  });

  test("tokens live five minutes (ci.tokenTtl), carry only their role's policy and cannot be renewed past it", async () => {
    const answer = await login(CI_APPLY_ROLE, githubToken(keys.privateKey, "keystore-production"));
    expect(answer.status).toBe(200);
    expect(answer.json.auth).toMatchObject({ lease_duration: TOKEN_TTL_SECONDS, policies: [CI_APPLY_ROLE], token_policies: [CI_APPLY_ROLE] });
    const token = answer.json.auth.client_token as string;
    const self = (await server.call({ path: "auth/token/lookup-self", token })).json.data;
    expect(self.explicit_max_ttl).toBe(TOKEN_TTL_SECONDS);
    expect(self.ttl).toBeLessThanOrEqual(TOKEN_TTL_SECONDS);
    expect((await server.call({ method: "POST", path: "auth/token/renew-self", token, body: { increment: "1h" } })).status).toBe(403);
    expect((await server.call({ method: "POST", path: "auth/token/revoke-self", token })).status).toBe(204);
    expect((await server.call({ path: "auth/token/lookup-self", token })).status).toBe(403);
  });
  // Last: it switches the same stack to GitLab, which rewrites the auth method and both roles.
  test("switched to GitLab: a pipeline of the protected branch main logs in; an unprotected ref, a merge request, a tag or another project does not", async () => {
    const gitlab = { ...settings, C42_CI_PROVIDER: "gitlab", C42_CI_ISSUER: GITLAB_ISSUER, C42_CI_REPOSITORY: "infra/keys/keystore" };
    await deploy(isolatedDeployment(td.work, server.env, gitlab));
    // The provider sends each claim as a list of one value (it splits on commas, which the settings refuse).
    expect((await server.call({ path: "auth/jwt-ci/role/c42-keystore-apply" })).json.data).toMatchObject({
      bound_claims_type: "string",
      bound_claims: {
        project_path: ["infra/keys/keystore"],
        ref: ["main"],
        ref_type: ["branch"],
        ref_protected: ["true"],
        environment: ["keystore-production"],
      },
    });
    const plan = await login(CI_PLAN_ROLE, gitlabToken(keys.privateKey, "keystore-plan"));
    expect(plan.status).toBe(200);
    expect(plan.json.auth.policies).toEqual([CI_PLAN_ROLE]);
    expect((await login(CI_APPLY_ROLE, gitlabToken(keys.privateKey, "keystore-production"))).status).toBe(200);

    const refusals: [string, string, string][] = [
      ["an unprotected branch named main in a fork's pipeline", CI_PLAN_ROLE, gitlabToken(keys.privateKey, "keystore-plan", { ref_protected: "false" })],
      [
        "a merge request",
        CI_PLAN_ROLE,
        gitlabToken(keys.privateKey, "keystore-plan", {
          ref: "feature",
          ref_path: "refs/merge-requests/3/head",
          pipeline_source: "merge_request_event",
          ref_protected: "false",
        }),
      ],
      ["a tag named main", CI_APPLY_ROLE, gitlabToken(keys.privateKey, "keystore-production", { ref_type: "tag", ref_path: "refs/tags/main" })],
      ["another project of the group", CI_PLAN_ROLE, gitlabToken(keys.privateKey, "keystore-plan", { project_path: "infra/keys/other" })],
      ["a GitHub token", CI_PLAN_ROLE, githubToken(keys.privateKey, "keystore-plan")],
    ];
    const answers = await Promise.all(refusals.map(async ([why, role, jwt]) => ({ why, answer: await login(role, jwt) })));
    expect(answers.map(({ why, answer }) => [why, [400, 403].includes(answer.status), answer.json?.auth ?? null])).toEqual(
      refusals.map(([why]) => [why, true, null]),
    );
  });
});
