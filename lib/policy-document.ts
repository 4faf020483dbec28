/** The capabilities the recipe grants on every path of `crashplanPolicy`. */
export const CRASHPLAN_CAPABILITIES = ["create", "read", "update", "delete", "list"] as const;

/** Renders one `path` stanza per path, all with {@link CRASHPLAN_CAPABILITIES}. */
export function renderPolicy(paths: string[]): string {
  const capabilities = CRASHPLAN_CAPABILITIES.map((c) => `"${c}"`).join(", ");
  return paths.map((p) => `path "${p}" {\n  capabilities = [${capabilities}]\n}\n`).join("\n");
}
