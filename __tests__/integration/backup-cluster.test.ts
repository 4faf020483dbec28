import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupManifest } from "../../ops/backup/manifest";
import { backupMain } from "../../ops/commands/backup";
import { writeBundle } from "../../ops/bundle/bundle";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { loadToolchain } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { clusterStatus } from "../../ops/server/cluster";
import { capture } from "../helpers/io";
import { TestCluster, ok, startTestCluster } from "./fixtures";

/*
 * A backup of a 3-node raft cluster taken through a standby: the standby
 * answers the snapshot GET with 307 to the active node, the backup follows it,
 * records both addresses, and the snapshot verifies in a scratch server
 * (a single node, with none of the cluster's audit declarations).
 */
describe("backup of a 3-node cluster through a standby", () => {
  let cluster: TestCluster;
  let work: string;

  beforeAll(async () => {
    cluster = await startTestCluster(3, 1);
    work = mkdtempSync(join(tmpdir(), "c42-backup-cluster-"));
  });

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await cluster?.stop();
  });

  test("follows the standby's redirect to the active node, and the snapshot verifies with every key, the CA and the login", async () => {
    const status = await clusterStatus(cluster.dir);
    const active = cluster.nodes.find((n) => status.nodes.find((s) => s.nodeId === n.nodeId)?.role === "active");
    const standby = cluster.nodes.find((n) => status.nodes.find((s) => s.nodeId === n.nodeId)?.role === "standby");
    if (!active || !standby) throw new Error(`expected an active node and a standby: ${JSON.stringify(status.nodes)}`);

    const env = cluster.envFor(standby);
    const d = isolatedDeployment(join(work, "deploy"), env, { C42_PUBLIC_URL: cluster.env.VAULT_ADDR });
    await deploy(d);
    await writeBundle({ outputs: await d.outputs(), outDir: join(work, "bundle") });
    const keys = Array.from({ length: 20 }, () => `code42/archive-keys/${randomUUID()}`);
    for (const key of keys) ok(await cluster.call({ method: "PUT", path: `secret/${key}`, body: { key: randomBytes(32).toString("base64") } }));

    const { out, io } = capture();
    const code = await backupMain(
      ["--out", join(work, "backups"), "--verify", "--unseal-keys", join(cluster.dir, "unseal.key"), "--bundle", join(work, "bundle"), "--json"],
      io,
      () => ({
        env: d.env,
        projectDir: join(work, "deploy"),
        localServerDir: join(work, "no-local-server"),
        baoBinary: () => loadToolchain().bao,
      }),
    );
    expect({ code, stderr: out.stderr }).toMatchObject({ code: 0 });
    expect(out.stderr).toContain(`the snapshot comes from the active node ${active.addr} (redirected by ${standby.addr})`);
    const result = JSON.parse(out.stdout);
    const manifest = JSON.parse(readFileSync(result.manifest, "utf8")) as BackupManifest;
    expect(manifest.server).toMatchObject({ addr: standby.addr, activeNode: active.addr, storage: "raft" });
    expect(manifest.kv.keys).toEqual([...keys].sort());
    expect(manifest.verified).toMatchObject({ keysChecked: 20, login: "ok" });
    expect(out.stdout + out.stderr).not.toContain(env.VAULT_TOKEN);
  });
});
