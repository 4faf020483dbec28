import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdoptionImports, AdoptionInput } from "../../lib/adoption-record";
import { BlindSpotDrift, probeBlindSpots, repairBlindSpots } from "../blind-spots";
import { colonHex } from "../common/serial";
import { Deployment } from "../engine/deployment";
import { TofuResult } from "../engine/engine-run";
import { StateResource } from "../engine/state-resources";
import { PlanJson, changedAttributes } from "../engine/plan-json";
import { endpointFromEnv, vaultCall, vaultToken } from "../vault/client";
import { requireSuccess } from "../vault/readers";
import { AdoptionFindings } from "./adopt-inspect";

/** The plan adopt is about to apply, summarized without values. */
export interface AdoptionPlan {
  /** Addresses imported into the state. */
  readonly imports: readonly string[];
  /** Resources created (for the cert login role: a write over the existing one, which the provider cannot import). */
  readonly creates: readonly string[];
  /** Resources changed in place, with the attribute names. */
  readonly updates: readonly { readonly address: string; readonly attributes: readonly string[] }[];
  /** Differences the provider cannot see, repaired through the API before the apply. */
  readonly blindSpots: readonly string[];
  /** The engine's own summary line, e.g. "Plan: 8 to import, 1 to add, 3 to change, 0 to destroy." */
  readonly summary: string;
}

/** Options of {@link adopt}. */
export interface AdoptOptions {
  /**
   * Asked once the plan is known, before anything changes; resolves true to
   * apply. A command asks the user (or takes `--yes`).
   * @default - applies without asking (pipelines, the recovery of an interrupted deploy)
   */
  readonly confirm?: (plan: AdoptionPlan, text: string) => Promise<boolean>;
}

/** What {@link adopt} did. */
export interface AdoptionOutcome {
  /** False when the confirmation said no: nothing was changed. */
  readonly applied: boolean;
  readonly plan: AdoptionPlan;
  /** What the stack uses as it is: the findings' adoption less what the state already managed (see {@link fitToState}). */
  readonly adoption: AdoptionInput;
  /** The engine's apply, when applied. */
  readonly apply?: TofuResult;
}

/** Resource types whose creation would mint a CA or an issuer: never in an adopting plan for an adopted CA. */
const CA_TYPES = [
  "vault_pki_secret_backend_root_cert",
  "vault_pki_secret_backend_intermediate_cert_request",
  "vault_pki_secret_backend_intermediate_set_signed",
];

/**
 * Takes over what {@link inspectForAdoption} found: the stack is built around
 * the existing CAs (never generating, re-signing or replacing a mount, CA or
 * issuer), the mounts, auth method, URLs, role and policy are imported into
 * the state, and the cert login role is written again with the certificate it
 * pins. The plan is made first (a saved plan, 0600, removed afterwards); it is
 * refused when it would destroy or replace anything, or make a CA; then
 * `confirm` sees it; then exactly that plan is applied. The state records the
 * adoption (output `adoption`), so every later command builds the same stack.
 */
export async function adopt(deployment: Deployment, findings: AdoptionFindings, options: AdoptOptions = {}): Promise<AdoptionOutcome> {
  if (findings.blockers.length > 0) throw new Error(`cannot adopt: ${findings.blockers.join("; ")}. Nothing was changed`);
  const fitted = fitToState(findings, await deployment.stateResources(), await deployment.adoption());
  await deployment.adoptWith({ adoption: fitted.adoption, imports: fitted.imports });
  const dir = mkdtempSync(join(tmpdir(), "c42-adopt-"));
  try {
    const file = join(dir, "adopt.tfplan");
    const drifts = await probeBlindSpots(deployment);
    await deployment.planToFile(file);
    const plan = summarizePlan(await deployment.showPlan(file), drifts, fitted);
    const text = formatPlan(plan);
    const confirmed = options.confirm ? await options.confirm(plan, text) : true;
    if (!confirmed) return { applied: false, plan, adoption: fitted.adoption };
    await repairBlindSpots(deployment, drifts);
    const apply = await deployment.applyPlan(file);
    return { applied: true, plan, adoption: fitted.adoption, apply };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deployment.adoptWith(undefined);
  }
}

/** The resource type each import lands in; the import id is the provider's id of the resource. */
const IMPORT_TYPES: Readonly<Record<keyof AdoptionImports, string>> = {
  kv: "vault_mount",
  certAuth: "vault_auth_backend",
  pki: "vault_mount",
  pkiUrls: "vault_pki_secret_backend_config_urls",
  pki_int: "vault_mount",
  pki_intUrls: "vault_pki_secret_backend_config_urls",
  role: "vault_pki_secret_backend_role",
  policy: "vault_policy",
};

/**
 * The findings narrowed to what the state does not manage yet, so that a
 * state that records part of the keystore (an interrupted deploy's) keeps it:
 * no import of a resource it records; a CA whose resource it records is not
 * adopted (dropping the resource would plan its destruction); the certificate
 * of a login role or admin certificate it records is not adopted either. What
 * the state already records as adopted stays adopted.
 */
export function fitToState(
  findings: Pick<AdoptionFindings, "adoption" | "imports">,
  recorded: readonly StateResource[],
  recordedAdoption: AdoptionInput | undefined,
): Pick<AdoptionFindings, "adoption" | "imports"> {
  const has = (type: string, id?: string) => recorded.some((r) => r.type === type && (id === undefined || r.id === id));
  const imports = Object.fromEntries(
    Object.entries(findings.imports).filter(([key, id]) => id !== undefined && !has(IMPORT_TYPES[key as keyof AdoptionImports], id)),
  ) as AdoptionImports;
  const found = findings.adoption;
  const adoption: AdoptionInput = {
    rootIssuerId: recordedAdoption?.rootIssuerId ?? (has("vault_pki_secret_backend_root_cert") ? undefined : found.rootIssuerId),
    intermediateIssuerId:
      recordedAdoption?.intermediateIssuerId ?? (has("vault_pki_secret_backend_intermediate_set_signed") ? undefined : found.intermediateIssuerId),
    adminCertificatePem:
      recordedAdoption?.adminCertificatePem ??
      (has("vault_pki_secret_backend_cert") || has("vault_cert_auth_backend_role") ? undefined : found.adminCertificatePem),
  };
  return { adoption, imports };
}

/** The plan as adopt shows it; throws when it would destroy, replace or mint a CA. */
export function summarizePlan(plan: PlanJson, drifts: readonly BlindSpotDrift[], findings: Pick<AdoptionFindings, "adoption">): AdoptionPlan {
  const imports: string[] = [];
  const creates: string[] = [];
  const updates: { address: string; attributes: string[] }[] = [];
  const refused: string[] = [];
  let counts = { imported: 0, add: 0, change: 0, destroy: 0 };
  for (const r of plan.resource_changes ?? []) {
    const actions = r.change.actions;
    const importing = (r.change as { importing?: unknown }).importing !== undefined;
    if (importing) {
      imports.push(r.address);
      counts = { ...counts, imported: counts.imported + 1 };
    }
    if (actions.includes("delete")) refused.push(`${r.address} (${actions.join(", ")})`);
    if (actions.includes("create")) {
      creates.push(r.address);
      counts = { ...counts, add: counts.add + 1 };
      const adoptedCa =
        (r.type === CA_TYPES[0] && findings.adoption.rootIssuerId) ||
        (r.type !== CA_TYPES[0] && CA_TYPES.includes(r.type) && findings.adoption.intermediateIssuerId);
      if (adoptedCa) refused.push(`${r.address} (would make a CA beside the adopted one)`);
    }
    if (actions.includes("update")) {
      updates.push({ address: r.address, attributes: changedAttributes(r.change) });
      counts = { ...counts, change: counts.change + 1 };
    }
  }
  if (refused.length > 0) {
    throw new Error(`adopt refuses a plan that would ${refused.join("; ")}: adopt never replaces or removes a mount, CA, issuer or role. Nothing was changed`);
  }
  return {
    imports,
    creates,
    updates,
    blindSpots: drifts.map((d) => `${d.address} ${d.attribute} (${d.blindSpot.name})`),
    summary: `Plan: ${counts.imported} to import, ${counts.add} to add, ${counts.change} to change, ${counts.destroy} to destroy.`,
  };
}

/** The plan for people: what is imported, written, changed; no values. */
export function formatPlan(plan: AdoptionPlan): string {
  const lines = [plan.summary];
  for (const a of plan.imports) lines.push(`  import   ${a}`);
  for (const a of plan.creates) lines.push(`  write    ${a}`);
  for (const u of plan.updates) lines.push(`  change   ${u.address}: ${u.attributes.join(", ") || "(attributes known after apply)"}`);
  for (const b of plan.blindSpots) lines.push(`  repair   ${b} (through the API, before the apply)`);
  return `${lines.join("\n")}\n`;
}

/** The findings for people: what is taken over, left alone, and how Vault differs from the configuration. */
export function formatFindings(f: AdoptionFindings): string {
  const out: string[] = ["take over:"];
  for (const o of f.objects) out.push(`  ${o.part.padEnd(15)} ${o.where.padEnd(40)} ${o.exists ? "found" : "missing"}: ${o.action}`);
  out.push("leave alone:");
  for (const l of f.leftAlone) out.push(`  ${l}`);
  if (f.leftAlone.length === 0) out.push("  (nothing else found)");
  out.push("differences from the configuration:");
  for (const d of f.differences) {
    out.push(`  ${d.changesBehaviour ? "CHANGES BEHAVIOUR" : "note"}  ${d.setting}: Vault has ${d.inVault}; configured ${d.configured}; ${d.effect}`);
  }
  if (f.differences.length === 0) out.push("  none");
  if (f.blockers.length > 0) {
    out.push("cannot adopt:");
    for (const b of f.blockers) out.push(`  ${b}`);
  }
  return `${out.join("\n")}\n`;
}

/**
 * Revokes the hand-made admin certificate once a rotation retired it (nothing
 * pins it any more), as a managed one is revoked when it is replaced. Returns
 * its serial.
 */
export async function revokeAdoptedCertificate(deployment: Deployment, pem: string): Promise<string> {
  const serial = colonHex(new X509Certificate(pem).serialNumber);
  const answer = await vaultCall(endpointFromEnv(deployment.env), {
    method: "PUT",
    path: `${deployment.config.pki_int.path}/revoke`,
    token: vaultToken(deployment.env),
    body: { serial_number: serial },
  });
  requireSuccess(answer, `revoking the adopted admin certificate ${serial}`);
  return serial;
}
