import { Construct } from "constructs";
import { TerraformStack } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { PROVIDER_VERSIONS } from "./provider-versions";

/**
 * The providers of the keystore stack. The Vault provider takes its address,
 * token and CA from VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT at plan time, so
 * no credential is ever written into the synthesized JSON.
 */
export class KeystoreProviders extends Construct {
  /** The Vault provider. */
  public readonly vault: VaultProvider;
  /** The random provider (PKCS#12 password). */
  public readonly random: RandomProvider;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    this.vault = new VaultProvider(this, "vault", {
      // A child token would outlive nothing useful here and needs
      // auth/token/create, which a narrowly scoped deploy token may lack.
      skipChildToken: true,
    });
    this.random = new RandomProvider(this, "random");
    const stack = TerraformStack.of(this);
    for (const [name, version] of Object.entries(PROVIDER_VERSIONS)) {
      stack.addOverride(`terraform.required_providers.${name}.version`, version);
    }
  }
}
