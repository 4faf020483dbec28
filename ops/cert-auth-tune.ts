import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseDuration } from "../lib/duration";
import type { Deployment } from "./deployment";
import { endpointFromEnv, vaultCall } from "./vault-http";

/** The attribute a drift report names when the cert auth default lease differs. */
export const CERT_AUTH_TUNE_ATTRIBUTE = "tune.default_lease_ttl";

/** A difference a plan cannot see: where it is, never its values. */
export interface BlindSpotDrift {
  /** Terraform address of the resource, e.g. `vault_auth_backend.certAuth_backend_E3AD8DCF`. */
  readonly address: string;
  /** The attribute that differs, e.g. `tune.default_lease_ttl`. */
  readonly attribute: string;
}

/**
 * The token the Vault provider would use: VAULT_TOKEN, else the CLI's token
 * file. Never logged.
 */
export function vaultToken(env: NodeJS.ProcessEnv): string {
  if (env.VAULT_TOKEN) return env.VAULT_TOKEN;
  const file = join(env.HOME ?? homedir(), ".vault-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new Error("no Vault token: set VAULT_TOKEN (or log in with the Vault CLI, which writes ~/.vault-token)");
}

/** Address of the one synthesized resource of `type` whose `path` is `path`. */
export function synthesizedAddress(deployment: Deployment, type: string, path: string): string {
  const file = join(deployment.stackDir, "cdk.tf.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as { resource?: Record<string, Record<string, { path?: string }>> };
  const names = Object.entries(json.resource?.[type] ?? {}).filter(([, r]) => r.path === path).map(([name]) => name);
  if (names.length !== 1) throw new Error(`expected one ${type} with path "${path}" in ${file}, found ${names.length}`);
  return `${type}.${names[0]}`;
}

/**
 * Compares the cert auth method's default lease in Vault with the configured
 * one. The Vault provider cannot: `vault_auth_backend` reads the tune TTLs
 * back from its own state (mergeAuthMethodTune in the provider), so a tune
 * changed through the API never shows in a plan. Returns the resource and
 * attribute when they differ; nothing when they agree or the method is not
 * mounted (then the plan itself shows the method missing). Needs a
 * synthesized stack.
 */
export async function certAuthTuneDrift(deployment: Deployment): Promise<BlindSpotDrift | undefined> {
  const { path, defaultLeaseTtl } = deployment.config.certAuth;
  const configured = parseDuration("certAuth.defaultLeaseTtl", defaultLeaseTtl);
  const answer = await vaultCall(endpointFromEnv(deployment.env), { path: `sys/auth/${path}/tune`, token: vaultToken(deployment.env) });
  if (answer.status === 400 || answer.status === 404) return undefined;
  if (answer.status !== 200) {
    throw new Error(`reading sys/auth/${path}/tune failed: HTTP ${answer.status} ${JSON.stringify(answer.json?.errors ?? [])}`);
  }
  const actual = Number(answer.json?.data?.default_lease_ttl);
  if (actual === configured) return undefined;
  return { address: synthesizedAddress(deployment, "vault_auth_backend", path), attribute: CERT_AUTH_TUNE_ATTRIBUTE };
}
