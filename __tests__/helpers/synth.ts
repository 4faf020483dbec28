// Reading what Testing.synth / Testing.synthScope wrote. Not a test file: jest's
// testMatch is `**/*.test.ts`.

/** The `resource` block of a synthesized stack: type → logical id → attributes. */
export type Resources = Record<string, Record<string, Record<string, unknown>>>;

/** A Terraform reference to an attribute of a resource, as cdktf writes it: `${type.id.attribute}`. */
export const ref = (type: string, id: string, attribute: string) => "${" + `${type}.${id}.${attribute}` + "}";

/**
 * Logical ids in a synthesized stack. `only(type)`: the id of the one resource
 * of `type`; `idOf(type, match)`: of the one whose attributes include all of
 * `match`. Both throw unless there is exactly one.
 */
export function resourceIds(json: { resource?: unknown }) {
  const only = (type: string) => {
    const ids = Object.keys((json.resource as Resources)[type] ?? {});
    if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
    return ids[0];
  };
  const idOf = (type: string, match: Record<string, unknown> = {}) => {
    const ids = Object.entries((json.resource as Resources)[type] ?? {}).filter(([, r]) => Object.entries(match).every(([k, v]) => r[k] === v));
    if (ids.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(match)}, found ${ids.length}`);
    return ids[0][0];
  };
  return { only, idOf };
}
