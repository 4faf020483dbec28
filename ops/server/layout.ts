import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Every name a server directory may hold; `purge` refuses to delete a directory with anything else in it. */
export const LAYOUT = {
  config: "server.hcl",
  meta: "server.json",
  log: "server.log",
  pid: "server.pid",
  unsealKey: "unseal.key",
  /**
   * The unseal key of the cluster a restore is loading (written by `restore` before its point of no return,
   * removed when it finishes): a restart after a restore that stopped half-way unseals with it.
   */
  pendingUnsealKey: "unseal.key.pending",
  /** An auto-unsealed server has no unseal key: its recovery key (generate-root, backup checks) instead. */
  recoveryKey: "recovery.key",
  rootToken: "root.token",
  env: "vault.env",
  tls: "tls",
  data: "data",
  /** The file audit device's log, declared in server.hcl (see audit.ts). */
  audit: "audit.log",
  /** Written with `*`: nothing in a server directory ever shows in `git status`. */
  gitignore: ".gitignore",
} as const;

export const TLS = {
  opensslConfig: "openssl.cnf",
  caCert: "ca.pem",
  caKey: "ca.key",
  cert: "server.pem",
  key: "server.key",
  csr: "server.csr",
} as const;

/** Ports and addresses chosen when the directory was first set up; reused on every restart. */
export interface ServerMeta {
  readonly apiPort: number;
  readonly clusterPort: number;
  /**
   * Whether the first start created the directory. Purge removes a directory
   * it created; in one it was given, it removes only the server's files.
   * Absent in directories set up before this was recorded: treated as created.
   */
  readonly createdDir?: boolean;
  /**
   * HashiCorp Vault's audit device, which it takes through the API only: every start makes sure it is enabled.
   * Absent for OpenBao, whose config declares the device.
   */
  readonly apiAudit?: boolean;
  /** The config holds a seal stanza (auto-unseal): initialised with a recovery key, and never unsealed with a key. */
  readonly autoUnseal?: boolean;
}

export const LOG_TAIL_LINES = 25;

/** The directory's server.json. */
export function readMeta(dir: string): ServerMeta {
  const file = join(dir, LAYOUT.meta);
  if (!existsSync(file)) throw new Error(`${dir} holds a partial setup (${LAYOUT.meta} is missing); remove it with --purge and start again`);
  return JSON.parse(readFileSync(file, "utf8")) as ServerMeta;
}

/** The last lines of server.log, which holds no secrets, for error messages. */
export function logTail(dir: string): string {
  const file = join(dir, LAYOUT.log);
  if (!existsSync(file)) return "";
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES);
  return `\n--- last lines of ${file} ---\n${lines.join("\n")}`;
}

/** Refuses to purge a directory that holds anything this module did not put there. */
export function assertServerDir(dir: string): void {
  const known = new Set<string>(Object.values(LAYOUT));
  const foreign = readdirSync(dir).filter((name) => !known.has(name));
  if (foreign.length > 0) {
    throw new Error(`refusing to purge ${dir}: it holds files that are not the server's (${foreign.join(", ")})`);
  }
}
