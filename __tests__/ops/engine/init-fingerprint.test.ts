import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../../../ops/engine/engine";
import { INIT_FINGERPRINT_FILE, forgetInit, initFingerprint, initIsCurrent, recordInit } from "../../../ops/engine/init-fingerprint";
import { ProviderSource } from "../../../ops/engine/provider-source";

// A stack directory as init leaves it, with a mirror its provider directory links into; no engine runs here.
let dir: string;
let stackDir: string;
let engine: Engine;
let providers: ProviderSource;
let env: NodeJS.ProcessEnv;
const plugin = () => join(dir, "mirror", "registry.opentofu.org", "hashicorp", "vault", "5.9.0", "linux_amd64", "terraform-provider-vault_v5.9.0");
const synthesized = (backendPath: string, resources: Record<string, unknown> = {}) =>
  JSON.stringify({
    terraform: { backend: { local: { path: backendPath } }, required_providers: { vault: { source: "hashicorp/vault", version: "5.9.0" } } },
    resource: resources,
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-init-fingerprint-"));
  stackDir = join(dir, "stack");
  const installed = join(stackDir, ".terraform", "providers", "registry.opentofu.org", "hashicorp", "vault", "5.9.0");
  mkdirSync(installed, { recursive: true });
  mkdirSync(join(plugin(), ".."), { recursive: true });
  writeFileSync(plugin(), "plugin v1");
  symlinkSync(join(plugin(), ".."), join(installed, "linux_amd64"));
  writeFileSync(join(stackDir, "cdk.tf.json"), synthesized("/state/keystore.tfstate"));
  writeFileSync(join(stackDir, ".terraform.lock.hcl"), 'provider "registry.opentofu.org/hashicorp/vault" {}\n');
  writeFileSync(join(stackDir, ".terraform", "terraform.tfstate"), '{"backend":{"type":"local"}}');
  writeFileSync(join(dir, "tofu"), "engine binary");
  writeFileSync(join(dir, "tofu.rc"), "provider_installation {}\n");
  engine = { kind: "tofu", version: "1.10.10", binary: join(dir, "tofu"), foundBy: "test" };
  providers = { kind: "mirror", cliConfigFile: join(dir, "tofu.rc"), mirror: join(dir, "mirror") };
  env = { HOME: dir };
  recordInit(stackDir, engine, providers, env);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const current = () => initIsCurrent(stackDir, engine, providers, env);

describe("init fingerprint: tofu init is skipped only while nothing it depends on changed", () => {
  test("recorded after init, current with the same inputs, stable across calls", () => {
    expect(readFileSync(join(stackDir, INIT_FINGERPRINT_FILE), "utf8")).toMatch(/^[0-9a-f]{64}$/);
    expect(current()).toBe(true);
    expect(initFingerprint(stackDir, engine, providers, env)).toBe(initFingerprint(stackDir, engine, providers, env));
  });

  test("a change outside the terraform block (resources, outputs) keeps it current", () => {
    writeFileSync(join(stackDir, "cdk.tf.json"), synthesized("/state/keystore.tfstate", { vault_policy: { p: { name: "x" } } }));
    expect(current()).toBe(true);
  });

  test.each<[string, () => void]>([
    ["another backend (the state moved)", () => writeFileSync(join(stackDir, "cdk.tf.json"), synthesized("/elsewhere/keystore.tfstate"))],
    ["a removed .terraform", () => rmSync(join(stackDir, ".terraform"), { recursive: true })],
    ["a backend recorded by another init", () => writeFileSync(join(stackDir, ".terraform", "terraform.tfstate"), '{"backend":{"type":"pg"}}')],
    ["an edited lock file", () => writeFileSync(join(stackDir, ".terraform.lock.hcl"), "# other hashes\n")],
    ["a rebuilt plugin in the mirror", () => writeFileSync(plugin(), "plugin v2, larger")],
    ["a plugin with a new time", () => utimesSync(plugin(), new Date(0), new Date(0))],
    ["a removed mirror", () => rmSync(join(dir, "mirror"), { recursive: true })],
    ["an edited CLI config", () => writeFileSync(join(dir, "tofu.rc"), "provider_installation { direct {} }\n")],
    ["a rebuilt engine binary", () => writeFileSync(join(dir, "tofu"), "another engine binary")],
    ["another engine", () => (engine = { ...engine, kind: "terraform", version: "1.11.4" })],
    ["another provider source", () => (providers = { kind: "registry" })],
    ["a plugin cache", () => (env = { ...env, TF_PLUGIN_CACHE_DIR: "/cache" })],
    ["a forgotten init (one that is running or failed)", () => forgetInit(stackDir)],
  ])("%s makes init run again", (_, change) => {
    change();
    expect(current()).toBe(false);
  });
});
