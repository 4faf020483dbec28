/*
 * The managed resources of a pulled state (format 4), as the commands look at
 * them: address, type, the provider's id, and the PKI issuers each names.
 */

/** A resource as the state records it; no attribute but the ids leaves the state. */
export interface StateResource {
  /** `vault_mount.pki_mount_33DDF4BC`. */
  readonly address: string;
  /** `vault_mount`. */
  readonly type: string;
  /** The provider's id: a mount's path, a policy's name, a role's path. */
  readonly id?: string;
  /** The PKI issuers it names (`issuer_id`, `imported_issuers`). */
  readonly issuerIds: readonly string[];
}

/** Reads the `resources` of a pulled state (format 4), managed ones only. */
export function stateResources(resources: unknown): StateResource[] {
  if (!Array.isArray(resources)) return [];
  const out: StateResource[] = [];
  for (const r of resources as { mode?: unknown; type?: unknown; name?: unknown; instances?: { attributes?: Record<string, unknown> }[] }[]) {
    if (r.mode !== "managed" || typeof r.type !== "string" || typeof r.name !== "string") continue;
    const attributes = r.instances?.[0]?.attributes ?? {};
    const issuers = [attributes.issuer_id, ...(Array.isArray(attributes.imported_issuers) ? attributes.imported_issuers : [])];
    out.push({
      address: `${r.type}.${r.name}`,
      type: r.type,
      id: typeof attributes.id === "string" ? attributes.id : undefined,
      issuerIds: issuers.filter((i): i is string => typeof i === "string" && i !== ""),
    });
  }
  return out;
}
