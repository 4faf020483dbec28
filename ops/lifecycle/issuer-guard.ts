import { Deployment } from "../engine/deployment";
import { StateResource } from "../engine/state-resources";
import { PlanJson } from "../engine/plan-json";
import { synthesizedResources } from "../engine/synthesized";
import { endpointFromEnv, vaultCall, vaultToken } from "../vault/client";
import { readListKeys } from "../vault/readers";

/*
 * Issue 16: on a PKI mount that already holds a root, `pki/root/generate/internal`
 * does not fail, it adds a second root issuer, silently; `intermediate/set-signed`
 * on a mount with an issuer adds a second one the same way. Nothing in the
 * engine or the provider stops that, so before any apply that would run such
 * a step, the mounts it writes to are asked how many issuers they hold.
 */

/** The resource types whose creation adds an issuer to a mount, and which mount (setting) that is. */
const CA_STEPS: Readonly<Record<string, "root" | "intermediate">> = {
  vault_pki_secret_backend_root_cert: "root",
  vault_pki_secret_backend_intermediate_cert_request: "intermediate",
  vault_pki_secret_backend_intermediate_set_signed: "intermediate",
};

/** A CA step an apply is about to run. */
export interface CaStep {
  /** The resource that runs it, e.g. `vault_pki_secret_backend_root_cert.rootCa_certificate_17F73072`. */
  readonly address: string;
  /** The mount it adds an issuer to. */
  readonly mount: string;
  /** What it makes there. */
  readonly makes: "root" | "intermediate";
  /** It replaces one the state records (a setting of the CA changed), rather than making a first one. */
  readonly replaces?: boolean;
}

const mountOf = (deployment: Deployment, makes: "root" | "intermediate") => (makes === "root" ? deployment.config.pki.path : deployment.config.pki_int.path);

/**
 * The CA steps a deploy would run: CA resources of the synthesized stack that
 * the state does not record. (A replacement of a recorded one shows only in a
 * plan: see {@link caStepsInPlan}; the root is protected by `prevent_destroy`.)
 */
export function caStepsToCreate(deployment: Deployment, recorded: readonly StateResource[]): CaStep[] {
  const known = new Set(recorded.map((r) => r.address));
  return synthesizedResources(deployment.stackDir)
    .filter((r) => CA_STEPS[r.type] !== undefined && !known.has(r.address))
    .map((r) => ({ address: r.address, makes: CA_STEPS[r.type], mount: mountOf(deployment, CA_STEPS[r.type]) }));
}

/** The CA steps a saved plan would run: CA resources it creates or replaces. */
export function caStepsInPlan(deployment: Deployment, plan: PlanJson): CaStep[] {
  return (plan.resource_changes ?? [])
    .filter((r) => CA_STEPS[r.type] !== undefined && r.change.actions.includes("create"))
    .map((r) => ({ address: r.address, makes: CA_STEPS[r.type], mount: mountOf(deployment, CA_STEPS[r.type]), replaces: r.change.actions.includes("delete") }));
}

/** The issuer ids a PKI mount holds (`LIST <mount>/issuers`); none when the mount does not exist yet. */
export async function listIssuers(deployment: Deployment, mount: string): Promise<string[]> {
  const answer = await vaultCall(endpointFromEnv(deployment.env), { method: "LIST", path: `${mount}/issuers`, token: vaultToken(deployment.env) });
  if (answer.status === 403) {
    throw new Error(
      `listing ${mount}/issuers was refused (HTTP 403): before any CA step the deploy checks that ${mount}/ holds no issuer yet, so the deploy token needs "list" on ${mount}/issuers. Nothing was applied`,
    );
  }
  return readListKeys(answer, `${mount}/issuers`);
}

/** An apply would add a second CA issuer to a mount; nothing was applied. */
export class IssuerGuardError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "IssuerGuardError";
  }
}

/**
 * Refuses, before the engine runs, an apply whose CA steps would write to a
 * mount that already holds an issuer: the engine would add a second one beside
 * it. The message names the mount, the issuers, the step, and the command that
 * brings the existing CA under management instead.
 */
export async function guardIssuers(deployment: Deployment, steps: readonly CaStep[]): Promise<void> {
  const problems: string[] = [];
  let replacing = false;
  for (const mount of [...new Set(steps.map((s) => s.mount))]) {
    const issuers = await listIssuers(deployment, mount);
    if (issuers.length === 0) continue;
    const step = steps.find((s) => s.mount === mount) as CaStep;
    replacing ||= step.replaces === true;
    problems.push(
      `${mount}/ already holds ${issuers.length === 1 ? "issuer" : `${issuers.length} issuers`} ${issuers.join(", ")}, ` +
        `and this apply would ${step.replaces ? "replace" : "make"} ${step.makes === "root" ? "a root CA" : "an intermediate CA"} there (${step.address}): ` +
        `Vault would add another issuer beside ${issuers.length === 1 ? "it" : "them"}, silently`,
    );
  }
  if (problems.length === 0) return;
  const remedy = replacing
    ? "A changed CA setting (its common name, TTL or key) replaces the CA; Code42 and every certificate it signed trust the current one. " +
      "Nothing was applied. Undo the setting change, then make a new plan: npm run plan"
    : "The state does not record these issuers (a deploy interrupted before it wrote its journal, a keystore built by hand, or a state from elsewhere). " +
      "Nothing was applied. To bring the existing CA under management without replacing it, run: npm run adopt";
  throw new IssuerGuardError(`refusing to create a second CA issuer on ${deployment.env.VAULT_ADDR}:\n${problems.map((p) => `  ${p}\n`).join("")}${remedy}`);
}
