// The smallest cdktf app on the same libraries: one provider, one resource. `npm run bench` times its synth
// next to the keystore's, run the same way, so the ratio shows what the keystore's own code costs.
import { App, TerraformStack } from "cdktf";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";

const app = new App();
const stack = new TerraformStack(app, "bare");
new VaultProvider(stack, "vault", {});
new Mount(stack, "kv", { path: "secret", type: "kv", options: { version: "1" } });
app.synth();
