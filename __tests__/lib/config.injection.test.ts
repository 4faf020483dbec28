// Issue 18's reproductions, each now refused by loadConfig before any construct
// is built: configuration is data, never an expression, a token or a policy stanza.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, MAX_CONFIG_FILE_BYTES } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { SETTINGS } from "../../lib/settings";
import { VAULT_ADDR, freshConfigDirEachTest, writeFileIn } from "../helpers/config-dir";

let cwd: string;
freshConfigDirEachTest((dir) => (cwd = dir));

const withEnv = (env: Record<string, string>) => () => loadConfig({ env: { VAULT_ADDR, ...env }, cwd });
const withFileText = (text: string) => () => loadConfig({ env: { VAULT_ADDR }, file: writeFileIn(cwd, "c.json", text), cwd });

describe("engine expressions", () => {
  test.each([
    ["C42_ROOT_CA_COMMON_NAME", "rootCa.commonName", '${file("/etc/hostname")}'],
    ["C42_ADMIN_CERT_COMMON_NAME", "adminCert.commonName", "%{ if true }x%{ endif }"],
    ["C42_STATE_DIR", "stateDir", '/tmp/${file("/proc/self/environ")}'],
    ["C42_BACKEND_S3_KEY", "backend.s3.key", "k/${path.cwd}"],
    ["C42_BACKEND_GCS_PREFIX", "backend.gcs.prefix", "%{for x in [1]}x%{endfor}"],
  ])("%s=%j is refused naming %s", (name, key, value) => {
    const expected = `${key}: ${JSON.stringify(value)} contains "\${" or "%{", which OpenTofu and Terraform read as an expression or a template directive; expected plain text`;
    expect(withEnv({ [name]: value })).toThrow(expected);
  });

  test("every string setting refuses ${ from the environment", () => {
    const strings = SETTINGS.filter((s) => s.setting.kind === "string");
    expect(strings.length).toBeGreaterThan(30);
    for (const s of strings) {
      expect(withEnv({ [s.env]: "a${b}" })).toThrow(new RegExp(`^${s.key.replace(/\./g, "\\.")}: "a\\$\\{b\\}" (contains|is not)`));
    }
  });

  test("publicUrl with ${ is not a plain URL", () => {
    expect(withEnv({ C42_PUBLIC_URL: "https://vault.example.com/${x}" })).toThrow(/^publicUrl: .* contains "\$\{" or "%\{"/);
  });
});

describe("cdktf token markers are never treated as tokens", () => {
  test("the policy injection through a token marker in extraPaths", () => {
    const value = 'x"} path "sys/*" {capabilities=["sudo"]} #${TfToken[TOKEN.1]}';
    expect(withEnv({ C42_POLICY_EXTRA_PATHS: value })).toThrow(/^policy\.extraPaths\[0\]: .* contains cdktf's token marker; expected plain text/);
  });

  test.each([
    ["C42_ROOT_CA_COMMON_NAME", "rootCa.commonName"],
    ["C42_KV_PATH", "kv.path"],
    ["C42_ROLE_NAME", "role.name"],
    ["C42_PKI_INT_MAX_LEASE_TTL", "pki_int.maxLeaseTtl"],
  ])("%s holding a token marker", (name, key) => {
    expect(withEnv({ [name]: "${TfToken[TOKEN.1]}" })).toThrow(`${key}: "\${TfToken[TOKEN.1]}" contains cdktf's token marker`);
  });

  test("a list-token marker", () => {
    expect(withEnv({ C42_ROLE_NAME: "#{TfToken[TOKEN.7]}" })).toThrow(/^role\.name: .* contains cdktf's token marker/);
  });
});

describe("durations are bounded", () => {
  test.each(["9999999999999999999999h", "3000000h", "876001h", "100000000000000s"])("%j", (value) => {
    expect(withEnv({ C42_PKI_MAX_LEASE_TTL: value })).toThrow(
      /^pki\.maxLeaseTtl: ".*" is longer than this project accepts; expected at most 876000h \(100 years/,
    );
  });

  test("a string longer than any duration", () => {
    expect(withEnv({ C42_ROOT_CA_TTL: "1".repeat(40) + "h" })).toThrow(/^rootCa\.ttl: .* is too long; expected at most 32 characters/);
  });

  test("876000h itself is accepted", () => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_PKI_MAX_LEASE_TTL: "876000h" }, cwd }).pki.maxLeaseTtl).toBe("876000h");
  });
});

describe("mount paths", () => {
  test.each([".", "..", "a/../b", "pki/.", "./pki"])("%j has a dot segment", (path) => {
    expect(withEnv({ C42_PKI_INT_PATH: path })).toThrow(
      /^pki_int\.path: ".*" is not a mount path; expected segments of letters, digits, "_", "-" or "." \(no "\." or "\.\." segment\)/,
    );
  });

  test("certAuth.path token is Vault's own token method", () => {
    expect(withEnv({ C42_CERT_AUTH_PATH: "token" })).toThrow(/^certAuth\.path: "token" is a path Vault reserves for itself; expected a path outside "token"/);
  });

  test("the message for sys itself does not say it starts with sys/", () => {
    expect(withEnv({ C42_KV_PATH: "sys" })).toThrow(/^kv\.path: "sys" is a path Vault reserves for itself;/);
  });

  test("a mount path longer than 128 characters", () => {
    expect(withEnv({ C42_KV_PATH: "a".repeat(129) })).toThrow(/^kv\.path: "a{40}… \(129 characters\)" is too long; expected at most 128 characters/);
  });
});

describe("policy names", () => {
  test.each(["root", "default", "Default", "response-wrapping"])("C42_POLICY_NAME=%s is refused before anything is built", (name) => {
    expect(withEnv({ C42_POLICY_NAME: name })).toThrow(new RegExp(`^policy\\.name: "${name}" is one of Vault's built-in policies`));
  });
});

describe("lengths", () => {
  test("a common name longer than X.509 allows", () => {
    expect(withEnv({ C42_ROOT_CA_COMMON_NAME: "x".repeat(65) })).toThrow(
      /^rootCa\.commonName: "x{40}… \(65 characters\)" is too long; expected at most 64 characters \(the X\.509 limit/,
    );
  });

  test("a 64-character common name is accepted", () => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_ROOT_CA_COMMON_NAME: "x".repeat(64) }, cwd }).rootCa.commonName).toHaveLength(64);
  });

  test("a free-text setting longer than 1024 characters", () => {
    expect(withEnv({ C42_BACKEND_S3_BUCKET: "b".repeat(1025) })).toThrow(/^backend\.s3\.bucket: .* is too long; expected at most 1024 characters/);
  });

  test("a config file larger than 1 MiB is refused before it is read", () => {
    const big = JSON.stringify({ rootCa: { commonName: "x".repeat(MAX_CONFIG_FILE_BYTES) } });
    expect(withFileText(big)).toThrow(
      new RegExp(`^C42_CONFIG: ".*c\\.json" is ${big.length} bytes; expected a JSON config file of at most ${MAX_CONFIG_FILE_BYTES} bytes`),
    );
  });

  test("an extraPaths list of more than 64 entries", () => {
    const paths = Array.from({ length: 65 }, (_, i) => `secret/app${i}/*`);
    expect(withFileText(JSON.stringify({ policy: { extraPaths: paths } }))).toThrow(
      /^policy\.extraPaths: "65 entries" is too long \(in .*\); expected at most 64 entries/,
    );
  });
});

describe("the config file", () => {
  test.each([
    ['{"__proto__":{"kv.path":"zz"}}', "__proto__"],
    ['{"constructor":{"prototype":{"x":1}}}', "constructor"],
    ['{"kv":{"__proto__":{"path":"zz"}}}', "kv.__proto__"],
    ['{"pki":{"prototype":"x"}}', "pki.prototype"],
  ])("%s is refused", (text, key) => {
    expect(withFileText(text)).toThrow(`${key}: "(any value)" is not a setting`);
  });

  test("the __proto__ file sets nothing even when the error is caught", () => {
    expect(withFileText('{"__proto__":{"kv.path":"zz"}}')).toThrow(KeystoreValidationError);
    expect(loadConfig({ env: { VAULT_ADDR }, cwd }).kv.path).toBe("secret");
  });

  test("dotted keys are not an alias of the nested form", () => {
    expect(withFileText('{"kv.path":"zz"}')).toThrow(
      /^kv\.path: "zz" is not a setting \(in .*\); expected the nested form, e\.g\. \{"kv": \{"path": "secret"\}\}/,
    );
  });

  test("C42_CONFIG set but empty is refused, not a silent skip of keystore.config.json", () => {
    writeFileIn(cwd, "keystore.config.json", JSON.stringify({ kv: { path: "from-file" } }));
    expect(withEnv({ C42_CONFIG: "" })).toThrow(/^C42_CONFIG: "" is empty; expected the path of a JSON config file, or C42_CONFIG unset/);
  });

  test("a FIFO is refused at once instead of blocking", () => {
    const fifo = join(cwd, "fifo.json");
    execFileSync("mkfifo", [fifo]);
    expect(withEnv({ C42_CONFIG: fifo })).toThrow(/^C42_CONFIG: ".*fifo\.json" is not a regular file; expected a JSON config file/);
  });

  test("a directory is refused", () => {
    expect(withEnv({ C42_CONFIG: cwd })).toThrow(/^C42_CONFIG: ".*" is not a regular file/);
  });

  test("a control character in a value", () => {
    writeFileSync(join(cwd, "c.json"), JSON.stringify({ role: { name: "cp\nRole" } }));
    expect(() => loadConfig({ env: { VAULT_ADDR }, file: join(cwd, "c.json"), cwd })).toThrow(/^role\.name: "cp\\nRole" contains a control character/);
  });
});

describe("smaller fixes", () => {
  test.each([" true ", "\ttrue", "yes "])("a boolean %j is trimmed like the other kinds", (raw) => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_ALLOW_INSECURE_HTTP: raw }, cwd }).allowInsecureHttp).toBe(true);
  });

  test.each(["https://vault.example.com/a b", 'https://vault.example.com/"x"', "https://vault.example.com/<x>"])(
    "publicUrl %j is not an encoded URL",
    (value) => {
      expect(withEnv({ C42_PUBLIC_URL: value })).toThrow(/^publicUrl: .* is not a plain encoded URL/);
    },
  );

  test("an encoded URL is accepted as written", () => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_PUBLIC_URL: "https://vault.example.com/a%20b" }, cwd }).publicUrl).toBe("https://vault.example.com/a%20b");
  });
});
