import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driftMain } from "../../ops/commands/drift";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { capture } from "../helpers/io";
import { TestServer, startTestServer } from "./fixtures";

/** Issue 19: an error about the Vault connection names the variable to fix and what to check. */
describe("connection errors name the variable to fix", () => {
  let server: TestServer;
  let work: string;

  beforeAll(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "c42-errors-"));
  });

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const drift = async (vaultEnv: Record<string, string>) => {
    const { out, io } = capture();
    const code = await driftMain([], () => isolatedDeployment(work, vaultEnv), io);
    return { code, ...out };
  };

  test("nothing listening at VAULT_ADDR", async () => {
    const port = await new Promise<number>((ok) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => ok(p));
      });
    });
    const r = await drift({ ...server.env, VAULT_ADDR: `https://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^drift: cannot reach Vault at https://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED [^)]*\\): check VAULT_ADDR`));
    expect(r.stdout).toBe("");
  });

  test("a server certificate this client does not trust (no VAULT_CACERT)", async () => {
    const { VAULT_CACERT: _ca, ...withoutCa } = server.env;
    const r = await drift(withoutCa);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drift: TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed: .*set VAULT_CACERT to the PEM file of the CA/);
  });

  test("a token Vault refuses (403)", async () => {
    const r = await drift({ ...server.env, VAULT_TOKEN: "s.not-a-token" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drift: reading sys\/auth\/cert\/tune failed: HTTP 403 permission denied: check VAULT_TOKEN/);
    expect(r.stderr).not.toContain(server.env.VAULT_TOKEN);
  });
});
