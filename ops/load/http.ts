import { Agent, request } from "node:https";
import { VaultAnswer, VaultEndpoint, explainTransportError, parseAnswerBody } from "../vault/client";

/** How long one load request may take before it counts as failed. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** An answer, and where a 307 sends the client (a standby that cannot forward points at the active node). */
export interface LoadAnswer extends VaultAnswer {
  readonly location?: string;
}

/**
 * A pool of kept-alive TLS connections to each address, as a long-running
 * client such as Code42's has. Token calls go through it; logins present the
 * client certificate on a connection of their own ({@link vaultCall} does
 * that), since a pooled connection would carry another login's identity.
 */
export class KeepAlivePool {
  private readonly agents = new Map<string, Agent>();

  public constructor(
    private readonly caPem: string | undefined,
    private readonly maxSockets: number,
  ) {}

  /** One call with a token; resolves with any HTTP answer, rejects with a VaultConnectionError on transport errors and timeouts. */
  public call(endpoint: VaultEndpoint, method: "GET" | "PUT", path: string, token: string, body?: unknown): Promise<LoadAnswer> {
    const url = new URL(`/v1/${path}`, endpoint.addr);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent(endpoint.addr),
          headers: { "X-Vault-Token": token, ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}) },
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(endpoint.addr, e)));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, json: parseAnswerBody(Buffer.concat(chunks).toString()), location: res.headers.location }),
          );
        },
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error(`timed out calling ${url.pathname}`), { code: "ETIMEDOUT" })));
      req.on("error", (e: NodeJS.ErrnoException) => reject(explainTransportError(endpoint.addr, e)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Closes every pooled connection. */
  public close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agent(addr: string): Agent {
    let agent = this.agents.get(addr);
    if (!agent) {
      agent = new Agent({ keepAlive: true, maxSockets: this.maxSockets, ca: this.caPem });
      this.agents.set(addr, agent);
    }
    return agent;
  }
}
