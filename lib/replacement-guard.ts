import { Op, TerraformLocal, TerraformResource, Token, ref } from "cdktf";

/**
 * A setting that reaches an attribute the provider can only change by
 * replacing the object (ForceNew), or by moving it where its users no longer
 * find it (a remount).
 */
export interface ReplacingSetting {
  /** The setting as users write it, e.g. `adminCert.commonName`. */
  readonly setting: string;
  /** The resource attribute it sets, e.g. `common_name`. */
  readonly attribute: string;
  /** What the attribute is, in a sentence about the object, e.g. "common name". */
  readonly label: string;
  /** The configured value: a literal, or a reference to another resource's attribute. */
  readonly configured: string;
}

/**
 * Words of a refusal. `live` and `configured` are template expressions of the
 * two values (the object's, and the configuration's), ready to put in the text.
 */
export type Refusal = (setting: ReplacingSetting, live: string, configured: string) => string;

/**
 * Keeps the live values of `settings` on `resource` (`lifecycle.ignore_changes`):
 * the plan never replaces the object for them. Without a refusal as well, a
 * change of them is carried out elsewhere (a rotation issues a new object).
 */
export function keepLiveValues(resource: TerraformResource, settings: readonly ReplacingSetting[]): void {
  if (settings.length === 0) return;
  const kept = resource.lifecycle?.ignoreChanges;
  if (kept === "all") return;
  resource.lifecycle = { ...resource.lifecycle, ignoreChanges: [...(kept ?? []), ...settings.map((s) => s.attribute)] };
}

/**
 * Refuses a plan in which the configuration of `settings` differs from the
 * object's values: one postcondition per setting, comparing `self.<attribute>`
 * with the configured value. With {@link keepLiveValues} on the same
 * attributes, `self` holds the live value during the plan, so the refusal
 * comes at plan time, before anything is applied, whoever runs the engine.
 */
export function refuseChanges(resource: TerraformResource, settings: readonly ReplacingSetting[], refusal: Refusal): void {
  if (settings.length === 0) return;
  const postconditions = settings.map((s) => {
    const live = ref(`self.${s.attribute}`);
    // A configured literal is written as a plain string value of its own (a
    // local), as every other setting is, never spliced into an expression.
    const configured = Token.isUnresolved(s.configured) ? s.configured : new TerraformLocal(resource, `configured_${s.attribute}`, s.configured).asString;
    return { condition: Op.eq(live, configured), errorMessage: refusal(s, Token.asString(live), configured) };
  });
  resource.lifecycle = { ...resource.lifecycle, postcondition: [...(resource.lifecycle?.postcondition ?? []), ...postconditions] };
}
