import { TerraformOutput, TerraformResource } from "cdktf";
import { Construct } from "constructs";
import { ADOPTION_OUTPUT, AdoptionImportKey, AdoptionImports, AdoptionInput } from "./adoption-record";

/** Writes the adoption record as a state output (nothing when nothing is adopted). */
export function addAdoptionRecord(scope: Construct, record: AdoptionInput): void {
  const kept = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
  if (Object.keys(kept).length === 0) return;
  new TerraformOutput(scope, ADOPTION_OUTPUT, {
    value: JSON.stringify(kept),
    description: "What this stack took over instead of creating (npm run adopt): CA issuers used as they are, the hand-made admin certificate",
  }).overrideLogicalId(ADOPTION_OUTPUT);
}

/** Adds an `import` block for every resource `imports` names. */
export function importInto(resources: Readonly<Partial<Record<AdoptionImportKey, TerraformResource>>>, imports: AdoptionImports): void {
  for (const [key, id] of Object.entries(imports) as [AdoptionImportKey, string | undefined][]) {
    if (id === undefined) continue;
    const resource = resources[key];
    if (!resource) throw new Error(`adoption: nothing in this stack to import ${key} (${id}) into`);
    resource.importFrom(id);
  }
}
