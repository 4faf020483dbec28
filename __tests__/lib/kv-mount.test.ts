import { TerraformOutput, Testing } from "cdktf";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { KvV1Mount } from "../../lib/kv-mount";

describe("KvV1Mount", () => {
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const mount = new KvV1Mount(scope, "kv");
    new TerraformOutput(scope, "path", { value: mount.path });
  });
  const mounts = JSON.parse(synth).resource.vault_mount as Record<string, Record<string, unknown>>;

  test("enables kv version 1 at secret (vault secrets enable -path=secret -version=1 kv)", () => {
    expect(synth).toHaveResourceWithProperties(Mount, {
      path: "secret",
      type: "kv",
      options: { version: "1" },
      description: "Code42 keystore secrets (kv version 1)",
    });
  });

  test("is one mount with no lease limits", () => {
    const all = Object.values(mounts);
    expect(all).toHaveLength(1);
    expect(all[0]).not.toHaveProperty("max_lease_ttl_seconds");
    expect(all[0]).not.toHaveProperty("default_lease_ttl_seconds");
  });

  test("exposes its path as a reference to the mount, so users depend on it", () => {
    const [id] = Object.keys(mounts);
    expect(JSON.parse(synth).output.path.value).toBe("${vault_mount." + id + ".path}");
  });

  test("is protected against destroy and replacement by default: it holds the archive keys", () => {
    expect(synth).toHaveResourceWithProperties(Mount, { path: "secret", lifecycle: { prevent_destroy: true } });
  });

  test("only preventDestroy false lifts the protection", () => {
    const released = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      new KvV1Mount(scope, "kv", { preventDestroy: false });
    });
    const [mount] = Object.values(JSON.parse(released).resource.vault_mount as Record<string, Record<string, unknown>>);
    expect(mount).not.toHaveProperty("lifecycle");
  });

  test("takes another path and description", () => {
    const custom = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      new KvV1Mount(scope, "kv", { path: "code42/kv", description: "archive keys" });
    });
    expect(custom).toHaveResourceWithProperties(Mount, { path: "code42/kv", type: "kv", options: { version: "1" }, description: "archive keys" });
    expect(custom).not.toHaveResourceWithProperties(Mount, { path: "secret" });
  });
});
