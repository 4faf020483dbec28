import { createReadStream, statSync } from "node:fs";
import { IncomingMessage } from "node:http";
import { request } from "node:https";
import { VaultAnswer, VaultEndpoint, explainTransportError } from "./client";

/*
 * The raft snapshot endpoints move a binary body (a gzipped tar), which the
 * JSON client in client.ts does not carry: the download is streamed to the
 * caller, the upload streamed from a file. Error answers are JSON and are
 * returned as a VaultAnswer for the readers.
 */

export const SNAPSHOT_PATH = "sys/storage/raft/snapshot";
export const SNAPSHOT_FORCE_PATH = "sys/storage/raft/snapshot-force";

/** A standby answers the snapshot GET with 307 to the active node; more hops than this means a loop. */
export const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 120_000;

/** Where a snapshot download ended up. */
export type SnapshotDownload =
  | { readonly ok: true; readonly body: IncomingMessage; readonly from: string; readonly redirects: number }
  | { readonly ok: false; readonly answer: VaultAnswer; readonly from: string };

/**
 * `GET sys/storage/raft/snapshot`, following a standby's 307 to the active
 * node (https only, at most {@link MAX_REDIRECTS} hops; the token goes with
 * it, as the Vault CLI does, since the active node is part of the same
 * cluster). On 200 the caller reads `body`; anything else is drained into
 * a JSON answer.
 */
export async function downloadSnapshot(endpoint: VaultEndpoint, token: string): Promise<SnapshotDownload> {
  let url = new URL(`/v1/${SNAPSHOT_PATH}`, endpoint.addr);
  for (let redirects = 0; redirects <= MAX_REDIRECTS; redirects++) {
    const res = await get(endpoint, url, token);
    const status = res.statusCode ?? 0;
    if (status === 200) return { ok: true, body: res, from: url.origin, redirects };
    if (status === 307 || status === 302 || status === 301 || status === 308) {
      res.resume();
      const location = res.headers.location;
      if (!location) return { ok: false, answer: { status, json: { errors: [`HTTP ${status} without a Location header`] } }, from: url.origin };
      const next = new URL(location, url);
      if (next.protocol !== "https:") {
        return {
          ok: false,
          answer: { status, json: { errors: [`redirected to ${next.origin}, which is not https; refusing to send the token there`] } },
          from: url.origin,
        };
      }
      url = next;
      continue;
    }
    return { ok: false, answer: { status, json: await readJson(res) }, from: url.origin };
  }
  return {
    ok: false,
    answer: { status: 307, json: { errors: [`more than ${MAX_REDIRECTS} redirects; the cluster's nodes point at each other`] } },
    from: url.origin,
  };
}

/**
 * `POST sys/storage/raft/snapshot` (or `snapshot-force` for a snapshot of
 * another cluster), the body streamed from `file`. The server answers 204
 * and applies the snapshot in the background.
 */
export function uploadSnapshot(endpoint: VaultEndpoint, token: string, file: string, force: boolean): Promise<VaultAnswer> {
  const url = new URL(`/v1/${force ? SNAPSHOT_FORCE_PATH : SNAPSHOT_PATH}`, endpoint.addr);
  const size = statSync(file).size;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca: endpoint.caPem,
        headers: { "X-Vault-Token": token, "Content-Type": "application/octet-stream", "Content-Length": size },
        agent: false,
        timeout: IDLE_TIMEOUT_MS,
      },
      (res) => void readJson(res).then((json) => resolve({ status: res.statusCode ?? 0, json }), reject),
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error(`timed out uploading to ${url.pathname}`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(endpoint.addr, e)));
    const source = createReadStream(file);
    source.on("error", (e) => req.destroy(e));
    source.pipe(req);
  });
}

function get(endpoint: VaultEndpoint, url: URL, token: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ca: endpoint.caPem, headers: { "X-Vault-Token": token }, agent: false, timeout: IDLE_TIMEOUT_MS }, resolve);
    req.on("timeout", () => req.destroy(Object.assign(new Error(`timed out reading ${url.pathname} from ${url.origin}`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(url.origin, e)));
    req.end();
  });
}

/** Reads a (small) error or empty answer; never echoes a body that is not JSON beyond 200 characters. */
function readJson(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    res.on("error", reject);
    res.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      if (!text) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve({ errors: [text.slice(0, 200)] });
      }
    });
  });
}
