import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { VAULT_ADDR, freshConfigDirEachTest, writeFileIn } from "../helpers/config-dir";

let cwd: string;
freshConfigDirEachTest((dir) => (cwd = dir));
const writeFile = (name: string, text: string) => writeFileIn(cwd, name, text);

const withEnv = (env: Record<string, string>) => () => loadConfig({ env: { VAULT_ADDR, ...env }, cwd });
const withFile = (value: unknown) => () => loadConfig({ env: { VAULT_ADDR }, file: writeFile("bad.json", JSON.stringify(value)), cwd });

describe("the config file", () => {
  test("an unknown key inside a section is rejected", () => {
    expect(withFile({ pki: { maxLease: "1h" } })).toThrow(
      /^pki\.maxLease: "1h" is not a setting \(in .*bad\.json\); expected one of: publicUrl, .*pki\.maxLeaseTtl/,
    );
  });

  test("an unknown top-level key is rejected", () => {
    expect(withFile({ pkiInt: { maxLeaseTtl: "1h" } })).toThrow(/^pkiInt: \{"maxLeaseTtl":"1h"\} is not a setting \(in .*bad\.json\); expected one of: /);
  });

  test("a string where a boolean belongs", () => {
    expect(withFile({ allowInsecureHttp: "true" })).toThrow(/^allowInsecureHttp: "true" has the wrong type \(in .*bad\.json\); expected a boolean/);
  });

  test("a number where a string belongs", () => {
    expect(withFile({ pki_int: { maxLeaseTtl: 43800 } })).toThrow(/^pki_int\.maxLeaseTtl: 43800 has the wrong type \(in .*bad\.json\); expected a string/);
  });

  test("null where a string belongs", () => {
    expect(withFile({ kv: { path: null } })).toThrow(/^kv\.path: null has the wrong type \(in .*bad\.json\); expected a string/);
  });

  test("a string where a list belongs", () => {
    expect(withFile({ policy: { extraPaths: "secret/*" } })).toThrow(
      /^policy\.extraPaths: "secret\/\*" has the wrong type \(in .*bad\.json\); expected a list of strings/,
    );
  });

  test("a list of non-strings", () => {
    expect(withFile({ policy: { extraPaths: ["secret/*", 3] } })).toThrow(
      /^policy\.extraPaths: \["secret\/\*",3\] has the wrong type \(in .*bad\.json\); expected a list of strings/,
    );
  });

  test("a section that is not an object", () => {
    expect(withFile({ pki: "pki" })).toThrow(/^pki: "pki" is not an object \(in .*bad\.json\); expected settings grouped as in the README/);
  });

  test("a file that is not an object", () => {
    expect(withFile(["pki"])).toThrow(/^\(config file\): \["pki"\] is not an object \(in .*bad\.json\); expected/);
  });

  test("a file that is not JSON", () => {
    const file = writeFile("broken.json", "{ pki: ");
    expect(() => loadConfig({ env: { VAULT_ADDR }, file, cwd })).toThrow(/^C42_CONFIG: ".*broken\.json" is not valid JSON \(.*\); expected an object like/);
  });

  test("a named file that does not exist", () => {
    expect(withEnv({ C42_CONFIG: "missing.json" })).toThrow(/^C42_CONFIG: ".*missing\.json" cannot be read \(ENOENT\); expected a readable JSON file/);
  });
});

describe("boolean environment variables", () => {
  test.each([
    ["C42_ALLOW_INSECURE_HTTP", "allowInsecureHttp"],
    ["C42_ROOT_CA_PREVENT_DESTROY", "rootCa.preventDestroy"],
  ])("%s=maybe", (name, key) => {
    const expected = new RegExp(`^${escapeRegExp(key)} \\(${name}\\): "maybe" is not a boolean; expected "true" or "false"`);
    expect(withEnv({ [name]: "maybe" })).toThrow(expected);
  });
});

describe("mount paths", () => {
  test.each([
    ["C42_KV_PATH", "/secret", "kv.path"],
    ["C42_PKI_PATH", "pki/", "pki.path"],
    ["C42_PKI_INT_PATH", "pki//int", "pki_int.path"],
    ["C42_CERT_AUTH_PATH", "/cert/", "certAuth.path"],
    ["C42_KV_PATH", "my secrets", "kv.path"],
  ])("%s=%j is not a mount path", (name, value, key) => {
    const expected = new RegExp(`^${escapeRegExp(key)}: ${escapeRegExp(JSON.stringify(value))} is not a mount path; expected .*no leading or trailing slash`);
    expect(withEnv({ [name]: value })).toThrow(expected);
  });

  test.each(["sys", "auth", "identity", "cubbyhole"])("the reserved mount %j itself", (path) => {
    const expected = new RegExp(`^kv\\.path: "${path}" is a path Vault reserves for itself; expected a path outside "sys", "auth", "identity", "cubbyhole"`);
    expect(withEnv({ C42_KV_PATH: path })).toThrow(expected);
  });

  test.each(["sys/keys", "auth/x", "cubbyhole/a/b"])("a mount under the reserved %j", (path) => {
    const expected = new RegExp(`^pki\\.path: "${escapeRegExp(path)}" lies under "${path.split("/")[0]}/", which Vault reserves for itself; expected`);
    expect(withEnv({ C42_PKI_PATH: path })).toThrow(expected);
  });

  test("pki_int at the same path as pki", () => {
    expect(withEnv({ C42_PKI_INT_PATH: "pki" })).toThrow(
      /^pki_int\.path: "pki" collides with pki\.path \("pki"\); expected secret mounts that neither equal nor nest/,
    );
  });

  test("pki_int nested inside pki", () => {
    expect(withEnv({ C42_PKI_INT_PATH: "pki/int" })).toThrow(
      /^pki_int\.path: "pki\/int" collides with pki\.path \("pki"\); expected secret mounts that neither equal nor nest/,
    );
  });

  test("pki enclosing kv", () => {
    expect(withEnv({ C42_KV_PATH: "pki/kv" })).toThrow(/^pki\.path: "pki" collides with kv\.path \("pki\/kv"\); expected/);
  });

  test("a shared prefix is not a collision", () => {
    expect(withEnv({ C42_KV_PATH: "pki_kv", C42_PKI_INT_PATH: "pkiint" })).not.toThrow();
  });
});

test("every configuration error is a KeystoreValidationError", () => {
  expect(withEnv({ C42_PKI_INT_PATH: "pki" })).toThrow(KeystoreValidationError);
  expect(withFile({ nope: 1 })).toThrow(KeystoreValidationError);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

describe("broad policy paths need policy.allowBroadPaths", () => {
  test.each([
    ["*", "every path on the server"],
    ["+/data/*", "every path on the server"],
    ["s*", "every path on the server"],
    ["sys/*", "every path under sys/"],
    ["sys/+", "every path under sys/"],
    ["auth/*", "every auth method under auth/"],
  ])("%j is refused with what it grants", (path, reach) => {
    expect(withEnv({ C42_POLICY_EXTRA_PATHS: `secret/code42/*,${path}` })).toThrow(
      new RegExp(
        `^policy\\.extraPaths\\[1\\]: ${escapeRegExp(JSON.stringify(path))} grants Code42's token create, read, update, delete and list on ${escapeRegExp(reach)}.*set policy\\.allowBroadPaths to true`,
      ),
    );
  });

  test("and accepted with it", () => {
    const config = loadConfig({ env: { VAULT_ADDR, C42_POLICY_EXTRA_PATHS: "sys/*,*", C42_POLICY_ALLOW_BROAD_PATHS: "true" }, cwd });
    expect(config.policy).toMatchObject({ extraPaths: ["sys/*", "*"], allowBroadPaths: true });
  });

  test.each(["secret/code42/*", "transit/keys/+", "sys/policy/code42*", "auth/cert/certs/*"])("%j is an ordinary path", (path) => {
    expect(loadConfig({ env: { VAULT_ADDR, C42_POLICY_EXTRA_PATHS: path }, cwd }).policy.extraPaths).toEqual([path]);
  });
});

describe("engine", () => {
  test("an unknown name is refused with the setting, its variable, the value and what is expected", () => {
    expect(withEnv({ C42_ENGINE: "opentofu" })).toThrow(
      'engine: "opentofu" is not an engine (C42_ENGINE); expected auto, tofu, terraform or the absolute path of a tofu or terraform binary',
    );
  });

  test("a relative path is refused (the working directory of a command is no place to pick a binary from)", () => {
    expect(withFile({ engine: "bin/terraform" })).toThrow(/^engine: "bin\/terraform" is not an engine \(C42_ENGINE\); expected auto, tofu, terraform or/);
  });

  test("the named choices and an absolute path are accepted", () => {
    for (const engine of ["auto", "tofu", "terraform", "/usr/local/bin/terraform"]) {
      expect(withEnv({ C42_ENGINE: engine })().engine).toBe(engine);
    }
  });
});
