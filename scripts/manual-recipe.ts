// Code42's recipe typed into the CLI one command at a time, as an administrator
// builds a keystore by hand: the manual baseline of `npm run bench` and the
// hand-built keystore that the adopt test takes over. Not part of the product.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeystoreConfig } from "../lib/config";
import { parseDuration } from "../lib/duration";
import { renderPolicy } from "../lib/policy-document";

/** The files the recipe leaves in its directory (all 0600). */
export const RECIPE_FILES = {
  adminCertificate: "admin.pem",
  adminKey: "admin.key",
  caChain: "ca_chain.pem",
  p12: "crashplan.p12",
  password: "crashplan.p12.password",
} as const;

/** Options of {@link buildKeystoreByHand}. */
export interface ManualRecipeOptions {
  /** The `bao` binary. */
  readonly bao: string;
  /** VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN: the CLI reads them from its environment only, never argv. */
  readonly vaultEnv: Readonly<Record<string, string>>;
  /** A 0700 directory for the CSR, certificates, key and bundle (the caller removes it). */
  readonly dir: string;
  /** Paths, names and TTLs (the seed configuration: the stack's own defaults). */
  readonly seed: KeystoreConfig;
  /**
   * Base URL of the CRL distribution points, where the article's two URLs
   * disagree about the port.
   * @default VAULT_ADDR, as the issuing URLs
   */
  readonly crlBaseUrl?: string;
}

/** What the recipe made. */
export interface ManualRecipeResult {
  /** `bao` and `openssl` invocations. */
  readonly invocations: number;
  /** The bundle's password (also in {@link RECIPE_FILES.password}). */
  readonly password: string;
}

/**
 * Runs the recipe: kv v1, cert auth and its tune, both PKI mounts with tunes and
 * URLs, root, CSR, signing, set-signed, cpRole, the admin certificate,
 * crashplanPolicy, crashplanUser (17 `bao` commands), then `openssl pkcs12
 * -export` with the password from a file. Key files are written 0600 into `dir`.
 */
export async function buildKeystoreByHand(options: ManualRecipeOptions): Promise<ManualRecipeResult> {
  const { dir, seed, vaultEnv } = options;
  const file = (name: string) => join(dir, name);
  const cliEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BAO_ADDR: vaultEnv.VAULT_ADDR,
    BAO_CACERT: vaultEnv.VAULT_CACERT,
    BAO_TOKEN: vaultEnv.VAULT_TOKEN,
    VAULT_ADDR: vaultEnv.VAULT_ADDR,
    VAULT_CACERT: vaultEnv.VAULT_CACERT,
    VAULT_TOKEN: vaultEnv.VAULT_TOKEN,
  };
  let invocations = 0;
  const run = (binary: string, args: string[]): Promise<string> => {
    invocations++;
    return new Promise((ok, fail) => {
      execFile(binary, args, { env: cliEnv, cwd: dir, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`${binary.split("/").pop()} ${args.slice(0, 2).join(" ")} failed: ${stderr.trim() || err.message}`));
        else ok(stdout);
      });
    });
  };
  const bao = (...args: string[]) => run(options.bao, args);
  const baoJson = async (...args: string[]) => JSON.parse(await bao(...args)).data;
  const save = (name: string, text: string) => writeFileSync(file(name), text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });

  const base = vaultEnv.VAULT_ADDR;
  const crlBase = options.crlBaseUrl ?? base;
  const { kv, certAuth, pki, pki_int: int, rootCa, intermediateCa, role, adminCert, policy, certRole } = seed;
  const urls = (mount: string) => [`issuing_certificates=${base}/v1/${mount}/ca`, `crl_distribution_points=${crlBase}/v1/${mount}/crl`];
  await bao("secrets", "enable", `-path=${kv.path}`, "-version=1", "kv");
  await bao("auth", "enable", `-path=${certAuth.path}`, "cert");
  await bao("auth", "tune", `-default-lease-ttl=${certAuth.defaultLeaseTtl}`, certAuth.path);
  await bao("secrets", "enable", `-path=${pki.path}`, "pki");
  await bao("secrets", "tune", `-max-lease-ttl=${pki.maxLeaseTtl}`, pki.path);
  save("CA_cert.crt", await bao("write", "-field=certificate", `${pki.path}/root/generate/internal`, `common_name=${rootCa.commonName}`, `ttl=${rootCa.ttl}`));
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
  save(RECIPE_FILES.adminCertificate, issued.certificate);
  save(RECIPE_FILES.adminKey, issued.private_key);
  save(RECIPE_FILES.caChain, (issued.ca_chain as string[]).join("\n"));
  save("crashplanPolicy.hcl", renderPolicy([`${pki.path}/issue/*`, "sys/policy/*", `auth/${certAuth.path}/certs/*`]));
  await bao("policy", "write", policy.name, file("crashplanPolicy.hcl"));
  const tokenTtl = String(parseDuration("certRole.tokenTtl", certRole.tokenTtl));
  await bao(
    "write",
    `auth/${certAuth.path}/certs/${certRole.name}`,
    `display_name=${certRole.name}`,
    `policies=${policy.name}`,
    `certificate=@${file(RECIPE_FILES.adminCertificate)}`,
    `ttl=${tokenTtl}`,
  );
  const password = randomBytes(24).toString("base64url");
  save(RECIPE_FILES.password, password);
  await run("openssl", [
    "pkcs12",
    "-export",
    "-in",
    file(RECIPE_FILES.adminCertificate),
    "-inkey",
    file(RECIPE_FILES.adminKey),
    "-certfile",
    file(RECIPE_FILES.caChain),
    "-name",
    adminCert.commonName,
    "-out",
    file(RECIPE_FILES.p12),
    "-passout",
    `file:${file(RECIPE_FILES.password)}`,
  ]);
  return { invocations, password };
}
