import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  EngineChoiceError,
  cdktfEngine,
  cdktfEngineMismatch,
  engineSwitchNote,
  identifyEngine,
  parseVersionBanner,
  resolveEngine,
} from "../../../ops/engine/engine";
import { engineRecordFile, readEngineRecord, recordEngine } from "../../../ops/engine/engine-record";
import { writesState } from "../../../ops/engine/engine-run";

// These scripts only print a version banner: they test how a binary is recognised and chosen, never how an
// engine behaves (the integration tests run the real OpenTofu and Terraform).
let work: string;
beforeEach(() => (work = mkdtempSync(join(tmpdir(), "c42-engine-"))));
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A directory holding `name` scripts that print `banner`s; returns the directory. */
function binDir(name: string, binaries: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [bin, banner] of Object.entries(binaries)) {
    writeFileSync(join(dir, bin), `#!/bin/sh\nprintf '%s\\non linux_amd64\\n' '${banner}'\n`);
    chmodSync(join(dir, bin), 0o755);
  }
  return dir;
}

const envWith = (path: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: path, HOME: work, C42_CACHE: join(work, "cache"), ...extra });

describe("the version banner", () => {
  test("names the engine and its version", () => {
    expect(parseVersionBanner("OpenTofu v1.10.10\non linux_amd64\n")).toEqual({ kind: "tofu", version: "1.10.10" });
    expect(parseVersionBanner("Terraform v1.11.4\non linux_amd64\n")).toEqual({ kind: "terraform", version: "1.11.4" });
    expect(parseVersionBanner("Terraform v1.5.7-dev\n")).toEqual({ kind: "terraform", version: "1.5.7-dev" });
    expect(parseVersionBanner("Vault v1.14.8\n")).toBeUndefined();
    expect(parseVersionBanner("")).toBeUndefined();
  });
});

describe("engine auto", () => {
  test("prefers OpenTofu when both are on PATH", () => {
    const dir = binDir("both", { tofu: "OpenTofu v1.10.10", terraform: "Terraform v1.11.4" });
    expect(resolveEngine("auto", envWith(dir))).toMatchObject({ kind: "tofu", version: "1.10.10", binary: join(dir, "tofu"), foundBy: "tofu on PATH" });
  });

  test("takes Terraform when it is the only engine, or the OpenTofu found is too old", () => {
    const onlyTerraform = binDir("tf", { terraform: "Terraform v1.5.7" });
    expect(resolveEngine("auto", envWith(onlyTerraform))).toMatchObject({ kind: "terraform", version: "1.5.7" });
    const oldTofu = binDir("old", { tofu: "OpenTofu v1.9.1" });
    expect(resolveEngine("auto", envWith(`${oldTofu}:${onlyTerraform}`))).toMatchObject({ kind: "terraform", binary: join(onlyTerraform, "terraform") });
  });

  test("takes the toolchain's OpenTofu before Terraform on PATH", () => {
    const built = binDir("built", { tofu: "OpenTofu v1.10.10" });
    const path = binDir("path", { terraform: "Terraform v1.11.4" });
    mkdirSync(join(work, "cache"), { recursive: true });
    writeFileSync(join(work, "cache", "toolchain.env"), `C42_TOFU=${join(built, "tofu")}\n`);
    expect(resolveEngine("auto", envWith(path))).toMatchObject({ kind: "tofu", foundBy: "the toolchain's OpenTofu (npm run toolchain)" });
  });

  test("with nothing usable: one error naming the setting, what was found and what is expected", () => {
    const dir = binDir("old", { tofu: "OpenTofu v1.6.2", terraform: "Terraform v1.4.6" });
    expect(() => resolveEngine("auto", envWith(dir))).toThrow(EngineChoiceError);
    expect(() => resolveEngine("auto", envWith(dir))).toThrow(
      new RegExp(
        '^engine \\(C42_ENGINE\\) "auto": no usable engine: tofu on PATH \\(.*/tofu\\) is OpenTofu 1\\.6\\.2, too old; expected OpenTofu 1\\.10 or later .*; ' +
          "terraform on PATH \\(.*/terraform\\) is Terraform 1\\.4\\.6, too old; expected Terraform 1\\.5 or later .*; expected OpenTofu 1\\.10 or later, or Terraform 1\\.5 or later\\. " +
          "Put one on PATH, set engine \\(C42_ENGINE\\) to a binary's absolute path, or run `npm run toolchain`",
      ),
    );
    expect(() => resolveEngine("auto", envWith(join(work, "empty")))).toThrow(
      /no usable engine: no tofu or terraform on PATH, and the toolchain has built none/,
    );
  });
});

describe("engine by name or path", () => {
  test("terraform takes Terraform even when OpenTofu is there", () => {
    const dir = binDir("both", { tofu: "OpenTofu v1.10.10", terraform: "Terraform v1.11.4" });
    expect(resolveEngine("terraform", envWith(dir))).toMatchObject({ kind: "terraform", version: "1.11.4" });
  });

  test("tofu without OpenTofu is an error, not a silent Terraform", () => {
    const dir = binDir("tf", { terraform: "Terraform v1.11.4" });
    expect(() => resolveEngine("tofu", envWith(dir))).toThrow(
      /^engine \(C42_ENGINE\) "tofu": no usable engine: no tofu on PATH, .*; expected OpenTofu 1\.10 or later\./,
    );
  });

  test("an absolute path is used whatever its name, and checked", () => {
    const dir = binDir("custom", { "my-terraform": "Terraform v1.11.4", "too-old": "Terraform v1.3.0", other: "Vault v1.14.8" });
    expect(resolveEngine(join(dir, "my-terraform"), envWith(""))).toMatchObject({ kind: "terraform", binary: join(dir, "my-terraform") });
    expect(() => resolveEngine(join(dir, "too-old"), envWith(""))).toThrow(/is Terraform 1\.3\.0, too old; expected Terraform 1\.5 or later/);
    expect(() => resolveEngine(join(dir, "other"), envWith(""))).toThrow(
      /^engine \(C42_ENGINE\) ".*\/other": .*\/other is not OpenTofu or Terraform \(its `version` printed "Vault v1\.14\.8"\); expected the absolute path/,
    );
    expect(() => resolveEngine(join(dir, "missing"), envWith(""))).toThrow(
      /^engine \(C42_ENGINE\) ".*\/missing": no executable file there; expected the absolute path of a tofu or terraform binary$/,
    );
  });
});

test("the identity is remembered per binary, and read again when the binary changes", () => {
  const dir = binDir("cached", { tofu: "OpenTofu v1.10.10" });
  const bin = join(dir, "tofu");
  const env = envWith(dir);
  // A whole second: utimes cannot restore every file system's sub-millisecond part.
  const [atime, mtime] = [new Date(1.7e12), new Date(1.7e12)];
  utimesSync(bin, atime, mtime);
  expect(identifyEngine(bin, env)).toEqual({ kind: "tofu", version: "1.10.10" });
  // Same size and modification time: the cache answers without running it.
  writeFileSync(bin, `#!/bin/sh\nprintf '%s\\non linux_amd64\\n' 'OpenTofu v1.10.11'\n`);
  utimesSync(bin, atime, mtime);
  expect(identifyEngine(bin, env)).toEqual({ kind: "tofu", version: "1.10.10" });
  utimesSync(bin, atime, new Date(mtime.getTime() + 5000));
  expect(identifyEngine(bin, env)).toEqual({ kind: "tofu", version: "1.10.11" });
  expect(statSync(join(work, "cache", "engines.json")).mode & 0o777).toBe(0o600);
});

test("the engine cdktf runs: TERRAFORM_BINARY_NAME by name or path, else terraform on PATH", () => {
  const dir = binDir("cdktf", { tofu: "OpenTofu v1.10.10", terraform: "Terraform v1.11.4" });
  expect(cdktfEngine(envWith(dir))).toMatchObject({ kind: "terraform", version: "1.11.4", binary: join(dir, "terraform") });
  expect(cdktfEngine(envWith(dir, { TERRAFORM_BINARY_NAME: "tofu" }))).toMatchObject({ kind: "tofu", version: "1.10.10", binary: join(dir, "tofu") });
  expect(cdktfEngine(envWith("", { TERRAFORM_BINARY_NAME: join(dir, "tofu") }))).toMatchObject({ kind: "tofu", version: "1.10.10", binary: join(dir, "tofu") });
  expect(cdktfEngine(envWith(join(work, "none")))).toBeUndefined();
});

describe("engine auto keeps the engine that last wrote the state", () => {
  const withToolchainTofu = (terraformOnPath: string) => {
    const built = binDir("built", { tofu: "OpenTofu v1.10.10" });
    mkdirSync(join(work, "cache"), { recursive: true });
    writeFileSync(join(work, "cache", "toolchain.env"), `C42_TOFU=${join(built, "tofu")}\n`);
    return envWith(terraformOnPath);
  };

  test("a state Terraform wrote stays Terraform's after the tests built OpenTofu into the toolchain", () => {
    const env = withToolchainTofu(binDir("path", { terraform: "Terraform v1.11.4" }));
    expect(resolveEngine("auto", env)).toMatchObject({ kind: "tofu" }); // a new state: OpenTofu first, as before
    expect(resolveEngine("auto", env, { kind: "terraform", version: "1.11.4" })).toMatchObject({
      kind: "terraform",
      version: "1.11.4",
      foundBy: "terraform on PATH, the engine that last wrote this state",
    });
  });

  test("a newer release of the same engine is taken as it is", () => {
    const dir = binDir("path", { tofu: "OpenTofu v1.10.10" });
    expect(resolveEngine("auto", envWith(dir), { kind: "tofu", version: "1.10.2" })).toMatchObject({ kind: "tofu", version: "1.10.10" });
  });

  test("when the recorded engine is gone, auto refuses to switch and names the way to switch on purpose", () => {
    const env = withToolchainTofu(binDir("none", {}));
    expect(() => resolveEngine("auto", env, { kind: "terraform", version: "1.11.4" })).toThrow(
      'engine (C42_ENGINE) "auto": this state was last written by Terraform 1.11.4, and no Terraform is usable now (none on PATH or in the toolchain); ' +
        'expected Terraform on PATH, or engine (C42_ENGINE) set to "tofu" to move the state to OpenTofu on purpose',
    );
  });

  test("an explicit engine moves the state, and says so in one line", () => {
    const env = withToolchainTofu(binDir("path", { terraform: "Terraform v1.11.4" }));
    const recorded = { kind: "terraform", version: "1.11.4" } as const;
    const tofu = resolveEngine("tofu", env, recorded);
    expect(tofu).toMatchObject({ kind: "tofu" });
    expect(engineSwitchNote(tofu, recorded)).toBe(
      "engine: this state was last written by Terraform 1.11.4; OpenTofu 1.10.10 writes it from now on (engine=tofu), and engine=auto keeps OpenTofu after this run",
    );
    expect(engineSwitchNote(resolveEngine("terraform", env, recorded), recorded)).toBeUndefined();
  });

  test("cdktf running another engine than the state's is told how to go on", () => {
    expect(cdktfEngineMismatch({ kind: "terraform", version: "1.11.4" }, { kind: "tofu", version: "1.10.10" })).toBe(
      "engine: this state was last written by Terraform 1.11.4, but cdktf would run OpenTofu 1.10.10 (TERRAFORM_BINARY_NAME); " +
        'set TERRAFORM_BINARY_NAME to terraform, or, to move the state to OpenTofu on purpose, set engine (C42_ENGINE) to "tofu"',
    );
  });
});

describe("the engine record", () => {
  test("is written 0600 beside the state, rewritten only on a change, and a hand-edited one is not trusted", () => {
    const file = engineRecordFile(join(work, "state"), "keystore");
    expect(file).toBe(join(work, "state", "keystore.engine.json"));
    expect(readEngineRecord(file)).toBeUndefined();
    recordEngine(file, { kind: "terraform", version: "1.11.4" });
    expect(readEngineRecord(file)).toEqual({ kind: "terraform", version: "1.11.4" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    recordEngine(file, { kind: "tofu", version: "1.10.10" });
    expect(readEngineRecord(file)).toEqual({ kind: "tofu", version: "1.10.10" });
    writeFileSync(file, '{"kind":"pulumi","version":"3"}');
    expect(readEngineRecord(file)).toBeUndefined();
  });
});

describe("which engine runs record the engine as the state's", () => {
  test("those that write the state; a state pull, list or show only reads it", () => {
    for (const args of [
      ["apply", "-auto-approve"],
      ["destroy"],
      ["import", "a.b", "id"],
      ["state", "rm", "a.b"],
      ["state", "mv", "a", "b"],
      ["state", "push", "f"],
    ]) {
      expect([args, writesState(args)]).toEqual([args, true]);
    }
    for (const args of [["state", "pull"], ["state", "list"], ["state", "show", "a.b"], ["plan"], ["output", "-json"], ["show", "-json"], ["init"]]) {
      expect([args, writesState(args)]).toEqual([args, false]);
    }
  });
});
