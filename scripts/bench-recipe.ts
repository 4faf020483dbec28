// Benchmark helpers (`npm run bench`): fresh private servers, the TLS login check, and Code42's recipe typed
// into the CLI one command at a time (the manual baseline). Nothing here fails on a slow machine; it fails only
// when a path did not produce a working keystore.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../lib/config";
import { parseDuration } from "../lib/duration";
import { renderPolicy } from "../lib/policy";
import { readServerEnv, startServer, stopServer } from "../ops/server/server";
import { VaultCall, VaultEndpoint, vaultCall } from "../ops/vault/client";
import { readErrors, readLogin } from "../ops/vault/readers";

/** One private server: its directory and the VAULT_* connection (root token). */
export interface BenchServer {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly endpoint: VaultEndpoint;
  readonly startMs: number;
}

// The settings and their seed names come from the same table the stack reads,
// so the manual path builds exactly what the stack declares.
export const SEED = loadConfig({ env: {}, cwd: __dirname });

export const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Runs `body` with a fresh private server (production mode, TLS, raft) that is stopped and purged on every path. */
export async function withServer<T>(bao: string, body: (server: BenchServer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "c42-bench-bao-"));
  try {
    const start = process.hrtime.bigint();
    await startServer({ dir, baoBinary: bao });
    const startMs = elapsedMs(start);
    const env = readServerEnv(dir);
    return await body({ dir, env, startMs, endpoint: { addr: env.VAULT_ADDR, caPem: readFileSync(env.VAULT_CACERT, "utf8") } });
  } finally {
    await stopServer(dir, { purge: true });
  }
}

/** A TLS client-certificate login; true when it returns a token carrying the policy. Revokes the token again. */
export async function certLogin(endpoint: VaultEndpoint, identity: Pick<VaultCall, "clientCert" | "pfx">): Promise<boolean> {
  const answer = await vaultCall(endpoint, { method: "PUT", path: `auth/${SEED.certAuth.path}/login`, ...identity });
  if (answer.status !== 200) {
    log(`  login failed: HTTP ${answer.status} ${readErrors(answer)}`);
    return false;
  }
  const login = readLogin(answer);
  await vaultCall(endpoint, { method: "PUT", path: "auth/token/revoke-self", token: login.clientToken });
  const ok = login.policies.includes(SEED.policy.name.toLowerCase()) && login.leaseDuration > 0;
  if (!ok) log(`  login returned policies ${login.policies.join(", ")} and TTL ${login.leaseDuration}s`);
  return ok;
}

/** What the manual recipe measured. */
export interface RecipeTiming {
  readonly ms: number;
  readonly invocations: number;
  readonly loginOk: boolean;
}

/**
 * The manual baseline: Code42's recipe typed into the CLI one command at a
 * time (17 `bao` commands and `openssl pkcs12 -export`). The CLI reads the
 * address, CA and root token from its environment only, and every file
 * holding a key stays in a 0700 directory removed afterwards. The time does
 * not include the login with the resulting crashplan.p12 that proves it works.
 */
export async function runRecipe(server: BenchServer, bao: string): Promise<RecipeTiming> {
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
  const cli = (...args: string[]) => run(bao, args);
  const cliJson = async (...args: string[]) => JSON.parse(await cli(...args)).data;
  const save = (name: string, text: string) => writeFileSync(file(name), text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });

  const base = server.env.VAULT_ADDR;
  const { kv, certAuth, pki, pki_int: int, rootCa, intermediateCa, role, adminCert, policy, certRole } = SEED;
  const urls = (mount: string) => [`issuing_certificates=${base}/v1/${mount}/ca`, `crl_distribution_points=${base}/v1/${mount}/crl`];
  try {
    const start = process.hrtime.bigint();
    await cli("secrets", "enable", `-path=${kv.path}`, "-version=1", "kv");
    await cli("auth", "enable", `-path=${certAuth.path}`, "cert");
    await cli("auth", "tune", `-default-lease-ttl=${certAuth.defaultLeaseTtl}`, certAuth.path);
    await cli("secrets", "enable", `-path=${pki.path}`, "pki");
    await cli("secrets", "tune", `-max-lease-ttl=${pki.maxLeaseTtl}`, pki.path);
    save(
      "CA_cert.crt",
      await cli("write", "-field=certificate", `${pki.path}/root/generate/internal`, `common_name=${rootCa.commonName}`, `ttl=${rootCa.ttl}`),
    );
    await cli("write", `${pki.path}/config/urls`, ...urls(pki.path));
    await cli("secrets", "enable", `-path=${int.path}`, "pki");
    await cli("secrets", "tune", `-max-lease-ttl=${int.maxLeaseTtl}`, int.path);
    const request = await cliJson("write", "-format=json", `${int.path}/intermediate/generate/internal`, `common_name=${intermediateCa.commonName}`);
    save("pki_intermediate.csr", request.csr);
    const signed = await cliJson(
      "write",
      "-format=json",
      `${pki.path}/root/sign-intermediate`,
      `csr=@${file("pki_intermediate.csr")}`,
      "format=pem_bundle",
      `ttl=${intermediateCa.ttl}`,
    );
    save("intermediate.cert.pem", signed.certificate);
    await cli("write", `${int.path}/intermediate/set-signed`, `certificate=@${file("intermediate.cert.pem")}`);
    await cli("write", `${int.path}/config/urls`, ...urls(int.path));
    await cli("write", `${int.path}/roles/${role.name}`, "allow_any_name=true", "allow_subdomains=true", "client_flag=true");
    const issued = await cliJson("write", "-format=json", `${int.path}/issue/${role.name}`, `common_name=${adminCert.commonName}`, `ttl=${adminCert.ttl}`);
    save("admin.pem", issued.certificate);
    save("admin.key", issued.private_key);
    save("ca_chain.pem", (issued.ca_chain as string[]).join("\n"));
    save("crashplanPolicy.hcl", renderPolicy([`${pki.path}/issue/*`, "sys/policy/*", `auth/${certAuth.path}/certs/*`]));
    await cli("policy", "write", policy.name, file("crashplanPolicy.hcl"));
    const tokenTtl = String(parseDuration("certRole.tokenTtl", certRole.tokenTtl));
    await cli(
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
    const ms = elapsedMs(start);

    // Honest baseline: the bundle the admin would upload must log in, as Code42 does.
    const loginOk = await certLogin(server.endpoint, { pfx: { pfx: readFileSync(file("crashplan.p12")), passphrase: password } });
    return { ms, invocations, loginOk };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
