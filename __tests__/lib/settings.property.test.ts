// Property test over every string setting (issue 18): for random and
// adversarial text, the stack either refuses with a KeystoreValidationError or
// synthesizes a cdk.tf.json that holds the value as written, and no cdk.tf.json
// ever holds a `${` or `%{` the stack did not put there itself.
//
// Fixed seed and bounded runs, so CI is repeatable; on a failure fast-check
// prints the seed and the shrunk counterexample. Another seed: C42_PROPERTY_SEED=123.
import { resolve } from "node:path";
import fc from "fast-check";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { KeystoreValidationError } from "../../lib/errors";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { SETTINGS, SettingSpec } from "../../lib/settings";

const SEED = Number(process.env.C42_PROPERTY_SEED ?? 20261127);
const RUNS_PER_SETTING = 40;
const VAULT_ADDR = "https://vault.example.com:8200";
const CWD = "/nonexistent/keystore-property";

// What each backend needs besides the setting under test, so that the setting reaches the JSON.
const BACKEND_REQUIRED: Record<string, Record<string, string>> = {
  s3: { C42_BACKEND_S3_BUCKET: "b" },
  gcs: { C42_BACKEND_GCS_BUCKET: "b" },
  azurerm: { C42_BACKEND_AZURERM_STORAGE_ACCOUNT_NAME: "a", C42_BACKEND_AZURERM_CONTAINER_NAME: "c" },
  http: { C42_BACKEND_HTTP_ADDRESS: "https://state.example.com/s" },
  consul: {},
  pg: {},
};

// What ci.* settings need to reach the JSON: a provider, an audience and a repository.
const CI_SELECTED = { C42_CI_PROVIDER: "github", C42_CI_AUDIENCE: "https://vault.example.com", C42_CI_REPOSITORY: "acme/keystore" };

// Settings that only reach the JSON when another setting selects them.
const SELECTED_BY: Record<string, Record<string, string>> = {
  "audit.filePath": { C42_AUDIT_MODE: "enable" },
  "intermediateCa.signedCertificateFile": { C42_ROOT_CA_EXTERNAL: "true" },
  ...Object.fromEntries(SETTINGS.filter((s) => s.key.startsWith("ci.") && s.key !== "ci.provider").map((s) => [s.key, CI_SELECTED])),
};

function envFor(s: SettingSpec, value: string): Record<string, string> {
  const backend = /^backend\.([a-z0-9]+)\./.exec(s.key)?.[1];
  const base = backend ? { C42_BACKEND_TYPE: backend, ...BACKEND_REQUIRED[backend] } : (SELECTED_BY[s.key] ?? {});
  return { VAULT_ADDR, ...base, [s.env]: value };
}

/** Every string anywhere in a parsed JSON value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** The `${…}` and `%{…}` sequences the engine would evaluate in `text` (an escaped `$${`/`%%{` is literal). */
function templateSequences(text: string): string[] {
  return [...text.matchAll(/(\$\$|%%)\{|([$%])\{[^}]*\}?/g)].filter((m) => m[1] === undefined).map((m) => m[0]);
}

/** How the engine reads a JSON string back: the escapes undone. */
const unescape = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

function synth(env: Record<string, string>): string | KeystoreValidationError {
  try {
    const config = loadConfig({ env, cwd: CWD, file: undefined });
    return Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config }));
  } catch (e) {
    if (e instanceof KeystoreValidationError) return e;
    throw e;
  }
}

/** The selecting settings of `env` (see SELECTED_BY), without the value under test. */
const selection = (env: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(env).filter(([k]) => k === "C42_AUDIT_MODE")),
  ...(env.C42_CI_PROVIDER === "github" ? CI_SELECTED : {}),
});

// What the stack itself writes, per backend and selection: the only template sequences allowed anywhere.
const baseline = new Map<string, Set<string>>();
function allowedSequences(env: Record<string, string>): Set<string> {
  const backend = env.C42_BACKEND_TYPE ?? "local";
  const key = `${backend} ${JSON.stringify(selection(env))}`;
  if (!baseline.has(key)) {
    const json = synth({ VAULT_ADDR, ...(backend === "local" ? {} : { C42_BACKEND_TYPE: backend, ...BACKEND_REQUIRED[backend] }), ...selection(env) });
    if (json instanceof Error) throw json;
    baseline.set(key, new Set(strings(JSON.parse(json)).flatMap(templateSequences)));
  }
  return baseline.get(key)!;
}

// Where an accepted value shows up in the JSON, when not verbatim.
const RENDERED: Record<string, (v: string) => string> = {
  stateDir: (v) => resolve(CWD, v),
  publicUrl: (v) => v.replace(/\/+$/, ""),
};
// Durations are written as numbers of seconds, backend.type as a block name, and engine picks the binary
// without reaching the JSON: checked for injection only.
const notVerbatim = (s: SettingSpec) => s.key === "backend.type" || s.key === "engine" || /(Ttl|ttl|renewBefore)$/.test(s.key);

const FRAGMENTS = [
  "${",
  "%{",
  "}",
  "$${",
  "%%{",
  "$",
  "%",
  "{",
  '"',
  "'",
  "\\",
  "/",
  "..",
  ".",
  "TfToken[TOKEN.1]",
  "#{",
  "a",
  "Z",
  "0",
  "-",
  "_",
  " ",
  "\n",
  "*",
  "+",
  "sys",
  "https://",
  "h",
  "é",
  "\u0000",
];
const adversarial = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 10 }).map((parts) => parts.join("")),
  fc.constantFrom(
    '${file("/etc/hostname")}',
    "%{ if true }x%{ endif }",
    "${TfToken[TOKEN.1]}",
    'x"} path "sys/*" {capabilities=["sudo"]} #',
    "$${x}",
    "%%{x}",
    "a".repeat(70),
  ),
);

const stringSettings = SETTINGS.filter((s) => s.setting.kind === "string");

test("there are string settings to check", () => {
  expect(stringSettings.length).toBeGreaterThan(30);
});

describe.each(stringSettings.map((s) => [s.key, s] as const))("%s", (_key, setting) => {
  test("is refused or written as given, never as an expression", () => {
    fc.assert(
      fc.property(adversarial, (value) => {
        // An empty variable means "unset" (documented); the default is checked by every other test.
        fc.pre(value !== "");
        const env = envFor(setting, value);
        const result = synth(env);
        if (result instanceof KeystoreValidationError) {
          // The refusal names the setting it refused.
          expect(result.setting.startsWith(setting.key) || result.setting === setting.key).toBe(true);
          return;
        }
        const all = strings(JSON.parse(result));
        const allowed = allowedSequences(env);
        for (const seq of all.flatMap(templateSequences)) expect(allowed).toContain(seq);
        if (!notVerbatim(setting)) {
          const rendered = (RENDERED[setting.key] ?? ((v: string) => v))(value);
          expect(all.map(unescape).some((s) => s.includes(rendered))).toBe(true);
        }
      }),
      { seed: SEED, numRuns: RUNS_PER_SETTING },
    );
  });
});

test("policy.extraPaths: refused or granted exactly, never an extra stanza", () => {
  const extra = SETTINGS.find((s) => s.key === "policy.extraPaths")!;
  fc.assert(
    fc.property(
      fc.array(
        adversarial.filter((v) => v.trim() !== "" && !v.includes(",")),
        { minLength: 1, maxLength: 3 },
      ),
      (paths) => {
        const result = synth({ VAULT_ADDR, [extra.env]: paths.join(","), C42_POLICY_ALLOW_BROAD_PATHS: "true" });
        if (result instanceof KeystoreValidationError) {
          expect(result.setting.startsWith("policy.extraPaths")).toBe(true);
          return;
        }
        const policies = Object.values(JSON.parse(result).resource.vault_policy as Record<string, { policy: string }>);
        const stanzas = policies[0].policy.match(/^path "/gm) ?? [];
        expect(stanzas).toHaveLength(3 + paths.length);
        for (const p of paths.map((x) => x.trim())) expect(policies[0].policy).toContain(`path "${p}" {`);
      },
    ),
    { seed: SEED, numRuns: 150 },
  );
});
