import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PROJECT = resolve(__dirname, "..");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outdir: string;
  readonly files: string[];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs the app cdktf.json names, as `cdktf synth` does, isolated from the developer's environment and files. */
function runMain(env: Record<string, string>): Promise<Run> {
  const tmp = mkdtempSync(join(tmpdir(), "keystore-main-"));
  tmpDirs.push(tmp);
  const outdir = join(tmp, "cdktf.out");
  // An empty config file, so a keystore.config.json in the project cannot change the outcome.
  const config = join(tmp, "empty.json");
  writeFileSync(config, "{}");
  return new Promise((done, fail) => {
    const { app } = JSON.parse(readFileSync(join(PROJECT, "cdktf.json"), "utf8")) as { app: string };
    const child = spawn("/bin/sh", ["-c", app], {
      cwd: PROJECT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? tmp,
        CHECKPOINT_DISABLE: "1",
        CDKTF_OUTDIR: outdir,
        C42_CONFIG: config,
        C42_STATE_DIR: join(tmp, "state"),
        VAULT_ADDR: "https://vault.example.com:8200",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr, outdir, files: filesUnder(tmp) }));
  });
}

describe("main.ts", () => {
  let bad: Run;
  let good: Run;

  beforeAll(async () => {
    [bad, good] = await Promise.all([runMain({ C42_PKI_INT_MAX_LEASE_TTL: "10 years" }), runMain({})]);
  }, 180_000);

  test("with a bad C42_* value exits non-zero", () => {
    expect(bad.code).not.toBe(0);
    expect(bad.code).not.toBeNull();
  });

  test("prints the setting, the value received and what is expected on stderr", () => {
    expect(bad.stderr).toMatch(/pki_int\.maxLeaseTtl: "10 years" is not a duration; expected a positive Vault duration such as "60s", "8760h" or "30d"/);
    expect(bad.stdout).not.toMatch(/10 years/);
  });

  test("writes no cdk.tf.json", () => {
    expect(bad.files.filter((f) => f.endsWith("cdk.tf.json"))).toEqual([]);
  });

  // The control: the same command with a good configuration writes into the same place,
  // so the absence above means nothing was synthesized, not that we looked in the wrong directory.
  test("with a good configuration writes cdk.tf.json under CDKTF_OUTDIR", () => {
    expect({ code: good.code, stderr: good.stderr }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(join(good.outdir, "stacks", "keystore", "cdk.tf.json"))).toBe(true);
  });
});
