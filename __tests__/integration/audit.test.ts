import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIT_DEVICE_ADDRESS, AUDIT_DEVICE_ATTRIBUTE } from "../../ops/blind-spots";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { checkDrift } from "../../ops/lifecycle/drift";
import { loadToolchain } from "../../ops/engine/toolchain";
import { readServerEnv, startServer, stopServer } from "../../ops/server/server";
import { vaultCall } from "../../ops/vault/client";

/*
 * audit.mode "require" (the default) on OpenBao, which takes audit devices
 * from its server config only: the local server declares one, so deploy and
 * drift pass; once an operator drops the declaration, drift reports the
 * missing device and deploy refuses before changing anything; "off" skips
 * the check; "enable" makes the device through the API on a server that
 * allows it (OpenBao with unsafe_allow_api_audit_creation, as HashiCorp Vault does).
 */
describe("audit.mode on OpenBao: require (the declared device, then without it), off, enable", () => {
  let dir: string;
  let work: string;
  let logs: string;
  const bao = () => loadToolchain().bao;
  const deployment = (settings: Record<string, string> = {}) => isolatedDeployment(work, readServerEnv(dir), settings);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "c42-audit-"));
    work = mkdtempSync(join(tmpdir(), "c42-audit-work-"));
    logs = mkdtempSync(join(tmpdir(), "c42-audit-logs-"));
    await startServer({ dir, baoBinary: bao() });
  });

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (logs) rmSync(logs, { recursive: true, force: true });
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

  test('audit.mode "enable" makes the device through the API where the server allows it, and a second deploy changes nothing', async () => {
    // What HashiCorp Vault does by default; OpenBao only with this server option.
    await stopServer(dir);
    const config = join(dir, "server.hcl");
    writeFileSync(config, readFileSync(config, "utf8") + "\nunsafe_allow_api_audit_creation = true\n");
    await startServer({ dir, baoBinary: bao() });
    const filePath = join(logs, "api-audit.log");
    const settings = { C42_AUDIT_MODE: "enable", C42_AUDIT_FILE_PATH: filePath };
    const first = await deploy(deployment(settings));
    expect(first.apply.stdout).toContain("Resources: 1 added, 0 changed, 0 destroyed");
    const env = readServerEnv(dir);
    const devices = await vaultCall({ addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") }, { path: "sys/audit", token: env.VAULT_TOKEN });
    expect((devices.json as { data: Record<string, unknown> }).data["file/"]).toMatchObject({ type: "file", options: { file_path: filePath, mode: "0600" } });
    expect(statSync(filePath).mode & 0o777).toBe(0o600);
    expect(await checkDrift(deployment(settings))).toEqual({ inSync: true, drifted: [] });
    const again = await deploy(deployment(settings));
    expect(again.apply.stdout).toContain("Resources: 0 added, 0 changed, 0 destroyed");
  });
});
