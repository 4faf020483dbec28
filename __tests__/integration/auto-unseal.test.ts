import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupManifest } from "../../ops/backup/manifest";
import { backupMain } from "../../ops/commands/backup";
import { restoreMain } from "../../ops/commands/restore";
import { serverMain } from "../../ops/commands/server";
import { writeBundle } from "../../ops/bundle/bundle";
import { parseEnvFile } from "../../ops/common/env-file";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { loadToolchain } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { TRANSIT } from "../../ops/server/auto-unseal";
import { clusterStatus } from "../../ops/server/cluster";
import { readServerEnv, startServer, stopServer } from "../../ops/server/server";
import { VaultEndpoint } from "../../ops/vault/client";
import { capture } from "../helpers/io";
import { callApi, ok } from "./fixtures";

/*
 * `server start --nodes 3 --auto-unseal transit`: the nodes unseal
 * themselves with a transit key of a separate small OpenBao, through a token
 * that may only encrypt and decrypt with that key. The cluster restarts with
 * no key given; its backup verifies in a scratch server that uses the same
 * seal; a disaster restore into a new server with that seal brings back
 * 1,000 archive keys byte for byte.
 */
describe("3-node cluster auto-unsealed by transit", () => {
  let base: string;
  let dir: string;
  let work: string;
  let env: Record<string, string>;
  let endpoint: VaultEndpoint;
  let started = false;
  let drDir: string | undefined;
  const archive = new Map<string, string>();
  const { out, io } = capture();

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "c42-autounseal-"));
    dir = join(base, "cluster");
    work = join(base, "work");
    started = true;
    const code = await serverMain(["start", "--dir", dir, "--nodes", "3", "--auto-unseal", "transit"], io);
    if (code !== 0) throw new Error(`server start failed (exit ${code}): ${out.stderr}`);
    env = parseEnvFile(readFileSync(join(dir, "vault.env"), "utf8"));
    endpoint = { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") };
  });

  afterAll(async () => {
    if (drDir) await stopServer(drDir, { purge: true }).catch(() => undefined);
    if (started) await serverMain(["stop", "--dir", dir, "--purge"], io);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  test("the nodes are sealed by transit: no unseal key stored, a recovery key and the seal stanza 0600, the seal's token limited to its key", async () => {
    const seal = ok(await callApi(endpoint, { path: "sys/seal-status" })).json;
    expect(seal).toMatchObject({ type: "transit", sealed: false, recovery_seal: true });
    expect(existsSync(join(dir, "unseal.key"))).toBe(false);
    for (const f of ["recovery.key", "seal.hcl", "root.token"]) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    const status = await clusterStatus(dir);
    expect(status.nodes.map((n) => n.role).sort()).toEqual(["active", "standby", "standby"]);

    // The seal's token, as the nodes use it: encrypt and decrypt with its one key, nothing else.
    const stanza = readFileSync(join(dir, "seal.hcl"), "utf8");
    const token = /token\s*=\s*"([^"]+)"/.exec(stanza)![1];
    const unsealer = readServerEnv(join(dir, "transit"));
    const transit: VaultEndpoint = { addr: unsealer.VAULT_ADDR, caPem: readFileSync(unsealer.VAULT_CACERT, "utf8") };
    const self = ok(await callApi(transit, { path: "auth/token/lookup-self", token })).json.data;
    expect(self).toMatchObject({ policies: [TRANSIT.policy], orphan: true, period: expect.any(Number) });
    const plaintext = Buffer.from("c42").toString("base64");
    const sealed = ok(await callApi(transit, { method: "POST", path: `transit/encrypt/${TRANSIT.key}`, token, body: { plaintext } })).json.data.ciphertext;
    expect(
      ok(await callApi(transit, { method: "POST", path: `transit/decrypt/${TRANSIT.key}`, token, body: { ciphertext: sealed } })).json.data.plaintext,
    ).toBe(plaintext);
    for (const call of [
      { method: "POST" as const, path: `transit/keys/other`, body: {} },
      { method: "GET" as const, path: `transit/export/encryption-key/${TRANSIT.key}` },
      { method: "POST" as const, path: `transit/keys/${TRANSIT.key}/rotate`, body: {} },
      { method: "GET" as const, path: "sys/mounts" },
    ]) {
      expect([call.path, (await callApi(transit, { ...call, token })).status]).toEqual([call.path, 403]);
    }
    expect(out.stdout + out.stderr).not.toContain(token);
  });

  test("deploy, 1,000 archive keys; the stopped cluster starts again with no key given", async () => {
    const d = isolatedDeployment(join(work, "deploy"), env);
    await deploy(d);
    await writeBundle({ outputs: await d.outputs(), outDir: join(work, "bundle") });
    for (let i = 0; i < 1000; i++) archive.set(`code42/archive-keys/user-${i}`, randomBytes(32).toString("base64"));
    const entries = [...archive];
    for (let i = 0; i < entries.length; i += 20) {
      await Promise.all(
        entries
          .slice(i, i + 20)
          .map(async ([key, value]) =>
            ok(await callApi(endpoint, { method: "PUT", path: `secret/${key}`, token: env.VAULT_TOKEN, body: { archiveKey: value } })),
          ),
      );
    }

    expect(await serverMain(["stop", "--dir", dir], io)).toBe(0);
    expect((await clusterStatus(dir)).nodes.map((n) => n.role)).toEqual(["stopped", "stopped", "stopped"]);
    out.stderr = "";
    expect(await serverMain(["start", "--dir", dir], io)).toBe(0);
    // No key offered: each node says it unsealed itself; only the unsealer (a Shamir server of its own) is unsealed with its key.
    for (const n of [1, 2, 3]) expect(out.stderr).toContain(`c42-node-${n} unsealed itself (transit)`);
    expect(out.stderr.split("\n").filter((l) => /unsealing/.test(l))).toEqual([expect.stringContaining("[transit unsealer] unsealing")]);
    const status = await clusterStatus(dir);
    expect(status.nodes.map((n) => n.role).sort()).toEqual(["active", "standby", "standby"]);
    expect(status.autopilot).toMatchObject({ healthy: true, failureTolerance: 1 });
  });

  let snapshot: string;
  test("backup --verify: the scratch server takes the cluster's seal stanza and its recovery key", async () => {
    const { out: b, io: bio } = capture();
    const surroundings = () => ({
      env: { ...process.env, ...env, C42_SEAL_CONFIG: join(dir, "seal.hcl") },
      projectDir: join(work, "deploy"),
      localServerDir: join(work, "no-local-server"),
      baoBinary: () => loadToolchain().bao,
    });
    const argv = ["--out", join(work, "backups"), "--verify", "--unseal-keys", join(dir, "recovery.key"), "--bundle", join(work, "bundle"), "--json"];
    const code = await backupMain(argv, bio, surroundings);
    expect({ code, stderr: b.stderr }).toMatchObject({ code: 0 });
    expect(b.stderr).toContain("unsealed by its seal: cluster ");
    const result = JSON.parse(b.stdout);
    snapshot = result.snapshot;
    const manifest = JSON.parse(readFileSync(result.manifest, "utf8")) as BackupManifest;
    expect(manifest.server.seal).toMatchObject({ type: "transit" });
    expect(manifest.kv.count).toBe(1000);
    expect(manifest.verified).toMatchObject({ keysChecked: 1000, login: "ok" });

    // Without the seal stanza the check says what to give instead of unseal keys.
    const { out: n, io: nio } = capture();
    const refused = await backupMain(argv, nio, () => ({ ...surroundings(), env: { ...process.env, ...env } }));
    expect(refused).toBe(4);
    expect(n.stderr).toContain('is auto-unsealed (seal "transit")');
    expect(n.stderr).toContain("C42_SEAL_CONFIG");
  });

  test("disaster restore into a new server with the same seal brings back the 1,000 keys byte for byte", async () => {
    drDir = join(base, "dr");
    const dr = await startServer({ dir: drDir, baoBinary: loadToolchain().bao, seal: readFileSync(join(dir, "seal.hcl"), "utf8") });
    const drEnv = readServerEnv(drDir);
    const { out: r, io: rio } = capture();
    const code = await restoreMain(
      [snapshot, "--force", "--yes", "--unseal-keys", join(dir, "recovery.key"), "--bundle", join(work, "bundle"), "--json"],
      rio,
      () => ({
        env: { ...process.env, ...drEnv, C42_SEAL_CONFIG: join(dir, "seal.hcl") },
        projectDir: join(work, "deploy"),
        localServerDir: join(work, "no-local-server"),
        baoBinary: () => loadToolchain().bao,
      }),
    );
    expect({ code, stderr: r.stderr }).toMatchObject({ code: 0 });
    expect(r.stderr).toContain("the server loaded the snapshot and unsealed itself with its seal");
    const drEndpoint: VaultEndpoint = { addr: dr.addr, caPem: readFileSync(dr.caCertFile, "utf8") };
    const seal = ok(await callApi(drEndpoint, { path: "sys/seal-status" })).json;
    expect(seal.cluster_id).toBe(ok(await callApi(endpoint, { path: "sys/seal-status" })).json.cluster_id);
    // The cluster's root token came with the snapshot.
    const wrong: string[] = [];
    for (const [key, value] of archive) {
      const answer = await callApi(drEndpoint, { path: `secret/${key}`, token: env.VAULT_TOKEN });
      if (answer.status !== 200 || answer.json.data.archiveKey !== value) wrong.push(`${key} HTTP ${answer.status}`);
    }
    expect(wrong).toEqual([]);
  });
});
