/** The engine families the stack is synthesized for. */
export type EngineKind = "tofu" | "terraform";

/** The engine a synthesized stack is meant for: what it accepts decides a few blocks of the JSON. */
export interface EngineTarget {
  /** OpenTofu (`tofu`) or HashiCorp Terraform (`terraform`). */
  readonly kind: EngineKind;
  /** Its version, e.g. `1.11.4`. */
  readonly version: string;
}

/** The product names people know the engines by. */
export const ENGINE_PRODUCT: Readonly<Record<EngineKind, string>> = { tofu: "OpenTofu", terraform: "Terraform" };

/** What a synth without a named engine assumes: the toolchain's OpenTofu. */
export const DEFAULT_ENGINE_TARGET: EngineTarget = { kind: "tofu", version: "1.10.0" };

/** `version` ≥ `minimum`, both dotted numbers (a suffix such as `-beta1` is ignored). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) =>
    v
      .split(/[^0-9.]/)[0]
      .split(".")
      .map((n) => Number(n) || 0);
  const [a, b] = [parts(version), parts(minimum)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** `OpenTofu 1.10.10`. */
export function engineLabel(target: EngineTarget): string {
  return `${ENGINE_PRODUCT[target.kind]} ${target.version}`;
}
