import { Testing } from "cdktf";
import { CI_APPLY_ROLE, CI_PLAN_ROLE } from "../../../lib/ci-policy-rules";
import { loadConfig } from "../../../lib/config";
import { KeystoreStack } from "../../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../../lib/stack-name";
import { ciPoliciesMain } from "../../../ops/commands/ci-policies";
import { capture } from "../../helpers/io";
import { Resources } from "../../helpers/synth";

const env = {
  VAULT_ADDR: "https://vault.example.com:8200",
  C42_CI_PROVIDER: "gitlab",
  C42_CI_ISSUER: "https://gitlab.example.com",
  C42_CI_AUDIENCE: "https://vault.example.com",
  C42_CI_REPOSITORY: "infra/keystore",
  C42_CI_PATH: "gitlab-ci",
  C42_KV_PATH: "kv-code42",
  C42_PKI_INT_PATH: "issuing",
  C42_CERT_AUTH_PATH: "tls",
  C42_POLICY_NAME: "code42Policy",
  C42_AUDIT_MODE: "enable",
  C42_AUDIT_FILE_PATH: "/var/log/vault/audit.log",
};

/** The stack's policy text with every `${type.id.attribute}` reference replaced by that attribute's configured value. */
function synthesizedPolicies(): Map<string, string> {
  const config = loadConfig({ env, cwd: "/nonexistent" });
  const json = JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config })));
  const resources = json.resource as Resources;
  const resolve = (text: string) => text.replace(/\$\{([a-z_]+)\.([A-Za-z0-9_]+)\.([a-z_]+)\}/g, (_m, type, id, attr) => String(resources[type][id][attr]));
  return new Map(Object.values(resources.vault_policy).map((p) => [p.name as string, resolve(p.policy as string)]));
}

test("npm run ci-policies prints exactly the policies a deploy writes, for the configured paths", async () => {
  const { out, io } = capture();
  const code = await ciPoliciesMain([], () => loadConfig({ env, cwd: "/nonexistent" }), io);
  expect(code).toBe(0);
  expect(out.stderr).toBe("");
  const printed = out.stdout.split(/^# policy /m).filter((s) => s !== "");
  const synthesized = synthesizedPolicies();
  expect(printed.map((p) => p.split("\n")[0])).toEqual([
    `${CI_PLAN_ROLE}: vault policy write ${CI_PLAN_ROLE} -`,
    `${CI_APPLY_ROLE}: vault policy write ${CI_APPLY_ROLE} -`,
  ]);
  for (const [i, name] of [CI_PLAN_ROLE, CI_APPLY_ROLE].entries()) {
    expect(printed[i].split("\n").slice(1).join("\n")).toBe(`${synthesized.get(name)}\n`);
  }
  expect(out.stdout).toContain('path "sys/mounts/kv-code42" {');
  expect(out.stdout).toContain('path "auth/tls/certs/crashplanUser" {');
  expect(out.stdout).toContain('path "sys/auth/gitlab-ci/tune" {');
  expect(out.stdout).toContain('path "sys/policies/acl/code42Policy" {');
  expect(out.stdout).toContain('path "sys/audit/file" {');
  expect(out.stdout).not.toContain('"kv-code42/');
});
