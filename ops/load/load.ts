import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { VaultAnswer, VaultConnectionError, VaultEndpoint } from "../vault/client";
import { KeepAlivePool, LoadAnswer } from "./http";
import { removeLoadLeftovers } from "../vault/load-grants";
import { LoadGrant } from "./grant";
import { Code42Session, Endpoints, LoginError, isNodeFailure } from "./session";
import { OperationStats, longestGap, operationStats } from "./stats";

/** Bounds of every option: a load generator must end, whatever it is given. */
export const LOAD_BOUNDS = {
  users: { min: 1, max: 100_000 },
  readsPerWrite: { min: 0, max: 1_000 },
  concurrency: { min: 1, max: 256 },
  durationSeconds: { min: 1, max: 3_600 },
} as const;

/** A pause after a failed write before the same key is tried again, so a dead node is not hammered. */
const RETRY_PAUSE_MS = 100;

/** What to run. */
export interface LoadOptions {
  /** The nodes' addresses; the client uses one and moves to the next when it stops answering. */
  readonly endpoints: readonly VaultEndpoint[];
  /**
   * The operator's token (VAULT_TOKEN): issues the run's own client certificate and writes its
   * policy and cert role (ops/load/grant.ts), and removes them. Never the admin certificate. Never logged.
   */
  readonly adminToken: string;
  /** The keystore's mounts and issuing role, from the configuration. */
  readonly kvPath: string;
  readonly certAuthPath: string;
  readonly pkiIntPath: string;
  /** The PKI role that issues the run's certificate (`cpRole`). */
  readonly issuingRole: string;
  /** Keys go under `<kvPath>/<prefix>/<run id>/`. */
  readonly prefix: string;
  /** Simulated Code42 users: one archive key each, written once. */
  readonly users: number;
  /** Reads of already written keys after each write: the read/write mix. */
  readonly readsPerWrite: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** The run stops when every user is written and read, or after this long. */
  readonly durationMs: number;
  /** TTL of the load role's tokens, as Code42's role has. @default 60 */
  readonly tokenTtlSeconds?: number;
  /** A raft data directory (a server's `data/`) whose files are measured before and after. @default - not measured */
  readonly storageDir?: string;
  /** Called once the run's grant exists, so that a signal handler can release it. @default - none */
  readonly onGrant?: (grant: LoadGrant) => void;
  /** Called after each acknowledged write with the count so far and when its request was sent (the failover test kills the leader from here). */
  readonly onWriteAcknowledged?: (acknowledged: number, sentAt: number) => void;
}

/** One archive key written: the value, and whether Vault acknowledged it (2xx). */
export interface WriteRecord {
  readonly path: string;
  /** The JSON document's `archiveKey` (base64 of 32 random bytes). Secret-like: never printed. */
  readonly archiveKey: string;
  acknowledged: boolean;
  attempts: number;
}

/** What a run measured; `--json` prints it. Holds no key or token. */
export interface LoadReport {
  readonly runId: string;
  /** The run's temporary policy and cert role (both removed when it ends). */
  readonly grant: string;
  /** Objects of earlier runs that ended without cleaning up, removed before this one (`cert role …`, `policy …`). */
  readonly leftoversRemoved: string[];
  /** What could not be removed when the run ended; empty when all was. */
  readonly cleanupProblems: string[];
  readonly addresses: string[];
  readonly settings: { users: number; readsPerWrite: number; concurrency: number; durationSeconds: number };
  readonly seconds: number;
  /** Users whose key was acknowledged. */
  readonly usersWritten: number;
  /** Successful requests of every kind per second. */
  readonly throughput: number;
  readonly write: OperationStats;
  readonly read: OperationStats;
  readonly login: OperationStats;
  /** Failures by operation and cause, e.g. `write ECONNREFUSED`, `read HTTP 500`. */
  readonly errors: Record<string, number>;
  /** Reads that answered but with another value, or 404 for an acknowledged key. */
  readonly wrongReads: number;
  /** Longest stretch between two acknowledged writes (ms). */
  readonly longestWriteGapMs: number;
  /** Growth of the raft files per user written, when a data directory was given. */
  readonly storage?: { fsmBytesPerUser: number; logBytesPerUser: number; fsmBytes: number; logBytes: number };
}

/** Checks the count-like options against {@link LOAD_BOUNDS}; the message names the option. */
export function checkBound(option: string, value: number, bound: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < bound.min || value > bound.max) {
    throw new Error(`${option}: ${value} is out of range; expected a whole number from ${bound.min} to ${bound.max}`);
  }
  return value;
}

/**
 * Refuses an address that is not https on a loopback host unless the user
 * allowed remote servers: a load generator pointed at the wrong server is an
 * attack on it.
 */
export function checkLoadAddress(option: string, addr: string, allowRemote: boolean): string {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new Error(`${option}: ${JSON.stringify(addr)} is not a URL; expected e.g. https://127.0.0.1:8200`);
  }
  if (url.protocol !== "https:") throw new Error(`${option}: ${addr} is not https; expected e.g. https://127.0.0.1:8200`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || (isIP(host) === 4 && host.startsWith("127.")) || host === "::1";
  if (!loopback && !allowRemote) {
    throw new Error(
      `${option}: ${addr} is not a loopback address; the load generator sends thousands of requests, so it only targets a server on this machine unless you pass --allow-remote for a server you run`,
    );
  }
  return url.origin;
}

/**
 * The disk space the raft files of a data directory use: the FSM (vault.db)
 * and the log (raft/raft.db). Allocated blocks, not the apparent size: bbolt
 * grows its files in sparse steps (vault.db starts at 16 MiB of which a few
 * hundred KiB are written), so only the blocks show what the data takes.
 */
export function raftFileSizes(dataDir: string): { fsm: number; log: number } {
  const size = (f: string) => (existsSync(f) ? statSync(f).blocks * 512 : 0);
  return { fsm: size(join(dataDir, "vault.db")), log: size(join(dataDir, "raft", "raft.db")) };
}

/** A finished run: the report, and every write for checking what was acknowledged. */
export interface LoadRun {
  readonly report: LoadReport;
  readonly writes: readonly WriteRecord[];
}

/**
 * Runs the load: removes what earlier runs left behind, makes its own access
 * (a certificate, policy and cert role of its own: see grant.ts), then
 * `concurrency` workers each take the next user, write its archive key
 * (retrying until acknowledged or the time is up) and read `readsPerWrite`
 * acknowledged keys back, checking the value. Ends when every user is done or
 * `durationMs` has passed; every request has a timeout, so the run ends within
 * it plus one. The access is removed however the run ends.
 */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  checkBound("users", options.users, LOAD_BOUNDS.users);
  checkBound("readsPerWrite", options.readsPerWrite, LOAD_BOUNDS.readsPerWrite);
  checkBound("concurrency", options.concurrency, LOAD_BOUNDS.concurrency);
  checkBound("durationSeconds", Math.ceil(options.durationMs / 1000), LOAD_BOUNDS.durationSeconds);
  const endpoints = new Endpoints(options.endpoints);
  const place = { endpoint: endpoints.now, token: options.adminToken, certAuthPath: options.certAuthPath, pkiIntPath: options.pkiIntPath };
  const sweep = await removeLoadLeftovers(place);
  if (sweep.skipped.length > 0) throw new Error(`${sweep.skipped.join("; ")}; check VAULT_TOKEN (it must list and delete cert roles and ACL policies)`);
  const grant = await LoadGrant.open({
    ...place,
    adminToken: options.adminToken,
    kvPath: options.kvPath,
    issuingRole: options.issuingRole,
    prefix: options.prefix,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 60,
    runSeconds: Math.ceil(options.durationMs / 1000),
  });
  options.onGrant?.(grant);
  let run: Awaited<ReturnType<typeof runWith>>;
  try {
    run = await runWith(options, endpoints, grant);
  } catch (e) {
    const problems = await grant.release();
    if (problems.length > 0) throw new Error(`${(e as Error).message}; removing the run's grant ${grant.name} failed too: ${problems.join("; ")}`);
    throw e;
  }
  const cleanupProblems = await grant.release();
  return { writes: run.writes, report: { ...run.report, grant: grant.name, leftoversRemoved: sweep.removed, cleanupProblems } };
}

/** The run itself, through the grant's role; the report without what the grant adds. */
async function runWith(
  options: LoadOptions,
  endpoints: Endpoints,
  grant: LoadGrant,
): Promise<{ writes: WriteRecord[]; report: Omit<LoadReport, "grant" | "leftoversRemoved" | "cleanupProblems"> }> {
  const session = new Code42Session(endpoints, grant.identity, options.certAuthPath, grant.roleName);
  await session.current();

  const runId = randomUUID().slice(0, 8);
  const base = `${options.kvPath}/${options.prefix}/${runId}`;
  const pool = new KeepAlivePool(options.endpoints[0].caPem, options.concurrency);
  const before = options.storageDir ? raftFileSizes(options.storageDir) : undefined;
  const latencies = { write: [] as number[], read: [] as number[] };
  const failures = { write: 0, read: 0 };
  const errors: Record<string, number> = {};
  const acknowledgedAt: number[] = [];
  const written: WriteRecord[] = [];
  const writes: WriteRecord[] = [];
  let wrongReads = 0;
  let nextUser = 0;
  const started = Date.now();
  const deadline = started + options.durationMs;
  const timeLeft = () => Date.now() < deadline;

  /** One request with the session's token; a refused token is dropped and the request counted failed. */
  const request = async (op: "write" | "read", method: "GET" | "PUT", path: string, body?: unknown): Promise<VaultAnswer | undefined> => {
    let endpoint = endpoints.now;
    const t0 = performance.now();
    let outcome: LoadAnswer | unknown;
    let token: string | undefined;
    try {
      token = await session.current();
      outcome = await pool.call(endpoint, method, path, token, body);
      // A standby that cannot forward (it lost its leader) redirects to the new active node: follow it once, to one of our addresses only.
      const target = (outcome as LoadAnswer).status === 307 ? endpoints.find((outcome as LoadAnswer).location ?? "") : undefined;
      if (target) {
        endpoints.moveTo(target);
        endpoint = target;
        outcome = await pool.call(endpoint, method, path, token, body);
      }
    } catch (e) {
      if (!(e instanceof VaultConnectionError) && !(e instanceof LoginError)) throw e;
      outcome = e;
    }
    const ms = performance.now() - t0;
    const answer = outcome as VaultAnswer;
    if (!(outcome instanceof Error) && answer.status >= 200 && answer.status < 300) {
      latencies[op].push(ms);
      return answer;
    }
    failures[op]++;
    const cause =
      outcome instanceof VaultConnectionError ? (outcome.code ?? "transport error") : outcome instanceof Error ? "login failed" : `HTTP ${answer.status}`;
    errors[`${op} ${cause}`] = (errors[`${op} ${cause}`] ?? 0) + 1;
    if (isNodeFailure(outcome)) endpoints.failed(endpoint);
    if (!(outcome instanceof Error) && answer.status === 403 && token) session.invalidate(token);
    return outcome instanceof Error ? undefined : answer;
  };

  const writeUser = async (user: number) => {
    const record: WriteRecord = {
      path: `${base}/user-${String(user).padStart(6, "0")}`,
      archiveKey: randomBytes(32).toString("base64"),
      acknowledged: false,
      attempts: 0,
    };
    writes.push(record);
    const document = { archiveKey: record.archiveKey, algorithm: "AES-256", user: `user-${user}`, created: new Date().toISOString() };
    while (!record.acknowledged && timeLeft()) {
      record.attempts++;
      const sentAt = Date.now();
      const answer = await request("write", "PUT", record.path, document);
      if (answer && answer.status >= 200 && answer.status < 300) {
        record.acknowledged = true;
        written.push(record);
        acknowledgedAt.push(Date.now());
        options.onWriteAcknowledged?.(written.length, sentAt);
      } else if (timeLeft()) {
        await new Promise((ok) => setTimeout(ok, RETRY_PAUSE_MS));
      }
    }
  };

  const readSome = async () => {
    for (let i = 0; i < options.readsPerWrite && timeLeft() && written.length > 0; i++) {
      const record = written[Math.floor(Math.random() * written.length)];
      const answer = await request("read", "GET", record.path);
      if (!answer) continue;
      const data = (answer.json as { data?: { archiveKey?: unknown } } | undefined)?.data;
      if (answer.status === 404 || (answer.status === 200 && data?.archiveKey !== record.archiveKey)) wrongReads++;
    }
  };

  const worker = async () => {
    while (timeLeft()) {
      const user = nextUser++;
      if (user >= options.users) return;
      await writeUser(user);
      await readSome();
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    pool.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const after = options.storageDir ? raftFileSizes(options.storageDir) : undefined;
  const logins = session.logins;
  const login = operationStats(
    logins.filter((l) => l.ok).map((l) => l.ms),
    logins.filter((l) => !l.ok).length,
    seconds,
  );
  for (const l of logins.filter((l) => !l.ok)) errors[`login ${l.error}`] = (errors[`login ${l.error}`] ?? 0) + 1;
  const write = operationStats(latencies.write, failures.write, seconds);
  const read = operationStats(latencies.read, failures.read, seconds);
  const perUser = (n: number) => (written.length > 0 ? Math.round(n / written.length) : 0);
  return {
    writes,
    report: {
      runId,
      addresses: options.endpoints.map((e) => e.addr),
      settings: { users: options.users, readsPerWrite: options.readsPerWrite, concurrency: options.concurrency, durationSeconds: options.durationMs / 1000 },
      seconds: Math.round(seconds * 10) / 10,
      usersWritten: written.length,
      throughput: Math.round(((write.ok + read.ok + login.ok) / seconds) * 10) / 10,
      write,
      read,
      login,
      errors,
      wrongReads,
      longestWriteGapMs: longestGap(acknowledgedAt),
      storage:
        before && after
          ? {
              fsmBytes: after.fsm - before.fsm,
              logBytes: after.log - before.log,
              fsmBytesPerUser: perUser(after.fsm - before.fsm),
              logBytesPerUser: perUser(after.log - before.log),
            }
          : undefined,
    },
  };
}

/** The report as a short table for people. */
export function formatLoadReport(r: LoadReport): string {
  const row = (name: string, s: OperationStats) =>
    `${name.padEnd(6)} ${String(s.ok).padStart(7)} ${String(s.failed).padStart(7)} ${s.perSecond.toFixed(1).padStart(8)} ${s.p50.toFixed(1).padStart(7)} ${s.p95.toFixed(1).padStart(7)} ${s.p99.toFixed(1).padStart(7)} ${s.max.toFixed(1).padStart(8)}\n`;
  const errors = Object.entries(r.errors).sort(([a], [b]) => a.localeCompare(b));
  return (
    `run ${r.runId} against ${r.addresses.join(", ")}: ${r.usersWritten}/${r.settings.users} users written in ${r.seconds} s ` +
    `(concurrency ${r.settings.concurrency}, ${r.settings.readsPerWrite} reads per write)\n` +
    `op          ok  failed    ops/s  p50 ms  p95 ms  p99 ms   max ms\n` +
    row("write", r.write) +
    row("read", r.read) +
    row("login", r.login) +
    `throughput: ${r.throughput} requests/s; longest gap between acknowledged writes: ${r.longestWriteGapMs} ms; wrong or missing reads: ${r.wrongReads}\n` +
    (errors.length ? `errors: ${errors.map(([k, n]) => `${k} ×${n}`).join(", ")}\n` : "errors: none\n") +
    (r.storage
      ? `raft storage: FSM +${r.storage.fsmBytes} bytes (${r.storage.fsmBytesPerUser} per user), log +${r.storage.logBytes} bytes (${r.storage.logBytesPerUser} per user); Code42 plans about 1 KB per user\n`
      : "")
  );
}
