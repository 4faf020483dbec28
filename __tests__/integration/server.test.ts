import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverMain } from "../../ops/commands/server";
import { locateBao } from "../../ops/engine/toolchain";
import { LocalServer, readServerEnv, serverStatus, startServer, stopServer } from "../../ops/server/server";
import { VaultEndpoint } from "../../ops/vault/client";
import { capture } from "../helpers/io";
import { callApi as vaultCall } from "./fixtures";

/** A real OpenBao in server mode, started in a fresh directory for this file only. */
describe("local OpenBao server", () => {
  let parent: string;
  let dir: string;
  let server: LocalServer;
  let endpoint: VaultEndpoint;
  let token: string;
  let unsealKey: string;

  const mode = (path: string) => statSync(path).mode & 0o777;
  const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), "c42-server-test-"));
    dir = join(parent, "server");
    const started = Date.now();
    server = await startServer({ dir, baoBinary: locateBao() });
    process.stderr.write(`server: first start (certificates, init, unseal, leader) took ${Date.now() - started} ms\n`);
    endpoint = { addr: server.addr, caPem: readFileSync(server.caCertFile, "utf8") };
    token = readFileSync(join(dir, "root.token"), "utf8").trim();
    unsealKey = readFileSync(join(dir, "unseal.key"), "utf8").trim();
  });

  afterAll(async () => {
    if (dir) await stopServer(dir, { purge: true });
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  test("is initialised, unsealed and the active node, on 127.0.0.1", async () => {
    const health = await vaultCall(endpoint, { path: "sys/health" });
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(server.addr).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(server.pid)).toBe(true);

    const leader = await vaultCall(endpoint, { path: "sys/leader" });
    expect(leader.json).toMatchObject({ ha_enabled: true, is_self: true });

    expect(await serverStatus(dir)).toMatchObject({ running: true, initialized: true, sealed: false, active: true, addr: server.addr, pid: server.pid });
  });

  test("serves TLS only, with a certificate a client must be told to trust", async () => {
    await expect(vaultCall({ addr: server.addr }, { path: "sys/health" })).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/),
    });
    // The certificate names localhost as well as 127.0.0.1.
    const viaName = await vaultCall({ addr: server.addr.replace("127.0.0.1", "localhost"), caPem: endpoint.caPem }, { path: "sys/health" });
    expect(viaName.status).toBe(200);

    const plain = await new Promise<{ status: number; body: string }>((ok, fail) => {
      const req = httpRequest(server.addr.replace("https:", "http:") + "/v1/sys/health", { agent: false }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", fail);
      req.end();
    });
    expect(plain.status).toBe(400);
    expect(plain.body).not.toContain("initialized");

    const config = readFileSync(join(dir, "server.hcl"), "utf8");
    expect(config).toMatch(/tls_min_version\s*=\s*"tls12"/);
    expect(config).not.toMatch(/tls_disable/);
  });

  test("is not a dev-mode server: no secret/ kv mount, and the API needs a token", async () => {
    const mounts = await vaultCall(endpoint, { path: "sys/mounts", token });
    expect(mounts.status).toBe(200);
    const paths = Object.keys(mounts.json.data);
    expect(paths).toEqual(expect.arrayContaining(["sys/", "cubbyhole/", "identity/"]));
    expect(paths).not.toContain("secret/");

    const anonymous = await vaultCall(endpoint, { path: "sys/mounts" });
    expect(anonymous.status).toBe(403);

    const storage = await vaultCall(endpoint, { path: "sys/storage/raft/configuration", token });
    expect(storage.status).toBe(200);
    expect(storage.json.data.config.servers).toEqual([expect.objectContaining({ node_id: "c42-local", leader: true, voter: true })]);
  });

  test("keeps secrets in private files and writes vault.env for the provider", () => {
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "tls"))).toBe(0o700);
    expect(mode(join(dir, "data"))).toBe(0o700);
    for (const file of ["root.token", "unseal.key", "vault.env", "tls/ca.key", "tls/server.key"]) {
      expect([file, mode(join(dir, file))]).toEqual([file, 0o600]);
    }
    expect(token).toMatch(/^s\.\w+/);
    expect(readServerEnv(dir)).toEqual({ VAULT_ADDR: server.addr, VAULT_CACERT: server.caCertFile, VAULT_TOKEN: token });
    expect(server.envFile).toBe(join(dir, "vault.env"));
  });

  test("never shows the root token or unseal key in the log, the server's argv or its environment", () => {
    const log = readFileSync(join(dir, "server.log"), "utf8");
    expect(log).toContain("core: vault is unsealed");
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8");
    expect(cmdline.split("\0")).toEqual([expect.stringMatching(/bao$/), "server", `-config=${join(dir, "server.hcl")}`, ""]);
    const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8");
    for (const secret of [token, unsealKey]) {
      expect(log).not.toContain(secret);
      expect(cmdline).not.toContain(secret);
      expect(environ).not.toContain(secret);
    }
  });

  test("returns a running, healthy server unchanged", async () => {
    const again = await startServer({ dir, baoBinary: locateBao() });
    expect(again).toEqual(server);
  });

  test("the status command reports the running server", async () => {
    const { out, io } = capture();
    expect(await serverMain(["status", "--dir", dir], io)).toBe(0);
    expect(out.stdout).toMatch(/running:\s+true[\s\S]*active:\s+true[\s\S]*address:\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(out.stdout + out.stderr).not.toContain(token);
  });

  test("keeps its data across stop and start, on the same address, unsealed with the stored key", async () => {
    const policy = 'path "sys/health" {\n  capabilities = ["read"]\n}\n';
    const put = await vaultCall(endpoint, { method: "PUT", path: "sys/policies/acl/x", token, body: { policy } });
    expect(put.status).toBe(204);

    await stopServer(dir);
    expect(alive(server.pid)).toBe(false);
    expect(existsSync(join(dir, "server.pid"))).toBe(false);
    expect(await serverStatus(dir)).toMatchObject({ running: false, initialized: true, sealed: true, active: false, addr: server.addr });
    await expect(vaultCall(endpoint, { path: "sys/health" })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await stopServer(dir); // nothing running: a no-op

    const started = Date.now();
    const restarted = await startServer({ dir, baoBinary: locateBao() });
    process.stderr.write(`server: restart (unseal with the stored key, leader) took ${Date.now() - started} ms\n`);
    expect(restarted.addr).toBe(server.addr);
    expect(restarted.pid).not.toBe(server.pid);
    expect(readServerEnv(dir).VAULT_TOKEN).toBe(token);

    const read = await vaultCall(endpoint, { path: "sys/policies/acl/x", token });
    expect(read.status).toBe(200);
    expect(read.json.data.policy).toBe(policy);
    server = restarted;
  });

  test("stop with purge ends the process and removes the directory", async () => {
    await stopServer(dir, { purge: true });
    expect(alive(server.pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(await serverStatus(dir)).toMatchObject({ running: false, initialized: false });
    await stopServer(dir, { purge: true }); // already gone: a no-op
  });

  test("purge refuses a directory holding files that are not the server's", async () => {
    const foreign = join(parent, "not-a-server");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "keep me");
    await expect(stopServer(foreign, { purge: true })).rejects.toThrow(/refusing to purge .*notes\.txt/);
    expect(existsSync(join(foreign, "notes.txt"))).toBe(true);
  });
});
