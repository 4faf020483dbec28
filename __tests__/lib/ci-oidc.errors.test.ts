import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

const dir = mkdtempSync(join(tmpdir(), "ci-oidc-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GITHUB = { C42_CI_PROVIDER: "github", C42_CI_AUDIENCE: "https://vault.example.com", C42_CI_REPOSITORY: "acme/keystore" };

/** Loads the settings and synthesizes the stack: the errors of both steps. */
const synth = (env: Record<string, string>) => () => {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd: dir });
  Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
};

describe("ci.* settings", () => {
  test("an unknown provider", () => {
    expect(synth({ C42_CI_PROVIDER: "jenkins" })).toThrow(/^ci\.provider: "jenkins" is not a CI provider; expected one of none, github, gitlab$/);
  });

  test("a provider without an audience", () => {
    expect(synth({ ...GITHUB, C42_CI_AUDIENCE: "" })).toThrow(
      /^ci\.audience: "" is empty, and ci\.provider is "github"; expected the aud your pipelines request, e\.g\. "https:\/\/vault\.example\.com" \(at keystore\/ci\)$/,
    );
  });

  test("a provider without a repository", () => {
    expect(synth({ ...GITHUB, C42_CI_REPOSITORY: "" })).toThrow(/^ci\.repository: "" is empty, and the provider is "github"; expected .*"owner\/repo"/);
  });

  test.each(["acme/*", "*/keystore", "acme/key store", "acme/keystore?", "acme/[kx]eystore"])("a repository with a wildcard: %s", (repository) => {
    expect(synth({ ...GITHUB, C42_CI_REPOSITORY: repository })).toThrow(
      /^ci\.repository: ".*" holds a wildcard or whitespace; expected the exact value the CI's token carries \(bound claims are matched exactly, never as a pattern\)/,
    );
  });

  test.each(["acme", "acme/keystore/extra", "acme/../keystore", "acme/key:store"])("a GitHub repository that is not owner/repo: %s", (repository) => {
    expect(synth({ ...GITHUB, C42_CI_REPOSITORY: repository })).toThrow(
      /^ci\.repository: ".*" is not a GitHub repository; expected "owner\/repo", exactly, with no wildcard \(at keystore\/ci\)$/,
    );
  });

  test("a GitLab project path may have subgroups, but not be a bare group", () => {
    const gitlab = { ...GITHUB, C42_CI_PROVIDER: "gitlab", C42_CI_ISSUER: "https://gitlab.com" };
    expect(synth({ ...gitlab, C42_CI_REPOSITORY: "infra/sub/keystore" })).not.toThrow();
    expect(synth({ ...gitlab, C42_CI_REPOSITORY: "infra" })).toThrow(/^ci\.repository: "infra" is not a GitLab project path; expected "group\/project"/);
  });

  test("gitlab without an issuer", () => {
    expect(synth({ ...GITHUB, C42_CI_PROVIDER: "gitlab" })).toThrow(
      /^ci\.issuer: "" is empty, and the provider is "gitlab"; expected your GitLab's URL, e\.g\. "https:\/\/gitlab\.com"/,
    );
  });

  test("an issuer that is not https", () => {
    expect(synth({ ...GITHUB, C42_CI_ISSUER: "http://gitlab.example.com" })).toThrow(/^ci\.issuer: "http:\/\/gitlab\.example\.com" is not an https:\/\/ URL/);
    expect(synth({ ...GITHUB, C42_CI_ISSUER: "gitlab.example.com" })).toThrow(/^ci\.issuer: "gitlab\.example\.com" is not a URL/);
  });

  test.each(["main*", "release/*", "refs/heads/main", "feature/../main", "/main", "main,feature"])("a branch that is a pattern or a full ref: %s", (branch) => {
    expect(synth({ ...GITHUB, C42_CI_BRANCH: branch })).toThrow(
      /^ci\.branch: ".*" (holds a wildcard|is not a branch name; expected the protected branch as git names it, without "refs\/heads\/")/,
    );
  });

  test("an environment name with a wildcard or a slash", () => {
    expect(synth({ ...GITHUB, C42_CI_PLAN_ENVIRONMENT: "keystore-*" })).toThrow(/^ci\.planEnvironment: "keystore-\*" holds a wildcard/);
    expect(synth({ ...GITHUB, C42_CI_APPLY_ENVIRONMENT: "prod/keys" })).toThrow(
      /^ci\.applyEnvironment: "prod\/keys" is not an environment name; expected letters/,
    );
  });

  test("the same environment for plan and apply", () => {
    expect(synth({ ...GITHUB, C42_CI_PLAN_ENVIRONMENT: "keystore", C42_CI_APPLY_ENVIRONMENT: "keystore" })).toThrow(
      /^ci\.applyEnvironment: "keystore" equals ci\.planEnvironment; expected an environment of its own, so that a plan job's token never logs in as the apply role/,
    );
  });

  test("token TTLs outside minutes", () => {
    expect(synth({ ...GITHUB, C42_CI_TOKEN_TTL: "2h" })).toThrow(/^ci\.tokenTtl: "2h" is too long; expected at most 3600s$/);
    expect(synth({ ...GITHUB, C42_CI_TOKEN_TTL: "30s" })).toThrow(/^ci\.tokenTtl: "30s" is outside 1m to 1h; expected minutes/);
    expect(synth({ ...GITHUB, C42_CI_TOKEN_TTL: "soon" })).toThrow(/^ci\.tokenTtl: "soon" is not a duration/);
  });

  test("a JWT path that is reserved or equals the cert auth path", () => {
    expect(synth({ ...GITHUB, C42_CI_PATH: "token" })).toThrow(/^ci\.path: "token" is a path Vault reserves for itself/);
    expect(synth({ ...GITHUB, C42_CI_PATH: "cert" })).toThrow(/^ci\.path: "cert" equals certAuth\.path; expected an auth path of its own/);
  });

  describe("ci.validationKeysFile", () => {
    test("missing", () => {
      expect(synth({ ...GITHUB, C42_CI_VALIDATION_KEYS_FILE: "no-such.pem" })).toThrow(
        /^ci\.validationKeysFile: ".*no-such\.pem" cannot be read \(ENOENT\); expected a PEM file of the public keys that sign your CI's tokens/,
      );
    });

    test("a private key is refused without being echoed", () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      const file = join(dir, "private.pem");
      writeFileSync(file, pem, { mode: 0o600 });
      let message = "";
      try {
        synth({ ...GITHUB, C42_CI_VALIDATION_KEYS_FILE: file })();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^ci\.validationKeysFile: ".*private\.pem" holds a PRIVATE KEY block; expected a PEM file of the public keys/);
      expect(message).not.toContain(pem.split("\n")[1]);
    });

    test("no PEM block, or a key that does not parse", () => {
      const empty = join(dir, "empty.pem");
      writeFileSync(empty, "not a key\n");
      expect(synth({ ...GITHUB, C42_CI_VALIDATION_KEYS_FILE: empty })).toThrow(/^ci\.validationKeysFile: ".*empty\.pem" holds no PEM block/);
      const broken = join(dir, "broken.pem");
      writeFileSync(broken, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
      expect(synth({ ...GITHUB, C42_CI_VALIDATION_KEYS_FILE: broken })).toThrow(
        /^ci\.validationKeysFile: ".*broken\.pem" holds a public key \(number 1\) that does not parse/,
      );
    });
  });
});
