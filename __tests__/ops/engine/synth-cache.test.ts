import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../lib/config";
import { SETTINGS } from "../../../lib/settings";
import {
  MAX_ENTRIES,
  PATHS_NOT_READ,
  PATHS_READ,
  SYNTH_CACHE_DIR,
  SynthCacheInputs,
  synthCacheKey,
  synthesizeWithCache,
} from "../../../ops/engine/synth-cache";
import { editKeepingSizeAndTime } from "../../helpers/project-copy";

// The cache on its own, with a stand-in synth that writes what cdktf writes (a manifest and the stack it names)
// and counts its runs; deployment-synth-cache.test.ts runs the real synth through Deployment.
let dir: string;
let outdir: string;
let sourceDir: string;
let runs: number;

const STACK = join("stacks", "keystore", "cdk.tf.json");
const synthesizeAs = (json: string) => () => {
  runs++;
  mkdirSync(join(outdir, "stacks", "keystore"), { recursive: true });
  writeFileSync(join(outdir, STACK), json);
  writeFileSync(join(outdir, "manifest.json"), JSON.stringify({ stacks: { keystore: { synthesizedStackPath: STACK } }, version: "0.21.0" }));
};
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ C42_STATE_DIR: join(dir, "state"), VAULT_ADDR: "https://127.0.0.1:8200", ...extra });
const inputs = (over: Partial<SynthCacheInputs> = {}): SynthCacheInputs => {
  const e = over.env ?? env();
  return {
    builder: "deployment",
    config: loadConfig({ env: e, cwd: dir }),
    env: e,
    cwd: dir,
    engine: { kind: "tofu", version: "1.10.10" },
    records: { rotation: { phase: "idle", recorded: "idle" }, adoption: undefined },
    outdir,
    sourceDir,
    ...over,
  };
};

/** Writes a source file as a checkout holds it: written before this process started (a newer one makes no key, below). */
const writeSource = (file: string, content: string) => {
  writeFileSync(file, content);
  utimesSync(file, new Date(1_600_000_000_000), new Date(1_600_000_000_000));
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-synth-cache-"));
  outdir = join(dir, "cdktf.out");
  // A checkout as the key reads it: sources, lock files, installed packages.
  sourceDir = join(dir, "checkout");
  mkdirSync(join(sourceDir, "lib"), { recursive: true });
  mkdirSync(join(sourceDir, "node_modules", "cdktf"), { recursive: true });
  writeSource(join(sourceDir, "lib", "kv-mount.ts"), 'export const DEFAULT_KV = "c42kv";\n');
  writeSource(join(sourceDir, "main.ts"), "// the cdktf app\n");
  writeSource(join(sourceDir, "package-lock.json"), '{"packages":{"node_modules/cdktf":{"version":"0.21.0"}}}\n');
  writeSource(join(sourceDir, "node_modules", "cdktf", "package.json"), '{"name":"cdktf","version":"0.21.0"}\n');
  runs = 0;
});
afterEach(() => {
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

describe("synth cache: the same inputs reuse the JSON", () => {
  test("a second synth with every input unchanged writes the same files without synthesizing", () => {
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'))).toBe("synthesized");
    const manifest = readFileSync(join(outdir, "manifest.json"), "utf8");
    rmSync(join(outdir, "stacks"), { recursive: true });
    rmSync(join(outdir, "manifest.json"));
    expect(synthesizeWithCache(inputs(), synthesizeAs("never written"))).toBe("reused");
    expect(runs).toBe(1);
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"a":1}');
    expect(readFileSync(join(outdir, "manifest.json"), "utf8")).toBe(manifest);
  });

  test("a hand-edited cdk.tf.json is put back as synthesized; an unchanged one is left as it is", () => {
    synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'));
    writeFileSync(join(outdir, STACK), '{"a":"edited"}');
    expect(synthesizeWithCache(inputs(), synthesizeAs("x"))).toBe("reused");
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"a":1}');
    const before = statSync(join(outdir, STACK)).mtimeMs;
    utimesSync(join(outdir, STACK), new Date(1_000_000), new Date(1_000_000));
    synthesizeWithCache(inputs(), synthesizeAs("x"));
    expect(statSync(join(outdir, STACK)).mtimeMs).toBe(1_000_000);
    expect(before).toBeGreaterThan(1_000_000);
  });

  test("the key is stable: the same inputs in another order give the same key", () => {
    const a = synthCacheKey(inputs({ records: { rotation: { phase: "idle", recorded: "idle" }, cluster: { id: "c", name: "n" } } }));
    const b = synthCacheKey(inputs({ records: { cluster: { name: "n", id: "c" }, rotation: { recorded: "idle", phase: "idle" } } }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });
});

describe("synth cache: every input that can change the JSON makes the next command synthesize", () => {
  const changed = (before: SynthCacheInputs, after: SynthCacheInputs) => {
    synthesizeWithCache(before, synthesizeAs('{"v":"before"}'));
    expect(synthesizeWithCache(after, synthesizeAs('{"v":"after"}'))).toBe("synthesized");
    expect(runs).toBe(2);
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"v":"after"}');
  };

  test("an edit of the config file, same size and same modification time", () => {
    const file = join(dir, "keystore.config.json");
    writeFileSync(file, JSON.stringify({ kv: { path: "c42kv" } }));
    const before = inputs();
    synthesizeWithCache(before, synthesizeAs('{"v":"before"}'));
    editKeepingSizeAndTime(file, "c42kv", "c43kv");
    const after = inputs();
    expect(after.config.kv.path).toBe("c43kv");
    expect(synthesizeWithCache(after, synthesizeAs('{"v":"after"}'))).toBe("synthesized");
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"v":"after"}');
    // The file's content counts by itself, beside the settings loaded from it.
    const key = synthCacheKey(after);
    editKeepingSizeAndTime(file, "c43kv", "c44kv");
    expect(synthCacheKey(after)).not.toBe(key);
  });

  test("a file named by C42_CONFIG, edited in place", () => {
    writeFileSync(join(dir, "other.json"), JSON.stringify({ certRole: { name: "crashplan" } }));
    const e = env({ C42_CONFIG: "other.json" });
    const before = inputs({ env: e });
    synthesizeWithCache(before, synthesizeAs('{"v":"before"}'));
    editKeepingSizeAndTime(join(dir, "other.json"), "crashplan", "crashplam");
    expect(synthesizeWithCache(inputs({ env: e }), synthesizeAs('{"v":"after"}'))).toBe("synthesized");
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"v":"after"}');
  });

  test.each([
    ["a changed setting value", { C42_KV_PATH: "otherkv" }],
    ["a setting set to its default value", { C42_KV_PATH: "c42kv" }],
    ["another C42_CONFIG", { C42_CONFIG: "elsewhere.json" }],
    ["another VAULT_ADDR", { VAULT_ADDR: "https://127.0.0.2:8200" }],
    ["a state passphrase appearing (state encryption on)", { C42_STATE_PASSPHRASE: "a passphrase of 16+ chars" }],
    ["a C42_* variable no setting reads appearing", { C42_SOMETHING_NEW: "1" }],
  ])("a changed C42_* value: %s", (_what, extra) => {
    // The key is compared with the loaded settings held fixed: the variable alone must move it.
    const before = inputs();
    expect(synthCacheKey({ ...before, env: env(extra) })).not.toBe(synthCacheKey(before));
  });

  test("a changed C42_* value, loaded: the next synth builds from it", () => {
    changed(inputs(), inputs({ env: env({ C42_CERT_ROLE_TOKEN_TTL: "2h" }) }));
  });

  test("secrets count by presence only: another passphrase gives the same key, and no key or file holds it", () => {
    const one = inputs({ env: env({ C42_STATE_PASSPHRASE: "first passphrase, 16+", C42_UNSEAL_KEYS: "k1" }) });
    const two = inputs({ env: env({ C42_STATE_PASSPHRASE: "second passphrase 16+", C42_UNSEAL_KEYS: "k2" }) });
    expect(synthCacheKey(two)).toBe(synthCacheKey(one));
    synthesizeWithCache(one, synthesizeAs('{"v":1}'));
    for (const name of readdirSync(join(outdir, SYNTH_CACHE_DIR))) {
      const text = readFileSync(join(outdir, SYNTH_CACHE_DIR, name), "utf8");
      expect(text).not.toContain("first passphrase");
      expect(text).not.toContain("k1");
    }
  });

  test("an edited source file of the same size and the same modification time", () => {
    const before = inputs();
    synthesizeWithCache(before, synthesizeAs('{"v":"before"}'));
    editKeepingSizeAndTime(join(sourceDir, "lib", "kv-mount.ts"), "c42kv", "c43kv");
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"v":"after"}'))).toBe("synthesized");
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"v":"after"}');
  });

  test.each([
    ["a new source file", () => writeSource(join(sourceDir, "lib", "new-construct.ts"), "export {};\n")],
    ["a removed source file", () => rmSync(join(sourceDir, "main.ts"))],
    ["an edited file in ops/", () => (mkdirSync(join(sourceDir, "ops")), writeSource(join(sourceDir, "ops", "x.ts"), "export {};\n"))],
    ["another tsconfig.json", () => writeSource(join(sourceDir, "tsconfig.json"), '{"compilerOptions":{"target":"ES2022"}}')],
  ])("a source change: %s", (_what, change) => {
    const key = synthCacheKey(inputs());
    change();
    const next = synthCacheKey(inputs());
    expect(next).toMatch(/^[0-9a-f]{64}$/);
    expect(next).not.toBe(key);
  });

  test("a source or dependency file modified after this process started: no key, so nothing is reused or kept (the code running may not be the code on disk)", () => {
    synthesizeWithCache(inputs(), synthesizeAs('{"v":"before"}'));
    writeFileSync(join(sourceDir, "lib", "kv-mount.ts"), 'export const DEFAULT_KV = "c43kv";\n');
    expect(synthCacheKey(inputs())).toBeUndefined();
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"v":"after"}'))).toBe("synthesized");
    expect(readdirSync(join(outdir, SYNTH_CACHE_DIR))).toHaveLength(1);
    utimesSync(join(sourceDir, "lib", "kv-mount.ts"), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
    writeFileSync(join(sourceDir, "node_modules", "cdktf", "package.json"), '{"name":"cdktf","version":"0.22.0"}\n');
    expect(synthCacheKey(inputs())).toBeUndefined();
  });

  test("an upgraded dependency: the lock file, or the installed package's version", () => {
    const before = inputs();
    synthesizeWithCache(before, synthesizeAs('{"v":"before"}'));
    editKeepingSizeAndTime(join(sourceDir, "package-lock.json"), "0.21.0", "0.21.1");
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"v":"lock"}'))).toBe("synthesized");
    // Installed without the lock file changing (npm install of one package, a hand copy): the package's own version.
    editKeepingSizeAndTime(join(sourceDir, "node_modules", "cdktf", "package.json"), "0.21.0", "0.21.1");
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"v":"installed"}'))).toBe("synthesized");
    expect(runs).toBe(3);
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"v":"installed"}');
  });

  test.each([
    ["the rotation phase built", { rotation: { phase: "issued", recorded: "idle" }, adoption: undefined }],
    ["the rotation phase recorded", { rotation: { phase: "idle", recorded: "issued" }, adoption: undefined }],
    ["an adoption", { rotation: { phase: "idle", recorded: "idle" }, adoption: { rootIssuerId: "r-1", intermediateIssuerId: "i-1" } }],
    ["imports", { rotation: { phase: "idle", recorded: "idle" }, imports: { "vault_mount.pki": "pki" } }],
    ["the cluster", { rotation: { phase: "idle", recorded: "idle" }, cluster: { id: "a", name: "b", tokenAccessor: "auth_token_1" } }],
    ["rebinding", { rotation: { phase: "idle", recorded: "idle" }, rebinding: true }],
    ["releaseArchiveKeys", { rotation: { phase: "idle", recorded: "idle" }, releaseArchiveKeys: true }],
    ["stateExisted", { rotation: { phase: "idle", recorded: "idle" }, stateExisted: false }],
  ])("a changed state record or command input: %s", (_what, records) => {
    changed(inputs(), inputs({ records }));
  });

  test.each<[string, Partial<SynthCacheInputs>]>([
    ["another engine", { engine: { kind: "terraform", version: "1.11.4" } }],
    ["another engine version", { engine: { kind: "tofu", version: "1.9.0" } }],
    ["no engine found", { engine: undefined }],
    ["the cdktf app instead of the npm commands", { builder: "cdktf-app" }],
  ])("%s", (_what, over) => {
    changed(inputs(), inputs(over));
  });

  test("what cdktf reads from the process environment (SYNTH_HCL_OUTPUT, CDKTF_CONTEXT_JSON, …)", () => {
    const key = synthCacheKey(inputs());
    const saved = process.env.CDKTF_CONTEXT_JSON;
    process.env.CDKTF_CONTEXT_JSON = '{"x":1}';
    try {
      expect(synthCacheKey(inputs())).not.toBe(key);
    } finally {
      if (saved === undefined) delete process.env.CDKTF_CONTEXT_JSON;
      else process.env.CDKTF_CONTEXT_JSON = saved;
    }
  });

  test("a file a setting points the synth at, edited in place; an unreadable one is never cached", () => {
    const keys = join(dir, "ci-keys.pem");
    writeFileSync(keys, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    const e = env({ C42_CI_VALIDATION_KEYS_FILE: keys });
    const before = synthCacheKey(inputs({ env: e }));
    editKeepingSizeAndTime(keys, "AAAA", "BBBB");
    expect(synthCacheKey(inputs({ env: e }))).not.toBe(before);
    chmodSync(keys, 0o000);
    rmSync(keys);
    expect(synthCacheKey(inputs({ env: e }))).toBeUndefined();
  });

  test("an intermediate chain file that no longer passes the synth's check (it expired, or is not a chain) is never reused", () => {
    const chain = join(dir, "intermediate.pem");
    writeFileSync(chain, "not a certificate\n");
    const e = env({ C42_INTERMEDIATE_CA_SIGNED_CERTIFICATE_FILE: chain });
    expect(synthCacheKey(inputs({ env: e }))).toBeUndefined();
    synthesizeWithCache(inputs({ env: e }), synthesizeAs("{}"));
    expect(synthesizeWithCache(inputs({ env: e }), synthesizeAs("{}"))).toBe("synthesized");
    expect(existsSync(join(outdir, SYNTH_CACHE_DIR))).toBe(false);
  });
});

describe("synth cache: a cache that cannot be used costs only the reuse", () => {
  test("a file where the cache directory should be: every synth runs, nothing is said, nothing fails", () => {
    mkdirSync(outdir, { recursive: true });
    writeFileSync(join(outdir, SYNTH_CACHE_DIR), "not a directory");
    const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'))).toBe("synthesized");
      expect(synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'))).toBe("synthesized");
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
    expect(runs).toBe(2);
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"a":1}');
  });

  test("a read-only cache directory (for a user other than root, whom no mode stops)", () => {
    synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'));
    const cache = join(outdir, SYNTH_CACHE_DIR);
    for (const name of readdirSync(cache)) rmSync(join(cache, name));
    chmodSync(cache, 0o500);
    try {
      expect(synthesizeWithCache(inputs(), synthesizeAs('{"a":2}'))).toBe("synthesized");
      const second = synthesizeWithCache(inputs(), synthesizeAs('{"a":2}'));
      expect(second).toBe(process.getuid?.() === 0 ? "reused" : "synthesized");
      expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"a":2}');
    } finally {
      chmodSync(cache, 0o700);
    }
  });

  test.each([
    ["garbage", () => "{not json"],
    ["a truncated entry", (text: string) => text.slice(0, text.length / 2)],
    ["an entry of another key", (text: string) => text.replace(/"key":"[0-9a-f]{8}/, '"key":"00000000')],
    ["an entry without the manifest", (text: string) => JSON.stringify({ ...JSON.parse(text), files: { [STACK]: "{}" } })],
    [
      "an entry that writes outside cdktf.out",
      (text: string) => JSON.stringify({ ...JSON.parse(text), files: { "manifest.json": "{}", "../escape.json": "{}" } }),
    ],
  ])("a corrupt entry (%s) is synthesized again and replaced", (_what, corrupt) => {
    synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'));
    const cache = join(outdir, SYNTH_CACHE_DIR);
    const [entry] = readdirSync(cache);
    writeFileSync(join(cache, entry), corrupt(readFileSync(join(cache, entry), "utf8")));
    expect(synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'))).toBe("synthesized");
    expect(existsSync(join(dir, "escape.json"))).toBe(false);
    expect(synthesizeWithCache(inputs(), synthesizeAs("x"))).toBe("reused");
    expect(readFileSync(join(outdir, STACK), "utf8")).toBe('{"a":1}');
  });

  test("a synth that wrote no manifest is not kept", () => {
    const noManifest = () => {
      runs++;
      mkdirSync(join(outdir, "stacks", "keystore"), { recursive: true });
      writeFileSync(join(outdir, STACK), "{}");
    };
    synthesizeWithCache(inputs(), noManifest);
    expect(synthesizeWithCache(inputs(), noManifest)).toBe("synthesized");
  });
});

describe("synth cache: files and limits", () => {
  test("entries are 0600 in a 0700 directory", () => {
    synthesizeWithCache(inputs(), synthesizeAs('{"a":1}'));
    const cache = join(outdir, SYNTH_CACHE_DIR);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(cache)) expect(statSync(join(cache, name)).mode & 0o777).toBe(0o600);
  });

  test(`at most ${MAX_ENTRIES} entries are kept, the least recently used go first`, () => {
    const first = inputs({ records: { n: 0 } });
    synthesizeWithCache(first, synthesizeAs("{}"));
    for (let n = 1; n <= MAX_ENTRIES; n++) {
      // The first is used again each time, so it stays while the second-oldest goes.
      utimesSync(join(outdir, SYNTH_CACHE_DIR, `${synthCacheKey(first)}.json`), new Date(), new Date(Date.now() + 60_000));
      synthesizeWithCache(inputs({ records: { n } }), synthesizeAs("{}"));
    }
    const names = readdirSync(join(outdir, SYNTH_CACHE_DIR));
    expect(names).toHaveLength(MAX_ENTRIES);
    expect(names).toContain(`${synthCacheKey(first)}.json`);
    expect(names).not.toContain(`${synthCacheKey(inputs({ records: { n: 1 } }))}.json`);
  });
});

describe("synth cache: what the key must cover is complete (tripwires for new code)", () => {
  test("every path setting is classified: its file is read by the synth (content in the key) or only named", () => {
    const paths = SETTINGS.filter((s) => s.setting.isPath).map((s) => s.key);
    expect([...paths].sort()).toEqual([...PATHS_READ, ...PATHS_NOT_READ].sort());
  });

  test("lib/ reads files only in the modules the key knows of (config file, the two PEM readers) and reads no environment variable itself", () => {
    const lib = join(__dirname, "..", "..", "..", "lib");
    const readers: string[] = [];
    const envReaders: string[] = [];
    for (const name of readdirSync(lib).filter((n) => n.endsWith(".ts"))) {
      const text = readFileSync(join(lib, name), "utf8");
      if (/\b(readFileSync|openSync|readSync|createReadStream|readFile)\b/.test(text)) readers.push(name);
      if (/process\.env/.test(text)) envReaders.push(name);
    }
    expect(readers.sort()).toEqual(["certificate-file.ts", "ci-oidc.ts", "config.ts"]);
    // config.ts names process.env only as loadConfig's default; everything else gets the environment passed in.
    expect(envReaders).toEqual(["config.ts"]);
  });
});
