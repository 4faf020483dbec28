import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../../ops/engine/deployment";
import { engineFailure } from "../../../ops/engine/engine-run";

let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), "c42-engine-failure-"))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A deployment whose "tofu" is `script`: the driver runs it exactly as it runs the engine. */
function deploymentWith(script: string): Deployment {
  const tofu = join(work, `tofu-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tofu, `#!/bin/sh\n${script}\n`);
  chmodSync(tofu, 0o700);
  const outdir = join(work, "cdktf.out");
  const deployment = new Deployment({
    env: { PATH: process.env.PATH, VAULT_ADDR: "https://127.0.0.1:1", C42_STATE_DIR: join(work, "state") },
    projectDir: work,
    outdir,
    engine: { kind: "tofu", version: "1.10.10", binary: tofu, foundBy: "test" },
    providers: { kind: "registry" },
  });
  mkdirSync(deployment.stackDir, { recursive: true });
  return deployment;
}

test("an engine killed by a signal is reported as killed, with no empty tail", async () => {
  const d = deploymentWith("echo 'Acquiring state lock' >&2; kill -KILL $$");
  const result = await d.tofu(["apply"]);
  expect(result.signal).toBe("SIGKILL");
  await expect(d.tofuOk(["apply"])).rejects.toThrow(
    /^tofu apply was killed by SIGKILL \(.*\); the state may hold a lock or a partial result: run the command again:\nAcquiring state lock$/,
  );
});

test("an engine that fails says its exit code and its last lines", async () => {
  const d = deploymentWith("echo 'Error: something' >&2; exit 3");
  await expect(d.tofuOk(["plan"])).rejects.toThrow(/^tofu plan failed \(exit 3\):\nError: something$/);
});

test("no output at all: no dangling colon", () => {
  expect(engineFailure(["apply"], { code: 1, stdout: "", stderr: "" })).toBe("tofu apply failed (exit 1)");
  expect(engineFailure(["apply"], { code: 1, stdout: "", stderr: "" }, "terraform")).toBe("terraform apply failed (exit 1)");
});
