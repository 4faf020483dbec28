import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../lib/settings";

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

/** Every synthesized resource, by address and type; none before the first synth. */
export function synthesizedResources(stackDir: string): { readonly address: string; readonly type: string }[] {
  const resources = readSynthesized(stackDir)?.json.resource ?? {};
  return Object.entries(resources).flatMap(([type, byName]) => Object.keys(byName).map((name) => ({ address: `${type}.${name}`, type })));
}

/** Address of the one synthesized resource of `type` whose `path` attribute is `path`. */
export function synthesizedAddress(stackDir: string, type: string, path: string): string {
  const synthesized = readSynthesized(stackDir);
  if (!synthesized) throw new Error(`${join(stackDir, "cdk.tf.json")} is missing; synthesize first`);
  const names = Object.entries(synthesized.json.resource?.[type] ?? {})
    .filter(([, r]) => r.path === path)
    .map(([name]) => name);
  if (names.length !== 1) throw new Error(`expected one ${type} with path "${path}" in ${synthesized.file}, found ${names.length}`);
  return `${type}.${names[0]}`;
}

/**
 * For an engine error: the resources it names, each with its construct path
 * and the settings behind that construct (`certRole.tokenTtl`,
 * `C42_CERT_ROLE_TOKEN_TTL`, …), one line each; empty when it names none.
 */
export function settingsBehind(stackDir: string, engineMessage: string): string {
  const paths = constructPaths(stackDir);
  const addresses = [...new Set(engineMessage.match(/\b[a-z][a-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*_[0-9A-F]{8}\b/g) ?? [])].filter((a) => paths.has(a));
  return addresses
    .map((address) => {
      const path = paths.get(address) as string;
      const group = path.split("/")[1];
      const settings = SETTINGS.filter((s) => s.key.startsWith(`${group}.`)).map((s) => `${s.key} (${s.env})`);
      return settings.length > 0 ? `${address} is ${path}, made from the settings ${settings.join(", ")}` : `${address} is ${path}`;
    })
    .join("\n");
}
