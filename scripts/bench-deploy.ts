// Benchmark, not a test: how long a deploy takes on a real OpenBao server, next
// to the manual baseline of typing Code42's recipe into the CLI. Each run uses
// fresh private servers. Nothing here fails on a slow machine; it fails only
// when a deploy or the manual recipe did not produce a working keystore.
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config";
import { parseDuration } from "../lib/duration";
import { renderPolicy } from "../lib/policy";
import { BUNDLE_OUTPUTS } from "../lib/bundle-outputs";
import { isolatedDeployment, isolatedEnv } from "../ops/engine/scratch";
import { loadToolchain } from "../ops/engine/toolchain";
import { readServerEnv, startServer, stopServer } from "../ops/server/server";
import { VaultCall, VaultEndpoint, vaultCall } from "../ops/vault/client";
import { readErrors, readLogin } from "../ops/vault/readers";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`--runs: "${values.runs}" is not a positive whole number; expected e.g. --runs 3\n`);
  process.exit(2);
}

/** One private server: its directory and the VAULT_* connection (root token). */
interface BenchServer {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
  readonly startMs: number;
}

/** What one run measured. */
interface RunSample {
  readonly cold: DeployTiming;
  readonly noop: DeployTiming;
  readonly deployLoginOk: boolean;
  readonly manualMs: number;
  readonly manualInvocations: number;
  readonly manualLoginOk: boolean;
  readonly serverStartMs: number;
  readonly loadAvg1m: readonly [number, number];
}

const root = resolve(__dirname, "..");
const toolchain = loadToolchain();
// The settings and their seed names come from the same table the stack reads,
// so the manual path builds exactly what the stack declares.
const seed = loadConfig({ env: {}, cwd: __dirname });

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const log = (line: string) => process.stderr.write(`${line}\n`);

async function freshServer(): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bench-bao-"));
  const start = process.hrtime.bigint();
  try {
    await startServer({ dir, baoBinary: toolchain.bao });
  } catch (e) {
    await stopServer(dir, { purge: true });
    throw e;
  }
  const startMs = ms(start);
  const env = readServerEnv(dir);
  return { dir, env, startMs, endpoint: { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") } };
}

/** A TLS client-certificate login; true when it returns a token carrying the policy. Revokes the token again. */
async function certLogin(endpoint: VaultEndpoint, identity: Pick<VaultCall, "clientCert" | "pfx">): Promise<boolean> {
  const answer = await vaultCall(endpoint, { method: "PUT", path: `auth/${seed.certAuth.path}/login`, ...identity });
  if (answer.status !== 200) {
    log(`  login failed: HTTP ${answer.status} ${readErrors(answer)}`);
    return false;
  }
  const login = readLogin(answer);
  await vaultCall(endpoint, { method: "PUT", path: "auth/token/revoke-self", token: login.clientToken });
  const ok = login.policies.includes(seed.policy.name.toLowerCase()) && login.leaseDuration > 0;
  if (!ok) log(`  login returned policies ${login.policies.join(", ")} and TTL ${login.leaseDuration}s`);
  return ok;
}

/**
 * One `npm run deploy` as a fresh process, less npm itself: node starts,
 * ts-node type-checks and compiles the module graph of `ops/commands/cli.ts`, then the
 * deploy command's steps run with a scratch outdir (the command itself would
 * write the project's cdktf.out, which other work on this machine uses).
 */
const DEPLOY_CHILD = `
const t0 = process.hrtime.bigint();
require("ts-node").register();
require(${JSON.stringify(join(root, "ops", "commands", "cli.ts"))});
const { Deployment } = require(${JSON.stringify(join(root, "ops", "engine", "deployment.ts"))});
const { deploy } = require(${JSON.stringify(join(root, "ops", "lifecycle", "deploy.ts"))});
const t1 = process.hrtime.bigint();
const work = process.argv[1];
const deployment = new Deployment({ outdir: require("node:path").join(work, "cdktf.out"), projectDir: work });
deployment.ensureInit().then(async () => {
  const t2 = process.hrtime.bigint();
  const { apply } = await deploy(deployment);
  const t3 = process.hrtime.bigint();
  const summary = /Resources: \\d+ added, \\d+ changed, \\d+ destroyed/.exec(apply.stdout);
  const ms = (a, b) => Number(b - a) / 1e6;
  process.stdout.write(JSON.stringify({ loadMs: ms(t0, t1), synthInitMs: ms(t1, t2), applyMs: ms(t2, t3), summary: summary ? summary[0] : "" }));
}).catch((e) => { process.stderr.write(e.message + "\\n"); process.exit(1); });
`;

/** What one deploy process measured, in milliseconds. */
interface DeployTiming {
  readonly wallMs: number;
  readonly loadMs: number;
  readonly synthInitMs: number;
  readonly applyMs: number;
  readonly summary: string;
}

function deployProcess(env: NodeJS.ProcessEnv, work: string): Promise<DeployTiming> {
  const start = process.hrtime.bigint();
  return new Promise((ok, fail) => {
    execFile(process.execPath, ["-e", DEPLOY_CHILD, work], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const wallMs = ms(start);
      if (err) fail(new Error(`deploy failed: ${stderr.trim() || err.message}`));
      else ok({ wallMs, ...JSON.parse(stdout) });
    });
  });
}

/** (a) and (b): `npm run deploy` from empty, then again with nothing to do; each a fresh process. */
async function measureDeploys(server: BenchServer): Promise<{ cold: DeployTiming; noop: DeployTiming; deployLoginOk: boolean }> {
  const work = mkdtempSync(join(tmpdir(), "c42-bench-deploy-"));
  const env = isolatedEnv(work, server.env);
  try {
    const cold = await deployProcess(env, work);
    const noop = await deployProcess(env, work);
    const outputs = await isolatedDeployment(work, server.env, {}, { toolchain }).outputs();
    const out = (name: string) => outputs[name].value as string;
    const deployLoginOk = await certLogin(server.endpoint, {
      clientCert: { cert: out(BUNDLE_OUTPUTS.certificate), key: out(BUNDLE_OUTPUTS.privateKey) },
    });
    return { cold, noop, deployLoginOk };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * (c) The manual baseline: Code42's recipe typed into the CLI one command at a
 * time. The CLI reads the address, CA and root token from its environment only,
 * and every file holding a key stays in a 0700 directory removed afterwards.
 */
async function measureManual(server: BenchServer): Promise<{ manualMs: number; manualInvocations: number; manualLoginOk: boolean }> {
  // mkdtemp makes it 0700.
  const work = mkdtempSync(join(tmpdir(), "c42-bench-manual-"));
  const file = (name: string) => join(work, name);
  const cliEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BAO_ADDR: server.env.VAULT_ADDR,
    BAO_CACERT: server.env.VAULT_CACERT,
    BAO_TOKEN: server.env.VAULT_TOKEN,
    VAULT_ADDR: server.env.VAULT_ADDR,
    VAULT_CACERT: server.env.VAULT_CACERT,
    VAULT_TOKEN: server.env.VAULT_TOKEN,
  };
  let invocations = 0;
  const run = (binary: string, args: string[]): Promise<string> => {
    invocations++;
    return new Promise((ok, fail) => {
      execFile(binary, args, { env: cliEnv, cwd: work, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`${binary.split("/").pop()} ${args.slice(0, 2).join(" ")} failed: ${stderr.trim() || err.message}`));
        else ok(stdout);
      });
    });
  };
  const bao = (...args: string[]) => run(toolchain.bao, args);
  const baoJson = async (...args: string[]) => JSON.parse(await bao(...args)).data;
  const save = (name: string, text: string) => writeFileSync(file(name), text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });

  const base = server.env.VAULT_ADDR;
  const { kv, certAuth, pki, pki_int: int, rootCa, intermediateCa, role, adminCert, policy, certRole } = seed;
  const urls = (mount: string) => [`issuing_certificates=${base}/v1/${mount}/ca`, `crl_distribution_points=${base}/v1/${mount}/crl`];
  try {
    const start = process.hrtime.bigint();
    await bao("secrets", "enable", `-path=${kv.path}`, "-version=1", "kv");
    await bao("auth", "enable", `-path=${certAuth.path}`, "cert");
    await bao("auth", "tune", `-default-lease-ttl=${certAuth.defaultLeaseTtl}`, certAuth.path);
    await bao("secrets", "enable", `-path=${pki.path}`, "pki");
    await bao("secrets", "tune", `-max-lease-ttl=${pki.maxLeaseTtl}`, pki.path);
    save(
      "CA_cert.crt",
      await bao("write", "-field=certificate", `${pki.path}/root/generate/internal`, `common_name=${rootCa.commonName}`, `ttl=${rootCa.ttl}`),
    );
    await bao("write", `${pki.path}/config/urls`, ...urls(pki.path));
    await bao("secrets", "enable", `-path=${int.path}`, "pki");
    await bao("secrets", "tune", `-max-lease-ttl=${int.maxLeaseTtl}`, int.path);
    const request = await baoJson("write", "-format=json", `${int.path}/intermediate/generate/internal`, `common_name=${intermediateCa.commonName}`);
    save("pki_intermediate.csr", request.csr);
    const signed = await baoJson(
      "write",
      "-format=json",
      `${pki.path}/root/sign-intermediate`,
      `csr=@${file("pki_intermediate.csr")}`,
      "format=pem_bundle",
      `ttl=${intermediateCa.ttl}`,
    );
    save("intermediate.cert.pem", signed.certificate);
    await bao("write", `${int.path}/intermediate/set-signed`, `certificate=@${file("intermediate.cert.pem")}`);
    await bao("write", `${int.path}/config/urls`, ...urls(int.path));
    await bao("write", `${int.path}/roles/${role.name}`, "allow_any_name=true", "allow_subdomains=true", "client_flag=true");
    const issued = await baoJson("write", "-format=json", `${int.path}/issue/${role.name}`, `common_name=${adminCert.commonName}`, `ttl=${adminCert.ttl}`);
    save("admin.pem", issued.certificate);
    save("admin.key", issued.private_key);
    save("ca_chain.pem", (issued.ca_chain as string[]).join("\n"));
    save("crashplanPolicy.hcl", renderPolicy([`${pki.path}/issue/*`, "sys/policy/*", `auth/${certAuth.path}/certs/*`]));
    await bao("policy", "write", policy.name, file("crashplanPolicy.hcl"));
    const tokenTtl = String(parseDuration("certRole.tokenTtl", certRole.tokenTtl));
    await bao(
      "write",
      `auth/${certAuth.path}/certs/${certRole.name}`,
      `display_name=${certRole.name}`,
      `policies=${policy.name}`,
      `certificate=@${file("admin.pem")}`,
      `ttl=${tokenTtl}`,
    );
    const password = randomBytes(24).toString("base64url");
    save("crashplan.p12.password", password);
    await run("openssl", [
      "pkcs12",
      "-export",
      "-in",
      file("admin.pem"),
      "-inkey",
      file("admin.key"),
      "-certfile",
      file("ca_chain.pem"),
      "-name",
      adminCert.commonName,
      "-out",
      file("crashplan.p12"),
      "-passout",
      `file:${file("crashplan.p12.password")}`,
    ]);
    const manualMs = ms(start);

    // Honest baseline: the bundle the admin would upload must log in, as Code42 does.
    const manualLoginOk = await certLogin(server.endpoint, { pfx: { pfx: readFileSync(file("crashplan.p12")), passphrase: password } });
    return { manualMs, manualInvocations: invocations, manualLoginOk };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function withServer<T>(body: (server: BenchServer) => Promise<T>): Promise<T & { serverStartMs: number }> {
  const server = await freshServer();
  try {
    return { ...(await body(server)), serverStartMs: server.startMs };
  } finally {
    await stopServer(server.dir, { purge: true });
  }
}

function version(binary: string): string {
  const r = spawnSync(binary, ["version"], { encoding: "utf8", env: { PATH: process.env.PATH, CHECKPOINT_DISABLE: "1" } });
  return (r.stdout || r.stderr).split("\n")[0].trim();
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs: Math.round(median), minMs: Math.round(sorted[0]), maxMs: Math.round(sorted[sorted.length - 1]) };
};

const NOOP_SUMMARY = "Resources: 0 added, 0 changed, 0 destroyed";

async function main(): Promise<number> {
  const samples: RunSample[] = [];
  for (let i = 0; i < runs; i++) {
    const loadBefore = loadavg()[0];
    const deploys = await withServer(measureDeploys);
    const manual = await withServer(measureManual);
    const sample: RunSample = {
      ...deploys,
      ...manual,
      serverStartMs: (deploys.serverStartMs + manual.serverStartMs) / 2,
      loadAvg1m: [loadBefore, loadavg()[0]],
    };
    samples.push(sample);
    log(
      `run ${i + 1}/${runs}: cold deploy ${(sample.cold.wallMs / 1000).toFixed(1)} s (${sample.cold.summary}), ` +
        `no-op ${(sample.noop.wallMs / 1000).toFixed(1)} s (${sample.noop.summary}), ` +
        `manual ${(sample.manualMs / 1000).toFixed(1)} s (${sample.manualInvocations} commands, login ${sample.manualLoginOk ? "ok" : "FAILED"}), ` +
        `load ${sample.loadAvg1m.map((l) => l.toFixed(1)).join(" -> ")}`,
    );
  }

  const phases = (pick: (s: RunSample) => DeployTiming) => ({
    wall: stats(samples.map((s) => pick(s).wallMs)),
    nodeAndCompile: stats(samples.map((s) => pick(s).wallMs - pick(s).synthInitMs - pick(s).applyMs)),
    synthInit: stats(samples.map((s) => pick(s).synthInitMs)),
    apply: stats(samples.map((s) => pick(s).applyMs)),
  });
  const figures = {
    coldDeploy: phases((s) => s.cold),
    noopDeploy: phases((s) => s.noop),
    manualCli: stats(samples.map((s) => s.manualMs)),
    serverStart: stats(samples.map((s) => s.serverStartMs)),
  };
  const noopClean = samples.every((s) => s.noop.summary === NOOP_SUMMARY);
  const report = {
    runs,
    figures,
    coldSummaries: [...new Set(samples.map((s) => s.cold.summary))],
    noopSummaries: [...new Set(samples.map((s) => s.noop.summary))],
    noopClean,
    manualInvocations: [...new Set(samples.map((s) => s.manualInvocations))],
    deployLoginOk: samples.every((s) => s.deployLoginOk),
    manualLoginOk: samples.every((s) => s.manualLoginOk),
    loadAvg1m: samples.map((s) => s.loadAvg1m.map((l) => Math.round(l * 100) / 100)),
    samplesMs: samples.map((s) => ({ cold: Math.round(s.cold.wallMs), noop: Math.round(s.noop.wallMs), manual: Math.round(s.manualMs) })),
    node: process.version,
    tofu: version(toolchain.tofu),
    bao: version(toolchain.bao),
    date: new Date().toISOString(),
  };

  const sec = (n: number) => (n / 1000).toFixed(1).padStart(7);
  const rows: [string, { medianMs: number; minMs: number; maxMs: number }][] = [
    ["cold deploy (empty server to ready)", figures.coldDeploy.wall],
    ["  node start, ts-node type-check + compile", figures.coldDeploy.nodeAndCompile],
    ["  synth + tofu init", figures.coldDeploy.synthInit],
    ["  tofu apply", figures.coldDeploy.apply],
    ["no-op re-deploy", figures.noopDeploy.wall],
    ["  node start, ts-node type-check + compile", figures.noopDeploy.nodeAndCompile],
    ["  synth + tofu init", figures.noopDeploy.synthInit],
    ["  tofu apply", figures.noopDeploy.apply],
    [`manual CLI recipe (${report.manualInvocations.join("/")} commands)`, figures.manualCli],
    ["server start (in none of the above)", figures.serverStart],
  ];
  log(`\n${"figure".padEnd(44)} ${"median".padStart(7)} ${"min".padStart(7)} ${"max".padStart(7)}   (seconds, ${runs} runs)`);
  for (const [name, f] of rows) log(`${name.padEnd(44)} ${sec(f.medianMs)} ${sec(f.minMs)} ${sec(f.maxMs)}`);
  log(`cold deploy: ${report.coldSummaries.join("; ")}`);
  log(`no-op re-deploy: ${noopClean ? "changed nothing" : "CHANGED SOMETHING"} (${report.noopSummaries.join("; ")})`);
  log(
    `login with the deployed admin certificate: ${report.deployLoginOk ? "ok" : "FAILED"}; with the manual crashplan.p12: ${report.manualLoginOk ? "ok" : "FAILED"}\n`,
  );
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  return noopClean && report.deployLoginOk && report.manualLoginOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`error: ${(e as Error).message}`);
    process.exit(1);
  },
);
