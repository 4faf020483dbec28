import { TerraformOutput, Testing } from "cdktf";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { PkiSecretBackendConfigUrls } from "@cdktf/provider-vault/lib/pki-secret-backend-config-urls";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { PkiSecretBackendRootCert } from "@cdktf/provider-vault/lib/pki-secret-backend-root-cert";
import { RootCa } from "../../lib/ca-chain";
import { IPkiMount, TunedPkiMount, TunedPkiMountProps } from "../../lib/pki-mount";
import { Resources, ref } from "../helpers/synth";

const URL = "https://vault.example.com:8200";

function synthMount(props: Partial<TunedPkiMountProps> = {}, id = "pki") {
  let mount!: TunedPkiMount;
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    mount = new TunedPkiMount(scope, id, { path: "pki", maxLeaseTtl: "87600h", publicUrl: URL, ...props });
    new TerraformOutput(scope, "path", { value: mount.path });
  });
  const json = JSON.parse(synth);
  const mountIds = Object.keys((json.resource as Resources).vault_mount);
  if (mountIds.length !== 1) throw new Error(`expected one vault_mount, found ${mountIds.length}`);
  return { synth, json, mount, mountId: mountIds[0] };
}

describe("TunedPkiMount, root seed (pki, 87600h)", () => {
  const { synth, json, mount, mountId } = synthMount();

  test("enables pki at pki with a 87600h maximum lease (vault secrets tune -max-lease-ttl=87600h pki)", () => {
    expect(synth).toHaveResourceWithProperties(Mount, {
      path: "pki",
      type: "pki",
      max_lease_ttl_seconds: 315360000,
      description: "Code42 keystore PKI (pki)",
    });
    expect(mount.maxLeaseSeconds).toBe(315360000);
    expect(mount.maxLeaseTtl).toBe("87600h");
  });

  test("is destroyable unless asked otherwise", () => {
    expect(json.resource.vault_mount[mountId]).not.toHaveProperty("lifecycle");
  });

  test("configures CA and CRL URLs on this mount, both from the one public URL", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      backend: ref("vault_mount", mountId, "path"),
      issuing_certificates: ["https://vault.example.com:8200/v1/pki/ca"],
      crl_distribution_points: ["https://vault.example.com:8200/v1/pki/crl"],
    });
    expect(mount.issuingCertificateUrl).toBe("https://vault.example.com:8200/v1/pki/ca");
    expect(mount.crlDistributionUrl).toBe("https://vault.example.com:8200/v1/pki/crl");
  });

  test("exposes path as a reference to the mount", () => {
    expect(json.output.path.value).toBe(ref("vault_mount", mountId, "path"));
  });
});

describe("TunedPkiMount, intermediate seed (pki_int, 43800h)", () => {
  const { synth, mountId } = synthMount({ path: "pki_int", maxLeaseTtl: "43800h" }, "pki_int");

  test("enables pki at pki_int with a 43800h maximum lease", () => {
    expect(synth).toHaveResourceWithProperties(Mount, { path: "pki_int", type: "pki", max_lease_ttl_seconds: 157680000 });
  });

  test("builds its URLs from its own path", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      backend: ref("vault_mount", mountId, "path"),
      issuing_certificates: ["https://vault.example.com:8200/v1/pki_int/ca"],
      crl_distribution_points: ["https://vault.example.com:8200/v1/pki_int/crl"],
    });
  });
});

describe("TunedPkiMount, non-default props", () => {
  test("a renamed path flows into the mount and both URLs, under the same resource id", () => {
    const seed = synthMount();
    const renamed = synthMount({ path: "code42/root" });
    expect(renamed.mountId).toBe(seed.mountId);
    expect(renamed.synth).toHaveResourceWithProperties(Mount, { path: "code42/root", description: "Code42 keystore PKI (code42/root)" });
    expect(renamed.synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      issuing_certificates: ["https://vault.example.com:8200/v1/code42/root/ca"],
      crl_distribution_points: ["https://vault.example.com:8200/v1/code42/root/crl"],
    });
  });

  test("a trailing slash on the public URL does not double up", () => {
    const { synth } = synthMount({ publicUrl: "https://vault.example.com/" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      issuing_certificates: ["https://vault.example.com/v1/pki/ca"],
      crl_distribution_points: ["https://vault.example.com/v1/pki/crl"],
    });
  });

  test("a public URL behind a path prefix keeps the prefix", () => {
    const { synth } = synthMount({ publicUrl: "https://proxy.example.com/vault" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, { issuing_certificates: ["https://proxy.example.com/vault/v1/pki/ca"] });
  });

  test("http is accepted with allowInsecureHttp", () => {
    const { synth } = synthMount({ publicUrl: "http://127.0.0.1:8200", allowInsecureHttp: true });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendConfigUrls, {
      issuing_certificates: ["http://127.0.0.1:8200/v1/pki/ca"],
      crl_distribution_points: ["http://127.0.0.1:8200/v1/pki/crl"],
    });
  });

  test("preventDestroy guards the mount", () => {
    const { synth } = synthMount({ preventDestroy: true });
    expect(synth).toHaveResourceWithProperties(Mount, { path: "pki", lifecycle: { prevent_destroy: true } });
  });

  test("maxLeaseTtl in other units is converted to seconds", () => {
    const { synth, mount } = synthMount({ maxLeaseTtl: "365d" });
    expect(synth).toHaveResourceWithProperties(Mount, { max_lease_ttl_seconds: 31536000 });
    expect(mount.maxLeaseTtl).toBe("8760h");
  });

  test("description can be set", () => {
    const { synth } = synthMount({ description: "root CA" });
    expect(synth).toHaveResourceWithProperties(Mount, { description: "root CA" });
  });
});

describe("TunedPkiMount.fromPath and fromAttributes: a PKI mount that already exists", () => {
  function synthOnExisting(attributes: { path: string; maxLeaseTtl?: string }) {
    let existing!: IPkiMount;
    const synth = Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault");
      existing =
        attributes.maxLeaseTtl === undefined ? TunedPkiMount.fromPath(scope, "pki", attributes.path) : TunedPkiMount.fromAttributes(scope, "pki", attributes);
      new RootCa(scope, "rootCa", { mount: existing, ttl: "87600h" });
    });
    return { synth, json: JSON.parse(synth), existing };
  }

  test("creates no mount and no URLs, and its users name the path as given", () => {
    const { synth, json, existing } = synthOnExisting({ path: "corp/pki" });
    expect(json.resource.vault_mount).toBeUndefined();
    expect(json.resource.vault_pki_secret_backend_config_urls).toBeUndefined();
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendRootCert, { backend: "corp/pki" });
    expect(existing.path).toBe("corp/pki");
    expect(existing.maxLeaseSeconds).toBeUndefined();
  });

  test("with a known maximum lease, TTLs are checked against it under the mount's setting name", () => {
    expect(synthOnExisting({ path: "pki", maxLeaseTtl: "87600h" }).existing.maxLeaseSeconds).toBe(315360000);
    expect(() => synthOnExisting({ path: "pki", maxLeaseTtl: "8760h" })).toThrow(
      /^rootCa\.ttl: "87600h" is longer than pki\.maxLeaseTtl \(8760h\); expected at most 8760h/,
    );
  });
});
