import { ChildProcess, spawn } from "node:child_process";
import { createDecipheriv, pbkdf2, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { CLUSTER_OUTPUT, ClusterIdentity } from "../../lib/cluster-identity-record";
import { bundleMain } from "../../ops/commands/bundle";
import { CommandIo } from "../../ops/commands/command";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { migrateStateMain } from "../../ops/commands/migrate-state";
import { planMain } from "../../ops/commands/plan";
import { rebindMain } from "../../ops/commands/rebind";
import { statusMain } from "../../ops/commands/status";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { isPlainState } from "../../ops/engine/state-files";
import { readClusterIdentity } from "../../ops/vault/cluster-identity";
import { endpointFromEnv } from "../../ops/vault/client";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

/*
 * Issue 29, on real servers A and B (both reused by every case): a state made
 * on A is refused by every door pointed at B, in one line naming both
 * clusters, and stays byte for byte what it was; a re-bind moves it only to a
 * server that holds what it records; the errors about an encrypted or a
 * missing state are said before the engine, word for word; a passphrase
 * rotation and a killed migrate-state leave no copy the old passphrase (or no
 * passphrase) opens.
 */

const PROJECT = resolve(__dirname, "..", "..");

type Main = (argv: readonly string[], make: () => Deployment, io: CommandIo) => Promise<number>;

async function run(main: Main, argv: string[], make: () => Deployment): Promise<{ code: number; stdout: string; stderr: string }> {
  const { out, io } = capture();
  const code = await main(argv, make, io);
  return { code, ...out };
}

/** Whether OpenTofu's pbkdf2 + AES-GCM envelope in `file` opens with `passphrase` (any of its key slots). */
async function opensWith(file: string, passphrase: string): Promise<boolean> {
  const state = JSON.parse(readFileSync(file, "utf8")) as { meta: Record<string, string>; encrypted_data: string };
  const data = Buffer.from(state.encrypted_data, "base64");
  const opened = await Promise.all(
    Object.values(state.meta).map(async (encoded) => {
      const m = JSON.parse(Buffer.from(encoded, "base64").toString()) as { salt: string; iterations: number; hash_function: string; key_length: number };
      const key = await promisify(pbkdf2)(passphrase, Buffer.from(m.salt, "base64"), m.iterations, m.key_length, m.hash_function);
      const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      try {
        decipher.update(data.subarray(12, data.length - 16));
        decipher.final();
        return true;
      } catch {
        return false;
      }
    }),
  );
  return opened.includes(true);
}

const isEnvelope = (file: string) => {
  try {
    return typeof (JSON.parse(readFileSync(file, "utf8")) as { encrypted_data?: unknown }).encrypted_data === "string";
  } catch {
    return false;
  }
};

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A file that holds a state, or a part of one, in clear. */
const inClear = (file: string) => isPlainState(file) || readFileSync(file).includes("PRIVATE KEY");

/** What the command prints on stderr (process.stderr: the deployment's notices) while `body` runs. */
async function stderrOf<T>(body: () => Promise<T>): Promise<{ result: T; printed: string }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    return { result: await body(), printed: chunks.join("") };
  } finally {
    spy.mockRestore();
  }
}

describe("issue 29: the state belongs to one cluster", () => {
  let A: TestServer;
  let B: TestServer;
  let td: TestDeployment;
  let idA: ClusterIdentity;
  let idB: ClusterIdentity;
  const others: TestDeployment[] = [];
  const onA = (settings: Record<string, string> = {}) => isolatedDeployment(td.work, A.env, settings);
  const onB = () => isolatedDeployment(td.work, B.env);
  const stateFile = () => join(td.work, "state", "keystore.tfstate");
  const name = (c: ClusterIdentity) => `${c.clusterName} (id ${c.clusterId}, token auth ${c.tokenAccessor})`;
  const refusal = (addr: string, live: string, recorded: string) =>
    `VAULT_ADDR=${addr} answers as ${live}, but the state ${stateFile()} belongs to ${recorded}: ` +
    "point VAULT_ADDR (with VAULT_TOKEN and VAULT_CACERT) at that cluster; or, if this server holds a disaster restore of that keystore, " +
    "re-bind the state to it with `npm run rebind`. Nothing was changed.";

  beforeAll(async () => {
    [A, B] = await Promise.all([startTestServer(), startTestServer()]);
    idA = await readClusterIdentity(endpointFromEnv(A.env), A.env.VAULT_TOKEN);
    idB = await readClusterIdentity(endpointFromEnv(B.env), B.env.VAULT_TOKEN);
    td = testDeployment(A);
    const started = Date.now();
    expect((await run(deployMain, [], () => onA())).code).toBe(0);
    // A second deploy: the engine's .backup and the last good state exist too.
    expect((await run(deployMain, [], () => onA())).code).toBe(0);
    process.stderr.write(`cluster-identity test: two deploys to A in ${Date.now() - started} ms\n`);
  });

  afterAll(async () => {
    others.forEach((o) => o.cleanup());
    td?.cleanup();
    await Promise.all([A?.stop(), B?.stop()]);
  });

  test("the two servers are two clusters, and the state records A's: token auth accessor, id and name", () => {
    expect(idA.tokenAccessor).toMatch(/^auth_token_[0-9a-f]{8}$/);
    expect(idA.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    expect(idB.tokenAccessor).not.toBe(idA.tokenAccessor);
    expect(idB.clusterId).not.toBe(idA.clusterId);
    const outputs = (JSON.parse(readFileSync(stateFile(), "utf8")) as { outputs: Record<string, { value: unknown }> }).outputs;
    expect(outputs[CLUSTER_OUTPUT].value).toEqual(idA);
  });

  test("pointed at a fresh B: deploy, drift, plan, status and rebind refuse in one line naming both clusters; every state file is byte-identical", async () => {
    const files = [stateFile(), `${stateFile()}.backup`, `${stateFile()}.last-good`];
    const before = files.map((f) => readFileSync(f));
    const line = refusal(B.env.VAULT_ADDR, name(idB), name(idA));
    for (const [main, command, argv] of [
      [deployMain, "deploy", []],
      [driftMain, "drift", []],
      [planMain, "plan", ["--out", join(td.work, "b.tfplan")]],
      [statusMain, "status", []],
    ] as const) {
      const started = Date.now();
      const r = await run(main, [...argv], onB);
      expect({ command, ...r }).toEqual({ command, code: 1, stdout: "", stderr: `${command}: ${line}\n` });
      process.stderr.write(`cluster-identity test: ${command} refused in ${Date.now() - started} ms\n`);
    }
    // rebind does not take a server that lacks what the state records.
    const rebind = await run(rebindMain, [], onB);
    expect(rebind.code).toBe(1);
    expect(rebind.stderr).toMatch(
      new RegExp(
        `^rebind: ${B.env.VAULT_ADDR.replace(/[.]/g, "\\.")} \\(${idB.clusterName}.*\\) does not hold \\d+ of the objects the state ${stateFile()} records \\(.*vault_pki_secret_backend_root_cert\\..*\\): it is not a restore of this state's keystore, and binding the state to it would drop them\\. Nothing was changed\\n$`,
      ),
    );
    expect(files.map((f) => readFileSync(f).equals(before[files.indexOf(f)]))).toEqual([true, true, true]);
    expect(existsSync(join(td.work, "b.tfplan"))).toBe(false);
    const mounts = Object.keys((await B.call({ path: "sys/mounts" })).json.data);
    expect(mounts).not.toContain("pki/");
  });

  test("back on A: drift exits 0 and bundle writes crashplan.p12", async () => {
    const drift = await run(driftMain, [], () => onA());
    expect(drift).toMatchObject({ code: 0, stdout: "in sync: Vault matches the configuration\n" });
    const out = join(td.work, "bundle");
    const { io } = capture();
    expect(await bundleMain(["--out", out], () => onA().outputs(), io)).toBe(0);
    expect(statSync(join(out, "crashplan.p12")).size).toBeGreaterThan(1000);
  });

  test("a state bound to another cluster whose objects this server holds (a restore under another identity): refused, then npm run rebind binds it and drift exits 0", async () => {
    const other = { tokenAccessor: "auth_token_0badc0de", clusterId: "00000000-1111-2222-3333-444444444444", clusterName: "vault-cluster-elsewhere" };
    const json = JSON.parse(readFileSync(stateFile(), "utf8")) as { outputs: Record<string, { value: unknown }> };
    json.outputs[CLUSTER_OUTPUT].value = other;
    writeFileSync(stateFile(), JSON.stringify(json, null, 2));
    const refused = await run(driftMain, [], () => onA());
    expect(refused).toEqual({ code: 1, stdout: "", stderr: `drift: ${refusal(A.env.VAULT_ADDR, name(idA), name(other))}\n` });

    const rebind = await run(rebindMain, [], () => onA());
    expect(rebind).toMatchObject({
      code: 0,
      stdout: `the state ${stateFile()} now belongs to ${name(idA)} at ${A.env.VAULT_ADDR} (it belonged to ${name(other)}); check it with: npm run drift\n`,
    });
    const again = await run(rebindMain, [], () => onA());
    expect(again.stdout).toBe(`the state ${stateFile()} belongs to ${name(idA)} at ${A.env.VAULT_ADDR} already; nothing to do\n`);
    expect((await run(driftMain, [], () => onA())).code).toBe(0);
    const outputs = (JSON.parse(readFileSync(stateFile(), "utf8")) as { outputs: Record<string, { value: unknown }> }).outputs;
    expect(outputs[CLUSTER_OUTPUT].value).toEqual(idA);
  });

  test("drift, status and plan on a missing state, and on an empty one: 'There is no state at …: check stateDir.'", async () => {
    const empty = testDeployment(A);
    others.push(empty);
    const file = join(empty.work, "state", "keystore.tfstate");
    const make = () => isolatedDeployment(empty.work, A.env);
    for (const prepare of [() => undefined, () => writeFileSync(file, "")]) {
      prepare();
      for (const [main, command, argv] of [
        [driftMain, "drift", []],
        [statusMain, "status", []],
        [planMain, "plan", ["--out", join(empty.work, "x.tfplan")]],
      ] as const) {
        const r = await run(main, [...argv], make);
        expect({ command, ...r }).toEqual({ command, code: 1, stdout: "", stderr: `${command}: There is no state at ${file}: check stateDir.\n` });
      }
    }
  });

  describe("an encrypted state", () => {
    const first = randomBytes(18).toString("base64");
    const next = randomBytes(18).toString("base64");
    let enc: TestDeployment;
    // On B, which holds no keystore yet (A's objects belong to the state above).
    const encOn = (settings: Record<string, string>) => () => isolatedDeployment(enc.work, B.env, settings);
    const encState = () => join(enc.work, "state", "keystore.tfstate");

    beforeAll(async () => {
      enc = testDeployment(B, { C42_STATE_PASSPHRASE: first });
      others.push(enc);
      for (let i = 0; i < 2; i++) expect(await run(deployMain, [], encOn({ C42_STATE_PASSPHRASE: first }))).toMatchObject({ code: 0, stderr: "" });
    });

    test("Terraform, or OpenTofu without the passphrase: deploy, drift and status say 'This state is encrypted: use OpenTofu and set C42_STATE_PASSPHRASE.' and change nothing", async () => {
      const before = readFileSync(encState());
      for (const settings of [{ C42_ENGINE: "terraform" }, {}] as Record<string, string>[]) {
        for (const [main, command] of [
          [deployMain, "deploy"],
          [driftMain, "drift"],
          [statusMain, "status"],
        ] as const) {
          const r = await run(main, [], encOn(settings));
          expect({ command, settings, ...r }).toEqual({
            command,
            settings,
            code: 1,
            stdout: "",
            stderr: `${command}: This state is encrypted: use OpenTofu and set C42_STATE_PASSPHRASE.\n`,
          });
        }
      }
      expect(readFileSync(encState()).equals(before)).toBe(true);
    });

    test("a passphrase rotation leaves no file under the state directory or .local that the old passphrase opens", async () => {
      // A backup the project keeps (migrate-state's of a local encrypted state is a byte copy).
      const backups = join(enc.work, ".local", "state-backups");
      mkdirSync(backups, { recursive: true, mode: 0o700 });
      copyFileSync(encState(), join(backups, "keystore-before-rotation.tfstate"));
      const copies = [`${encState()}.last-good`, join(backups, "keystore-before-rotation.tfstate")];
      // The check below can fail: before the rotation the old passphrase opens the state (and each copy is a copy of it).
      expect(await opensWith(encState(), first)).toBe(true);

      const { result, printed } = await stderrOf(() => run(deployMain, [], encOn({ C42_STATE_PASSPHRASE: next, C42_STATE_PASSPHRASE_PREVIOUS: first })));
      expect(result.code).toBe(0);
      for (const f of copies) {
        expect(printed).toContain(`removed ${f}: a copy of the state encrypted before C42_STATE_PASSPHRASE was rotated, which the old passphrase opens.\n`);
      }
      const files = [...filesUnder(join(enc.work, "state")), ...filesUnder(join(enc.work, ".local"))];
      const envelopes = files.filter(isEnvelope);
      // The engine's .backup is the state before the run, written through the new key.
      expect(envelopes).toEqual(expect.arrayContaining([encState(), `${encState()}.last-good`]));
      const opened = await Promise.all(envelopes.map(async (f) => ({ f, oldOpens: await opensWith(f, first) })));
      expect(opened).toEqual(envelopes.map((f) => ({ f, oldOpens: false })));
      expect(await opensWith(encState(), next)).toBe(true);
      expect(files.filter(inClear)).toEqual([]);
      expect((await run(driftMain, [], encOn({ C42_STATE_PASSPHRASE: next }))).code).toBe(0);
    });
  });

  describe("a migrate-state killed with SIGKILL while it encrypts the state in place, then retried", () => {
    const passphrase = randomBytes(18).toString("base64");
    let child: ChildProcess | undefined;
    const DRIVER = `
const { isolatedDeployment } = require("./ops/engine/scratch");
const { processIo } = require("./ops/commands/command");
const { migrateStateMain } = require("./ops/commands/migrate-state");
const pick = (re) => Object.fromEntries(Object.entries(process.env).filter(([k]) => re.test(k)));
const make = (settings) => isolatedDeployment(process.env.KILL_TEST_WORK, pick(/^VAULT_/), { ...pick(/^C42_(?!CACHE)/), ...settings });
migrateStateMain([], make, processIo).then((code) => process.exit(code));
`;

    afterAll(() => {
      if (child?.pid) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // the group is gone
        }
      }
    });

    /** Engine processes of group `group` whose argv includes `arg`. */
    const engineRunning = (group: number, arg: string) =>
      readdirSync("/proc").some((entry) => {
        if (!/^\d+$/.test(entry)) return false;
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
          if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== group) return false;
          return readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg);
        } catch {
          return false;
        }
      });

    test("the retry removes the plain copies the killed run left and says so; one plain copy stays, the documented backup", async () => {
      child = spawn(process.execPath, ["-r", "ts-node/register", "-e", DRIVER], {
        cwd: PROJECT,
        detached: true,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          C42_CACHE: process.env.C42_CACHE,
          TS_NODE_TRANSPILE_ONLY: "1",
          CHECKPOINT_DISABLE: "1",
          KILL_TEST_WORK: td.work,
          C42_STATE_PASSPHRASE: passphrase,
          ...A.env,
        },
        stdio: "ignore",
      });
      const group = child.pid!;
      const ended = new Promise<void>((done) => child!.on("close", () => done()));
      const deadline = Date.now() + 120_000;
      while (!engineRunning(group, "-refresh-only")) {
        if (Date.now() > deadline) throw new Error("migrate-state never started its refresh");
        await new Promise((r) => setTimeout(r, 5));
      }
      process.kill(-group, "SIGKILL");
      await ended;
      const left = [...filesUnder(join(td.work, "state")), ...filesUnder(join(td.work, ".local"))].filter((f) => existsSync(f) && inClear(f));
      // What the kill left in clear: the state itself (not encrypted yet), its last good copy, the backup.
      expect(left.length).toBeGreaterThanOrEqual(2);

      const retry = await stderrOf(async () => {
        const { out, io } = capture();
        const code = await migrateStateMain([], (settings) => onA({ C42_STATE_PASSPHRASE: passphrase, ...settings }), io);
        return { code, ...out };
      });
      expect(retry.result.stderr).toBe("");
      expect(retry.result.code).toBe(0);
      expect(retry.printed).toMatch(new RegExp(`removed ${stateFile().replace(/[.]/g, "\\.")}\\.last-good: `));
      const stillClear = [...filesUnder(join(td.work, "state")), ...filesUnder(join(td.work, ".local"))].filter(inClear);
      expect(stillClear).toEqual([expect.stringMatching(new RegExp(`^${join(td.work, ".local", "state-backups")}/keystore-.*\\.tfstate$`))]);
      expect(retry.result.stdout).toContain(`the old state is backed up in ${stillClear[0]} (0600)`);
      expect(isEnvelope(stateFile())).toBe(true);
      expect((await run(driftMain, [], () => onA({ C42_STATE_PASSPHRASE: passphrase }))).code).toBe(0);
    });
  });
});
