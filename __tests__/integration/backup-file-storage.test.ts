import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupMain } from "../../ops/commands/backup";
import { loadToolchain } from "../../ops/engine/toolchain";
import { initialise, unseal } from "../../ops/server/init";
import { LAYOUT, TLS } from "../../ops/server/layout";
import { freePorts, spawnServer } from "../../ops/server/process";
import { stopServer } from "../../ops/server/server";
import { makeCertificates } from "../../ops/server/tls";
import { VaultEndpoint, vaultCall } from "../../ops/vault/client";
import { capture } from "../helpers/io";

/*
 * A backup of a server that does not keep its data in raft refuses with a
 * clear message and leaves nothing. ops/server only makes raft servers, so
 * this file writes the one config it needs (file storage, TLS on loopback,
 * production mode) and reuses ops/server for the rest: certificates, the
 * process, init, unseal, stop.
 */
describe("backup of a server with file storage", () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "c42-file-storage-"));
    const tls = join(dir, LAYOUT.tls);
    makeCertificates(tls);
    mkdirSync(join(dir, LAYOUT.data), { mode: 0o700 });
    const [port] = await freePorts(1);
    const q = JSON.stringify;
    writeFileSync(
      join(dir, LAYOUT.config),
      `storage "file" {\n  path = ${q(join(dir, LAYOUT.data))}\n}\n` +
        `listener "tcp" {\n  address = "127.0.0.1:${port}"\n  tls_cert_file = ${q(join(tls, TLS.cert))}\n  tls_key_file = ${q(join(tls, TLS.key))}\n}\n` +
        `api_addr = "https://127.0.0.1:${port}"\ndisable_mlock = true\nui = false\n`,
      { mode: 0o600 },
    );
    spawnServer(dir, loadToolchain().bao);
    const endpoint: VaultEndpoint = { addr: `https://127.0.0.1:${port}`, caPem: readFileSync(join(tls, TLS.caCert), "utf8") };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await vaultCall(endpoint, { path: "sys/health" }).catch(() => undefined);
      if (answer) break;
      if (Date.now() > deadline) throw new Error("the file-storage server did not answer within 30 s");
      await new Promise((ok) => setTimeout(ok, 200));
    }
    await initialise(dir, endpoint);
    await unseal(dir, endpoint);
    env = { VAULT_ADDR: endpoint.addr, VAULT_CACERT: join(tls, TLS.caCert), VAULT_TOKEN: readFileSync(join(dir, LAYOUT.rootToken), "utf8").trim() };
  });

  afterAll(async () => {
    if (dir) {
      await stopServer(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("refuses, naming the storage and what to do, and leaves nothing", async () => {
    const out = join(dir, "backups");
    const { out: printed, io } = capture();
    const code = await backupMain(["--out", out], io, () => ({
      env,
      projectDir: dir,
      localServerDir: join(dir, "none"),
      baoBinary: () => loadToolchain().bao,
    }));
    expect(code).toBe(1);
    expect(printed.stderr).toBe(
      `backup: the server at ${env.VAULT_ADDR} keeps its data in "file" storage; raft snapshots need integrated storage ("raft"). ` +
        "Back up file storage with that storage's own tools, or migrate to raft (`bao operator migrate`); nothing was written\n",
    );
    expect(readdirSync(out)).toEqual([]);
    expect(printed.stderr).not.toContain(env.VAULT_TOKEN);
  });
});
