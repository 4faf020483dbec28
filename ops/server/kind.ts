import { execFileSync } from "node:child_process";
import { serverEnv } from "./process";

/**
 * The servers the launcher starts. They share the HTTP API the stack and the
 * commands use, and differ where ops/server must: OpenBao ≥ 2.3.2 takes audit
 * devices from its config only (an `audit` stanza HashiCorp Vault does not
 * know), HashiCorp Vault enables them through the API.
 */
export type ServerKind = "openbao" | "vault";

/** The server's name for people: "OpenBao" or "HashiCorp Vault". */
export function productName(kind: ServerKind): string {
  return kind === "vault" ? "HashiCorp Vault" : "OpenBao";
}

/** What `<binary> version` says. */
export interface ServerBinary {
  readonly path: string;
  readonly kind: ServerKind;
  /** e.g. "2.4.0", "1.21.4" */
  readonly version: string;
  /** The program's name in messages: "bao" or "vault". */
  readonly name: string;
}

const BANNERS: readonly { readonly banner: RegExp; readonly kind: ServerKind; readonly name: string }[] = [
  { banner: /^OpenBao v(\d+\.\d+\.\d+)/, kind: "openbao", name: "bao" },
  { banner: /^Vault v(\d+\.\d+\.\d+)/, kind: "vault", name: "vault" },
];

/** Tells the two servers apart by the first line of `<binary> version` ("OpenBao v2.4.0 …", "Vault v1.14.8 …"). */
export function parseVersionBanner(path: string, output: string): ServerBinary {
  const first = output.split("\n")[0].trim();
  for (const { banner, kind, name } of BANNERS) {
    const match = banner.exec(first);
    if (match) return { path, kind, version: match[1], name };
  }
  throw new Error(`${path} version printed "${first.slice(0, 120)}"; expected OpenBao ("OpenBao v2.4.0 …") or HashiCorp Vault ("Vault v1.14.8 …")`);
}

const known = new Map<string, ServerBinary>();

/** The kind and version of the server binary at `path`, asked once per path. */
export function serverBinary(path: string): ServerBinary {
  const cached = known.get(path);
  if (cached) return cached;
  let output: string;
  try {
    output = execFileSync(path, ["version"], { encoding: "utf8", env: serverEnv(process.env), timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`cannot run ${path} version: ${(e as Error).message.split("\n")[0]}`);
  }
  const binary = parseVersionBanner(path, output);
  known.set(path, binary);
  return binary;
}
