import { parseDuration } from "../../lib/duration";
import { Deployment } from "../engine/deployment";
import { synthesizedAddress } from "../engine/synthesized";
import { endpointFromEnv, vaultCall, vaultToken } from "../vault/client";
import { readTune, requireSuccess } from "../vault/readers";
import { BlindSpot } from "./blind-spot";

/** The attribute a drift report names when the cert auth default lease differs. */
export const CERT_AUTH_TUNE_ATTRIBUTE = "tune.default_lease_ttl";

const configuredLease = (deployment: Deployment): number => parseDuration("certAuth.defaultLeaseTtl", deployment.config.certAuth.defaultLeaseTtl);

/**
 * The cert auth method's default lease. `vault_auth_backend` reads its tune
 * TTLs back from its own state, not from Vault (mergeAuthMethodTune in the
 * provider), so a tune changed through the API never shows in a plan.
 */
export const certAuthTune: BlindSpot = {
  name: "cert auth tune",

  async probe(deployment) {
    const path = deployment.config.certAuth.path;
    const answer = await vaultCall(endpointFromEnv(deployment.env), { path: `sys/auth/${path}/tune`, token: vaultToken(deployment.env) });
    if (answer.status === 400 || answer.status === 404) return [];
    const actual = readTune(requireSuccess(answer, `reading sys/auth/${path}/tune`)).defaultLeaseTtl;
    if (actual === configuredLease(deployment)) return [];
    return [{ address: synthesizedAddress(deployment.stackDir, "vault_auth_backend", path), attribute: CERT_AUTH_TUNE_ATTRIBUTE }];
  },

  async repair(deployment) {
    const path = deployment.config.certAuth.path;
    const answer = await vaultCall(endpointFromEnv(deployment.env), {
      method: "POST",
      path: `sys/auth/${path}/tune`,
      token: vaultToken(deployment.env),
      body: { default_lease_ttl: configuredLease(deployment) },
    });
    requireSuccess(answer, `writing sys/auth/${path}/tune`);
  },
};
