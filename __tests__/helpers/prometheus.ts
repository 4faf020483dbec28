/** One sample of a metric family, as parse-prometheus-text-format returns it. */
export interface PromSample {
  readonly value: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** One metric family. */
export interface PromFamily {
  readonly name: string;
  readonly help: string;
  /** e.g. "GAUGE", "UNTYPED". */
  readonly type: string;
  readonly metrics: readonly PromSample[];
}

// The package ships no type declarations; this is its documented shape.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require("parse-prometheus-text-format") as (text: string) => PromFamily[];

/** Parses the text exposition format with a real parser; throws on text it cannot read. */
export function parsePrometheus(text: string): PromFamily[] {
  return parsePrometheusTextFormat(text);
}

/** The value of the sample of `name` whose labels equal `labels` (none by default), as a number. */
export function sampleValue(families: readonly PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels));
  return sample === undefined ? undefined : Number(sample.value);
}
