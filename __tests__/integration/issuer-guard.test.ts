import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deployMain } from "../../ops/commands/deploy";
import { Deployment } from "../../ops/engine/deployment";
import { providerEnv } from "../../ops/engine/provider-source";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";

// Issue 23: the issuer guard lives in the stack (lib/issuer-guard.ts), so the engine itself refuses a plan that
// would add a second root CA issuer, whoever runs it. One server and one deploy; the raw engine (typed in
// cdktf.out/stacks/keystore, as a CI template runs it: no command, no wrapper guard) is checked against it with
// OpenTofu and with Terraform from PATH. The state a deploy killed right after the root CA leaves behind (it holds
// the pki mount, not the root nor its record) is made by the engine itself: an import of the mount into a new state.

interface Run {
  readonly code: number;
  readonly output: string;
  readonly seconds: number;
}

/** The engine typed by hand in the deployment's cdktf.out/stacks/keystore (no synth, no command). */
function rawEngine(d: Deployment, [command, ...args]: string[]): Promise<Run> {
  const env = { ...d.env, ...providerEnv(d.providers), TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(d.engine.binary, [command, "-input=false", "-no-color", ...args], { cwd: d.stackDir, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr.on("data", (b: Buffer) => (output += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output, seconds: (Date.now() - started) / 1000 }));
  });
}

const say = (line: string) => void process.stderr.write(`issuer-guard: ${line}\n`);
/** The engine's diagnostic as one line (no box drawing, no wrapping). */
const oneLine = (output: string) => output.replace(/[│╷╵]/g, " ").replace(/\s+/g, " ");

describe("the issuer guard inside the engine: a raw plan that would add a second root on pki is refused", () => {
  let server: TestServer;
  let td: TestDeployment;
  const others: TestDeployment[] = [];
  let rootIssuers: string[];
  const issuersOn = async (mount: string) => ((await server.call({ method: "LIST", path: `${mount}/issuers` })).json?.data?.keys ?? []) as string[];

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server, { C42_ENGINE: "tofu" });
    const started = Date.now();
    const { out, io } = capture();
    const code = await deployMain([], () => isolatedDeployment(td.work, server.env, { C42_ENGINE: "tofu" }), io);
    say(`first deploy (npm run deploy, OpenTofu) exit ${code} in ${(Date.now() - started) / 1000} s`);
    if (code !== 0) say(out.stdout + out.stderr);
    expect(code).toBe(0);
    rootIssuers = await issuersOn("pki");
  });

  afterAll(async () => {
    for (const other of others) other.cleanup();
    td?.cleanup();
    await server?.stop();
  });

  test("first deploy: one root on pki, recorded in the state; a raw no-op plan passes the guard", async () => {
    expect(rootIssuers).toHaveLength(1);
    const outputs = await td.deployment.outputs();
    expect(outputs.ca_root_issuer_ids.value).toEqual(rootIssuers);
    const intermediates = await issuersOn("pki_int");
    expect(outputs.ca_intermediate_issuer_ids.value).toEqual(expect.arrayContaining(intermediates));
    const plan = await rawEngine(td.deployment, ["plan", "-detailed-exitcode"]);
    say(`raw no-op plan (OpenTofu) exit ${plan.code} in ${plan.seconds} s`);
    expect(plan.output).toContain("No changes.");
    expect(plan.code).toBe(0);
  });

  for (const engine of ["tofu", "terraform"]) {
    test(`${engine}: a state holding the pki and pki_int mounts but no record of their CAs: raw plan and apply refused inside the engine, naming the issuer and npm run adopt (the same for pki_int's new key); nothing changed`, async () => {
      const other = testDeployment(server, { C42_ENGINE: engine });
      others.push(other);
      const d = isolatedDeployment(other.work, server.env, { C42_ENGINE: engine });
      // What a CI job does first: synth and init (here through the deployment, which picks the engine and providers).
      await d.init();
      say(`${engine}: ${d.describeEngine()}`);
      const json = JSON.parse(readFileSync(join(d.stackDir, "cdk.tf.json"), "utf8")) as { resource: { vault_mount: Record<string, { path: string }> } };
      for (const path of ["pki", "pki_int"]) {
        const [mount] = Object.entries(json.resource.vault_mount).find(([, m]) => m.path === path)!;
        const imported = await rawEngine(d, ["import", `vault_mount.${mount}`, path]);
        say(`${engine}: raw import of the ${path} mount exit ${imported.code} in ${imported.seconds} s`);
        if (imported.code !== 0) say(imported.output);
        expect(imported.code).toBe(0);
      }
      const intermediates = await issuersOn("pki_int");
      const refusal = `pki/ already holds issuer ${rootIssuers[0]}, which the state does not record, and this configuration makes a root CA there (vault_pki_secret_backend_root_cert): Vault would add another issuer beside it, silently. Nothing was changed.`;
      // pki_int holds the intermediate and the root's chain copy: the CSR (a new key, then a new issuer) is refused too.
      const intermediateRefusal =
        /pki_int\/ already holds issuer ([0-9a-f-]+(?:, [0-9a-f-]+)*), which the state does not record, and this configuration makes an intermediate CA \(a new key\) there/;
      const plan = await rawEngine(d, ["plan", "-out=second-root.plan"]);
      say(`${engine}: raw plan exit ${plan.code} in ${plan.seconds} s`);
      expect(oneLine(plan.output)).toContain(refusal);
      expect(oneLine(plan.output).match(intermediateRefusal)?.[1].split(", ").sort()).toEqual([...intermediates].sort());
      expect(oneLine(plan.output)).toMatch(/npm run adopt/);
      expect(plan.output).toMatch(/precondition failed/i);
      expect(plan.code).toBe(1);
      const apply = await rawEngine(d, ["apply", "-auto-approve"]);
      say(`${engine}: raw apply exit ${apply.code} in ${apply.seconds} s`);
      expect(oneLine(apply.output)).toContain(refusal);
      expect(apply.output).not.toMatch(/Creation complete|Apply complete/);
      expect(apply.code).toBe(1);
      expect(await issuersOn("pki")).toEqual(rootIssuers);
      expect(await issuersOn("pki_int")).toEqual(intermediates);
    });
  }

  test("an issuer made beside the recorded root by someone else is not a creation: a raw plan still has no changes", async () => {
    const made = await server.call({ method: "POST", path: "pki/root/generate/internal", body: { common_name: "not ours", issuer_name: "not-ours" } });
    expect(made.status).toBe(200);
    expect(await issuersOn("pki")).toHaveLength(2);
    const plan = await rawEngine(td.deployment, ["plan", "-detailed-exitcode"]);
    say(`raw plan beside a foreign issuer exit ${plan.code} in ${plan.seconds} s`);
    expect(plan.output).toContain("No changes.");
    expect(plan.code).toBe(0);
  });
});
