import type { IConstruct } from "constructs";

/**
 * The one error type this project throws for bad input. It names the setting,
 * the value received and what is expected, and, when raised inside a construct,
 * that construct's path, so a failing synth points at the line to fix.
 */
export class KeystoreValidationError extends Error {
  /** The setting at fault, e.g. `pki_int.maxLeaseTtl`. */
  public readonly setting: string;
  /** The value received, rendered as JSON. */
  public readonly received: string;
  /** What would have been accepted. */
  public readonly expected: string;

  public constructor(setting: string, value: unknown, expected: string, constructPath?: string) {
    const received = renderValue(value);
    const where = constructPath ? ` (at ${constructPath})` : "";
    super(`${setting}: ${received} ${expected}${where}`);
    this.name = "KeystoreValidationError";
    this.setting = setting;
    this.received = received;
    this.expected = expected;
  }
}

/**
 * The setting a construct's prop comes from, as error messages name it:
 * construct ids double as the config file's section names (`pki_int`,
 * `adminCert`, …), so `settingName(mount, "maxLeaseTtl")` is
 * `pki_int.maxLeaseTtl`. Every construct names its settings through this.
 */
export function settingName(construct: IConstruct, prop: string): string {
  return `${construct.node.id}.${prop}`;
}

function renderValue(value: unknown): string {
  if (value === undefined) return "(unset)";
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}
