import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIT_DEVICE_ADDRESS, AUDIT_DEVICE_ATTRIBUTE } from "../../ops/blind-spots";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { loadToolchain } from "../../ops/engine/toolchain";
import { readServerEnv, startServer, stopServer } from "../../ops/server/server";

/*
 * audit.mode "require" (the default) on OpenBao, which takes audit devices
 * from its server config only: the local server declares one, so deploy and
 * drift pass; once an operator drops the declaration, drift reports the
 * missing device and deploy refuses before changing anything; "off" skips
 * the check.
 */
describe("audit.mode require on a server whose config loses its audit device", () => {
  let dir: string;
  let work: string;
  const bao = () => loadToolchain().bao;
  const deployment = (settings: Record<string, string> = {}) => isolatedDeployment(work, readServerEnv(dir), settings);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "c42-audit-"));
    work = mkdtempSync(join(tmpdir(), "c42-audit-work-"));
    await startServer({ dir, baoBinary: bao() });
  });

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (dir) await stopServer(dir, { purge: true });
    // mkdtemp made the directory, so purge leaves it (empty) behind.
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("with the declared device, deploy passes the check and drift is in sync", async () => {
    const result = await deploy(deployment());
    expect(result.repaired).toEqual([]);
    expect(await checkDrift(deployment())).toEqual({ inSync: true, drifted: [] });
  });

  test("without it, drift reports sys/audit and deploy refuses before it applies anything", async () => {
    await stopServer(dir);
    const config = join(dir, "server.hcl");
    const text = readFileSync(config, "utf8");
    const withoutAudit = text.replace(/\n# Declared, not enabled through the API[^\n]*\naudit "file" "file" \{[\s\S]*?\n\}\n/, "\n");
    expect(withoutAudit).not.toContain('audit "file"');
    writeFileSync(config, withoutAudit);
    await startServer({ dir, baoBinary: bao() });

    expect(await checkDrift(deployment())).toEqual({
      inSync: false,
      drifted: [{ address: AUDIT_DEVICE_ADDRESS, actions: ["update"], attributes: [AUDIT_DEVICE_ATTRIBUTE] }],
    });
    const refused = await deploy(deployment()).then(
      () => "deployed",
      (e: Error) => e.message,
    );
    expect(refused).toMatch(
      /audit\.mode is "require" but https:\/\/127\.0\.0\.1:\d+ has no audit device enabled.*declare one in the server config.*Nothing was changed/,
    );
  });

  test('audit.mode "off" skips the check', async () => {
    expect(await checkDrift(deployment({ C42_AUDIT_MODE: "off" }))).toEqual({ inSync: true, drifted: [] });
  });
});
