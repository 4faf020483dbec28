import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { healthMain } from "../../../ops/commands/health";
import { Deployment } from "../../../ops/engine/deployment";
import { HealthReport } from "../../../ops/health/report";
import { capture } from "../../helpers/io";

/*
 * Bad input stops the probe before it calls anything: the address below has
 * no server, so a probe that ran would print a report, not these errors.
 */

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "c42-health-cmd-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (argv: string[], env: NodeJS.ProcessEnv = { VAULT_ADDR: "https://127.0.0.1:1" }) => {
  const { out, io } = capture();
  let made = 0;
  const code = await healthMain(
    argv,
    () => {
      made++;
      return new Deployment({ env, projectDir: dir });
    },
    io,
  );
  return { code, made, ...out };
};

describe("health refuses a wrong command line with its usage and exit 2", () => {
  test.each([
    [["--format", "xml"], '--format: "xml" is not a format; expected human, json or prometheus'],
    [["--json", "--format", "prometheus"], "--json cannot be combined with --format prometheus; give one of them"],
    [["--out", ""], "--out: the path is empty"],
    [["--bundle", " "], "--bundle: the path is empty"],
    [["--p12", ""], "--p12: the path is empty"],
    [["--password-file", ""], "--password-file: the path is empty"],
    [["--timeout", "3s"], "Unknown option '--timeout'"],
  ])("%j", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("usage: health ");
    expect(r.stdout).toBe("");
    expect(r.made).toBe(0);
  });
});

describe("a probe that cannot run is UNKNOWN (exit 3), with the reason on both streams", () => {
  test("a configuration error names the setting", async () => {
    const r = await run([], { VAULT_ADDR: "https://127.0.0.1:1", C42_HEALTH_CERT_CRIT_BEFORE: "60d" });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'health: configuration error: health.certCritBefore: "60d" is not shorter than health.certWarnBefore ("30d"); expected the critical window inside the warning window\n',
    );
    expect(r.stdout).toMatch(/^KEYSTORE UNKNOWN - the probe could not run: health\.certCritBefore/);
  });

  test("no VAULT_ADDR", async () => {
    const r = await run([], {});
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^health: VAULT_ADDR is not set/);
  });
});

test("--p12 FILE without --password-file reads FILE.password, as `bundle` names it", async () => {
  const p12 = join(dir, "keystore.p12");
  writeFileSync(p12, "not read: the password file is missing");
  // Nothing listens on port 1: the network checks fail at once, the bundle checks say which file is missing.
  const r = await run(["--json", "--p12", p12, "--backups", join(dir, "none")]);
  const login = (JSON.parse(r.stdout) as HealthReport).checks.find((c) => c.name === "login");
  expect(login).toMatchObject({ state: "UNKNOWN" });
  expect(login?.reason).toMatch(new RegExp(`^cannot read ${p12.replace(/\./g, "\\.")}\\.password \\(ENOENT\\)`));
  expect(r.code).toBe(2);
});
