import { TerraformOutput, Testing } from "cdktf";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { CertAuthBackend } from "../../lib/cert-auth";
import { TunedPkiMount } from "../../lib/pki-mount";
import { CrashplanPolicy, CrashplanPolicyProps } from "../../lib/policy";
import { renderPolicy } from "../../lib/policy-document";
import { resourceIds } from "../helpers/synth";

const stanza = (path: string) => `path "${path}" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`;

function synthPolicy(props: Partial<Omit<CrashplanPolicyProps, "issuingMount" | "certAuth">> = {}, paths = { pki: "pki", cert: "cert" }) {
  let policy!: CrashplanPolicy;
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const issuingMount = new TunedPkiMount(scope, "pki", { path: paths.pki, maxLeaseTtl: "87600h", publicUrl: "https://vault.example.com:8200" });
    const certAuth = new CertAuthBackend(scope, "certAuth", { path: paths.cert });
    policy = new CrashplanPolicy(scope, "policy", { issuingMount, certAuth, ...props });
    new TerraformOutput(scope, "policy_name", { value: policy.policyName });
  });
  const json = JSON.parse(synth);
  const { only } = resourceIds(json);
  const mountPath = "${vault_mount." + only("vault_mount") + ".path}";
  const certPath = "${vault_auth_backend." + only("vault_auth_backend") + ".path}";
  return { synth, json, policy, only, mountPath, certPath };
}

describe("CrashplanPolicy with seed values", () => {
  const { synth, json, policy, only, mountPath, certPath } = synthPolicy();

  test("is crashplanPolicy granting CRUD and list on <pki>/issue/*, sys/policy/* and auth/<cert>/certs/*, from the mounts' real paths", () => {
    const expected =
      `path "${mountPath}/issue/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n` +
      `\n` +
      `path "sys/policy/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n` +
      `\n` +
      `path "auth/${certPath}/certs/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`;
    expect(synth).toHaveResourceWithProperties(Policy, { name: "crashplanPolicy", policy: expected });
  });

  test("hard-codes no mount path", () => {
    const text = json.resource.vault_policy[only("vault_policy")].policy as string;
    expect(text).not.toContain('"pki/');
    expect(text).not.toContain("auth/cert/");
  });

  test("exposes its name as a reference and its paths in order", () => {
    expect(json.output.policy_name.value).toBe("${vault_policy." + only("vault_policy") + ".name}");
    expect(policy.paths).toHaveLength(3);
    expect(policy.paths[1]).toBe("sys/policy/*");
  });
});

describe("CrashplanPolicy with non-default props", () => {
  test("renamed mounts keep the policy pointing at them, and the mounts carry the new paths", () => {
    const seed = synthPolicy();
    const renamed = synthPolicy({}, { pki: "code42/root", cert: "tls" });
    expect(renamed.synth).toHaveResourceWithProperties(Policy, { policy: seed.json.resource.vault_policy[seed.only("vault_policy")].policy });
    expect(renamed.mountPath).toBe(seed.mountPath);
    expect(renamed.json.resource.vault_mount[renamed.only("vault_mount")].path).toBe("code42/root");
    expect(renamed.json.resource.vault_auth_backend[renamed.only("vault_auth_backend")].path).toBe("tls");
  });

  test("extra paths are appended with the same capabilities", () => {
    const { synth, mountPath, certPath } = synthPolicy({ extraPaths: ["secret/code42/*", "transit/keys/+"] });
    expect(synth).toHaveResourceWithProperties(Policy, {
      policy: [`${mountPath}/issue/*`, "sys/policy/*", `auth/${certPath}/certs/*`, "secret/code42/*", "transit/keys/+"].map(stanza).join("\n"),
    });
  });

  test("takes another name", () => {
    const { synth } = synthPolicy({ name: "code42Policy" });
    expect(synth).toHaveResourceWithProperties(Policy, { name: "code42Policy" });
  });
});

describe("renderPolicy", () => {
  test("writes one stanza per path, separated by a blank line", () => {
    expect(renderPolicy(["pki/issue/*", "sys/policy/*"])).toBe(
      'path "pki/issue/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n\npath "sys/policy/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n',
    );
  });
});

describe("CrashplanPolicy without an issuing mount (the root CA is outside Vault)", () => {
  test("grants sys/policy/* and auth/<cert>/certs/* only, on an existing cert auth method by path", () => {
    let policy!: CrashplanPolicy;
    const synth = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      policy = new CrashplanPolicy(scope, "policy", { certAuth: CertAuthBackend.fromPath(scope, "certAuth", "tls") });
    });
    expect(synth).toHaveResourceWithProperties(Policy, { name: "crashplanPolicy", policy: ["sys/policy/*", "auth/tls/certs/*"].map(stanza).join("\n") });
    expect(policy.paths).toEqual(["sys/policy/*", "auth/tls/certs/*"]);
  });
});
