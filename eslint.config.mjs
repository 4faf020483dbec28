// Lint: typescript-eslint's recommended rules on every TypeScript file; the
// formatting (line length included) is prettier's job, checked by `npm run lint`.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Issue 26: a command whose synthesized JSON is reused loads neither cdktf nor the stack. So ops/ and bin/ import
// only lib/'s modules that load no cdktf, constructs or provider binding; the stack is built in
// ops/engine/stack-synth.ts alone, which Deployment requires on a synth-cache miss only. The lib/ files that do load
// cdktf (the construct files) are found here, by their imports, so a new one is covered the day it is written.
const CDKTF_PACKAGE = /^(cdktf|constructs|@cdktf\/.*)$/;
const LIB = join(import.meta.dirname, "lib");
const libImports = Object.fromEntries(
  readdirSync(LIB)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => [
      name.slice(0, -3),
      // Type-only imports load nothing.
      [...readFileSync(join(LIB, name), "utf8").matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gm)].map((m) => m[1]),
    ]),
);
const loadsCdktf = (name, seen = new Set()) =>
  !seen.has(name) && (seen.add(name), libImports[name] ?? []).some((s) => CDKTF_PACKAGE.test(s) || (s.startsWith("./") && loadsCdktf(s.slice(2), seen)));
const CONSTRUCT_FILES = Object.keys(libImports).filter((name) => name !== "index" && loadsCdktf(name));
const CDKTF_FREE_IMPORTS = {
  paths: ["cdktf", "constructs"].map((name) => ({
    name,
    message: "ops/ and bin/ load no cdktf (issue 26): build the stack in ops/engine/stack-synth.ts",
    allowTypeImports: true,
  })),
  patterns: [
    { group: ["@cdktf/*"], message: "ops/ and bin/ load no provider binding (issue 26): build the stack in ops/engine/stack-synth.ts", allowTypeImports: true },
    {
      regex: "^(\\.\\./)+lib(/index)?$",
      message: "lib/index.ts loads every construct: import the name from the lib/ file it lives in",
      allowTypeImports: true,
    },
    {
      regex: `^(\\.\\./)+lib/(${CONSTRUCT_FILES.join("|")})$`,
      message: "this lib/ file loads cdktf (a construct file): ops/ and bin/ import the cdktf-free module that holds the name (issue 26)",
      allowTypeImports: true,
    },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", "cdktf.out/**", ".gen/**", ".local/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      // bin/register.js is JavaScript (it runs before any TypeScript can); its test requires it.
      "@typescript-eslint/no-require-imports": ["error", { allow: ["/bin/register$", "^./stack-synth$"] }],
    },
  },
  {
    files: ["ops/**/*.ts"],
    ignores: ["ops/engine/stack-synth.ts"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", CDKTF_FREE_IMPORTS] },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", __dirname: "readonly", __filename: "readonly", process: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The same for the commands' launcher; bin/cdktf-app.js launches the cdktf app (main.ts), which builds the stack.
    files: ["bin/**/*.js"],
    ignores: ["bin/cdktf-app.js"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value=/^(cdktf|constructs|@cdktf[/]|([.][.][/])+(lib|main)([/]|$))/]",
          message: "bin/ requires neither cdktf, lib/ nor main.ts (issue 26: a cached command loads no cdktf): go through ops/commands/cli",
        },
      ],
    },
  },
);
