import { Testing } from "cdktf";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { KvV1Mount } from "../../lib/kv-mount";
import { KeystoreProviders } from "../../lib/providers";
import { PROVIDER_VERSIONS } from "../../lib/provider-versions";

const EXACT_VERSION = /^\d+\.\d+\.\d+$/;

function synthWithEnv(env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return Testing.synthScope((scope) => {
      new KeystoreProviders(scope, "providers");
      new KvV1Mount(scope, "kv");
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("KeystoreProviders", () => {
  const synth = synthWithEnv({
    VAULT_ADDR: "https://vault.example.com:8200",
    VAULT_TOKEN: "hvs.UNITTEST-must-not-leak",
    VAULT_CACERT: "/etc/ssl/unittest-ca.pem",
  });
  const json = JSON.parse(synth);

  test("configures the Vault provider to skip the child token", () => {
    expect(synth).toHaveProviderWithProperties(VaultProvider, { skip_child_token: true });
  });

  test("leaves address, token and CA to VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT at plan time", () => {
    expect(json.provider.vault).toHaveLength(1);
    expect(Object.keys(json.provider.vault[0])).toEqual(["skip_child_token"]);
    expect(synth).not.toContain("hvs.UNITTEST-must-not-leak");
    expect(synth).not.toContain("vault.example.com");
    expect(synth).not.toContain("unittest-ca.pem");
  });

  test("adds the random provider", () => {
    expect(synth).toHaveProvider(RandomProvider);
  });

  test("pins both providers to exact versions from their registry sources", () => {
    expect(json.terraform.required_providers).toEqual({
      vault: { source: "hashicorp/vault", version: PROVIDER_VERSIONS.vault },
      random: { source: "hashicorp/random", version: PROVIDER_VERSIONS.random },
    });
    expect(PROVIDER_VERSIONS.vault).toMatch(EXACT_VERSION);
    expect(PROVIDER_VERSIONS.random).toMatch(EXACT_VERSION);
  });
});
