import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROVIDER_VERSIONS } from "../../../lib/provider-versions";
import { REGISTRY_HOST, chooseProviderSource, describeProviderSource, providerEnv } from "../../../ops/engine/provider-source";

let work: string;
let home: string;
let cache: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "c42-providers-"));
  home = join(work, "home");
  cache = join(work, "cache");
  mkdirSync(home);
  mkdirSync(cache);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: home, C42_CACHE: cache, ...extra });
const ourRc = () => join(cache, "tofu.rc");

/** A toolchain mirror holding the pinned providers for `hosts`. */
function buildMirror(hosts: string[]): void {
  const mirror = join(cache, "providers");
  for (const host of hosts) {
    for (const [name, version] of Object.entries(PROVIDER_VERSIONS)) {
      const dir = join(mirror, host, "hashicorp", name, version, "linux_amd64");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `terraform-provider-${name}_v${version}`), "");
    }
  }
  writeFileSync(ourRc(), `provider_installation {\n  filesystem_mirror {\n    path = "${mirror}"\n  }\n}\n`);
  writeFileSync(join(cache, "toolchain.env"), `C42_PROVIDER_MIRROR=${mirror}\nTF_CLI_CONFIG_FILE=${ourRc()}\n`);
}

test("the toolchain's mirror, when it holds the pinned versions for the engine's registry host", () => {
  buildMirror([REGISTRY_HOST.tofu, REGISTRY_HOST.terraform]);
  for (const kind of ["tofu", "terraform"] as const) {
    const source = chooseProviderSource(kind, env());
    expect(source).toEqual({ kind: "mirror", cliConfigFile: ourRc(), mirror: join(cache, "providers") });
    expect(providerEnv(source)).toEqual({ TF_CLI_CONFIG_FILE: ourRc() });
    expect(describeProviderSource(source, kind)).toBe(`providers from the toolchain's mirror (${join(cache, "providers")})`);
  }
});

test("a user's TF_CLI_CONFIG_FILE wins over the mirror and is never replaced", () => {
  buildMirror([REGISTRY_HOST.tofu, REGISTRY_HOST.terraform]);
  const theirs = join(work, "their.rc");
  writeFileSync(theirs, 'credentials "app.terraform.io" {}\n');
  const source = chooseProviderSource("terraform", env({ TF_CLI_CONFIG_FILE: theirs }));
  expect(source).toEqual({ kind: "user", reason: `your CLI configuration (TF_CLI_CONFIG_FILE=${theirs})` });
  expect(providerEnv(source)).toEqual({});
});

test("a TF_CLI_CONFIG_FILE naming no file (the engines ignore it with a warning) does not count; nor does our own", () => {
  buildMirror([REGISTRY_HOST.tofu]);
  expect(chooseProviderSource("tofu", env({ TF_CLI_CONFIG_FILE: join(work, "missing.rc") })).kind).toBe("mirror");
  expect(chooseProviderSource("tofu", env({ TF_CLI_CONFIG_FILE: ourRc() })).kind).toBe("mirror");
});

test("an rc file counts when it says how to install providers (provider_installation or plugin_cache_dir)", () => {
  buildMirror([REGISTRY_HOST.tofu, REGISTRY_HOST.terraform]);
  writeFileSync(join(home, ".terraformrc"), 'credentials "app.terraform.io" {}\n');
  expect(chooseProviderSource("terraform", env()).kind).toBe("mirror");
  writeFileSync(join(home, ".terraformrc"), 'plugin_cache_dir = "/var/cache/terraform"\n');
  expect(chooseProviderSource("terraform", env())).toEqual({ kind: "user", reason: `your CLI configuration (${join(home, ".terraformrc")})` });
  // OpenTofu reads ~/.terraformrc when there is no ~/.tofurc, and only ~/.tofurc when there is one.
  expect(chooseProviderSource("tofu", env()).kind).toBe("user");
  writeFileSync(join(home, ".tofurc"), "provider_installation {\n  direct {}\n}\n");
  expect(chooseProviderSource("tofu", env())).toEqual({ kind: "user", reason: `your CLI configuration (${join(home, ".tofurc")})` });
  writeFileSync(join(home, ".tofurc"), "# nothing about providers\n");
  expect(chooseProviderSource("tofu", env()).kind).toBe("mirror");
});

test("TF_PLUGIN_CACHE_DIR counts as the user's own source", () => {
  buildMirror([REGISTRY_HOST.terraform]);
  expect(chooseProviderSource("terraform", env({ TF_PLUGIN_CACHE_DIR: "/var/cache/tf" })).kind).toBe("user");
});

test("nothing of the user's and no complete mirror for this engine: the engine's registry", () => {
  expect(chooseProviderSource("tofu", env())).toEqual({ kind: "registry" });
  buildMirror([REGISTRY_HOST.tofu]);
  const source = chooseProviderSource("terraform", env());
  expect(source).toEqual({ kind: "registry" });
  expect(providerEnv(source)).toEqual({});
  expect(describeProviderSource(source, "terraform")).toBe(
    "providers from the engine's defaults: its local plugin directories, else registry.terraform.io (no CLI configuration of yours, no toolchain mirror)",
  );
});
