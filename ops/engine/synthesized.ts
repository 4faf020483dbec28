import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** What this project reads of a synthesized `cdk.tf.json`. */
interface Synthesized {
  readonly resource?: Record<string, Record<string, { readonly path?: unknown; readonly "//"?: { readonly metadata?: { readonly path?: string } } }>>;
}

function readSynthesized(stackDir: string): { file: string; json: Synthesized } | undefined {
  const file = join(stackDir, "cdk.tf.json");
  if (!existsSync(file)) return undefined;
  return { file, json: JSON.parse(readFileSync(file, "utf8")) as Synthesized };
}

/** Construct paths of the synthesized resources (`keystore/policy/policy`), by address. */
export function constructPaths(stackDir: string): Map<string, string> {
  const paths = new Map<string, string>();
  const synthesized = readSynthesized(stackDir);
  for (const [type, resources] of Object.entries(synthesized?.json.resource ?? {})) {
    for (const [name, r] of Object.entries(resources)) {
      const path = r["//"]?.metadata?.path;
      if (path) paths.set(`${type}.${name}`, path);
    }
  }
  return paths;
}

/** Address of the one synthesized resource of `type` whose `path` attribute is `path`. */
export function synthesizedAddress(stackDir: string, type: string, path: string): string {
  const synthesized = readSynthesized(stackDir);
  if (!synthesized) throw new Error(`${join(stackDir, "cdk.tf.json")} is missing; synthesize first`);
  const names = Object.entries(synthesized.json.resource?.[type] ?? {}).filter(([, r]) => r.path === path).map(([name]) => name);
  if (names.length !== 1) throw new Error(`expected one ${type} with path "${path}" in ${synthesized.file}, found ${names.length}`);
  return `${type}.${names[0]}`;
}
