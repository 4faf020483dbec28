// The example pipelines stay valid: actionlint (with shellcheck) over the GitHub workflows
// and the composite action laid out as a repository would hold them, shellcheck over the
// composite action's own scripts (actionlint reads an action's metadata, not its scripts),
// and gitlab-ci-local's validation of .gitlab-ci.yml against GitLab's schema. Offline:
// nothing here fetches anything. Each check is also shown to fail on a broken copy.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cacheDir, readToolchainEnv } from "../../ops/engine/toolchain";

const ROOT = resolve(__dirname, "../..");
const GITHUB = join(ROOT, "examples/github-actions");
const GITLAB = join(ROOT, "examples/gitlab-ci/.gitlab-ci.yml");
const ACTION = "keystore-setup/action.yml";
const HOW_TO_BUILD = "run: npm run toolchain -- --for-tests (builds actionlint v1.7.12 with go install)";

/** actionlint: C42_ACTIONLINT, else the toolchain's (toolchain.env, or where it builds it); fails naming how to build it. */
function actionlint(): string {
  const { file, values } = readToolchainEnv();
  const path = process.env.C42_ACTIONLINT ?? values.C42_ACTIONLINT ?? join(cacheDir(), "bin/actionlint-1.7.12/actionlint");
  if (!path || !existsSync(path)) throw new Error(`actionlint is missing (C42_ACTIONLINT ${path ?? "unset"} in ${file}); ${HOW_TO_BUILD}`);
  return path;
}

function shellcheck(): string {
  const found = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("shellcheck is missing; install Debian's package: apt-get install -y shellcheck (bash .ci/run does)");
  return found;
}

const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function run(command: string, args: string[], cwd: string) {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * A repository laid out as the examples say to copy them: the workflows in
 * .github/workflows/, the composite action in .github/actions/keystore-setup/
 * (where `uses: ./.github/actions/keystore-setup` finds it). `edit` changes a
 * file (path relative to examples/github-actions) before it is copied.
 */
function githubRepository(edit: Record<string, (text: string) => string> = {}): string {
  const repo = tempDir("c42-actionlint-");
  mkdirSync(join(repo, ".git"));
  mkdirSync(join(repo, ".github/workflows"), { recursive: true });
  cpSync(join(GITHUB, "keystore-setup"), join(repo, ".github/actions/keystore-setup"), { recursive: true });
  for (const f of readdirSync(GITHUB).filter((n) => n.endsWith(".yml"))) cpSync(join(GITHUB, f), join(repo, ".github/workflows", f));
  for (const [file, change] of Object.entries(edit)) {
    const target = file === ACTION ? join(repo, ".github/actions", file) : join(repo, ".github/workflows", file);
    writeFileSync(target, change(readFileSync(target, "utf8")));
  }
  return repo;
}

const lintGithub = (repo: string) => run(actionlint(), ["-no-color", "-shellcheck", shellcheck()], repo);

/**
 * The `run:` scripts of a composite action: each `run: |` block (its lines,
 * de-indented) or one-line `run:`, with `${{ … }}` replaced by a variable as
 * actionlint does for workflows.
 */
function compositeScripts(actionYaml: string): string[] {
  const lines = actionYaml.split("\n");
  const scripts: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)(?:- )?run:\s*(.*)$/.exec(line);
    if (!m) return;
    if (m[2] !== "|" && m[2] !== "|-") {
      scripts.push(m[2]);
      return;
    }
    const indent = m[1].length;
    const body: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() !== "" && next.length - next.trimStart().length <= indent) break;
      body.push(next);
    }
    const strip = Math.min(...body.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length));
    scripts.push(body.map((l) => l.slice(strip)).join("\n"));
  });
  return scripts.map((s) => s.replace(/\$\{\{[^}]*\}\}/g, "$GITHUB_EXPRESSION"));
}

function shellcheckScripts(scripts: string[]) {
  const dir = tempDir("c42-shellcheck-");
  const files = scripts.map((s, i) => {
    const file = join(dir, `step-${i + 1}.sh`);
    writeFileSync(file, `#!/usr/bin/env bash\n${s}\n`);
    return file;
  });
  return run(shellcheck(), ["--shell=bash", "--format=gcc", ...files], dir);
}

/** A git repository holding `text` as .gitlab-ci.yml, validated by gitlab-ci-local (no job runs). */
function lintGitlab(text: string) {
  const repo = tempDir("c42-gitlab-ci-");
  writeFileSync(join(repo, ".gitlab-ci.yml"), text);
  const git = (...args: string[]) => run("git", ["-c", "user.email=ci@example.com", "-c", "user.name=ci", ...args], repo);
  git("init", "-q", "-b", "main");
  git("commit", "-q", "--allow-empty", "-m", "lint");
  const bin = join(ROOT, "node_modules/.bin/gitlab-ci-local");
  if (!existsSync(bin)) throw new Error(`gitlab-ci-local is missing (${bin}); run: npm ci (it is a devDependency, pinned to 4.60.0)`);
  return run(bin, ["--list-json", "--json-schema-validation"], repo);
}

describe("GitHub Actions workflows and the composite action: actionlint 1.7.12 with shellcheck", () => {
  test("find no error", () => {
    const r = lintGithub(githubRepository());
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  test("fail on a broken workflow (an unknown context, a shell error)", () => {
    const r = lintGithub(
      githubRepository({
        "plan-apply.yml": (t) =>
          t.replace("vault-role: c42-keystore-apply", "vault-role: ${{ secret.APPLY_ROLE }}").replace("run: npm run build", 'run: if [ -n "$X" ]; then npm run build'),
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/plan-apply\.yml:\d+:\d+: undefined variable "secret"/);
    expect(r.output).toMatch(/plan-apply\.yml:\d+:\d+: shellcheck reported issue in this script/);
  });

  test("fail on a broken composite action (an input its metadata does not declare)", () => {
    const r = lintGithub(githubRepository({ "drift.yml": (t) => t.replace("vault-role: c42-keystore-plan", "vault-rolle: c42-keystore-plan") }));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/drift\.yml:\d+:\d+: input "vault-rolle" is not defined in action "keystore setup"/);
  });
});

describe("the composite action's scripts: shellcheck", () => {
  const action = readFileSync(join(GITHUB, ACTION), "utf8");

  test("every run: script is found and passes", () => {
    const scripts = compositeScripts(action);
    expect(scripts).toHaveLength(4);
    expect(scripts.join("\n")).toContain("auth/$VAULT_AUTH_PATH/login");
    const r = shellcheckScripts(scripts);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  test("a broken script fails", () => {
    const r = shellcheckScripts(compositeScripts(action.replace('echo "VAULT_TOKEN=$token" >> "$GITHUB_ENV"', "echo VAULT_TOKEN=$token >> $GITHUB_ENV")));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/step-4\.sh:\d+:\d+: note: Double quote to prevent globbing and word splitting\. \[SC2086\]/);
  });
});

describe(".gitlab-ci.yml: gitlab-ci-local 4.60.0's validation against GitLab's schema", () => {
  test("is valid", () => {
    const r = lintGitlab(readFileSync(GITLAB, "utf8"));
    expect(r.output).toContain("json schema validated");
    expect(r.output).not.toContain("Invalid .gitlab-ci.yml");
    expect(r.code).toBe(0);
  });

  test("fails on a broken copy (id_tokens without aud, a rule's when that does not exist)", () => {
    const broken = readFileSync(GITLAB, "utf8").replace("      aud: https://", "      audience: https://").replace("      when: manual", "      when: sometimes");
    const r = lintGitlab(broken);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("Invalid .gitlab-ci.yml configuration!");
    expect(r.output).toMatch(/plan\.id_tokens\.VAULT_ID_TOKEN must have required property 'aud'/);
    expect(r.output).toMatch(/'when' property must be one of \[.*\] \(found sometimes\) at apply\.rules\.0\.when/);
  });
});
