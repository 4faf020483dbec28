import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync } from "node:fs";
import { join } from "node:path";

/** One request of the Java loop, as it printed it. */
export interface LoopRequest {
  readonly op: "login" | "write";
  readonly n: number;
  readonly start: number;
  readonly end: number;
  /** The HTTP status, or the Java exception's class name. */
  readonly status: string;
}

/** The archive key the loop wrote as `n` in run `run`: base64(SHA-256("<run>:<n>")), as LoginLoop.java computes it. */
export const loopArchiveKey = (run: string, n: number) => createHash("sha256").update(`${run}:${n}`).digest("base64");

export const isAcknowledged = (r: LoopRequest) => /^20[04]$/.test(r.status);

/** Compiles LoginLoop.java into `dir`. */
export async function compileJavaLoop(dir: string): Promise<void> {
  copyFileSync(join(__dirname, "java", "LoginLoop.java"), join(dir, "LoginLoop.java"));
  const child = spawn("javac", ["-d", dir, join(dir, "LoginLoop.java")], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((ok, fail) => {
    child.on("error", fail);
    child.on("close", ok);
  });
  if (code !== 0) throw new Error(`javac LoginLoop.java failed (exit ${code}): ${stderr}`);
}

/** A running Java login loop (see LoginLoop.java); the password goes through its stdin, never its argv. */
export interface JavaLoop {
  /** Every request printed so far. */
  readonly requests: LoopRequest[];
  /** Resolves when the loop has printed a request matching `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: (requests: readonly LoopRequest[]) => boolean, timeoutMs: number): Promise<void>;
  /** Resolves with the exit code when the loop ends (its duration is up). */
  readonly done: Promise<number>;
  /** Kills it (cleanup on every path). */
  kill(): void;
}

export function startJavaLoop(options: {
  readonly classDir: string;
  readonly p12: string;
  readonly password: string;
  readonly caFile: string;
  readonly addr: string;
  readonly mount: string;
  readonly role: string;
  readonly kvPath: string;
  readonly run: string;
  readonly durationMs: number;
  readonly pauseMs: number;
}): JavaLoop {
  const o = options;
  const args = ["-cp", o.classDir, "LoginLoop", o.p12, o.caFile, o.addr, o.mount, o.role, o.kvPath, o.run, String(o.durationMs), String(o.pauseMs)];
  const child: ChildProcessWithoutNullStreams = spawn("java", args, { stdio: ["pipe", "pipe", "pipe"] });
  const requests: LoopRequest[] = [];
  let partial = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const m = /^op=(login|write) n=(\d+) start=(\d+) end=(\d+) status=(\S+)$/.exec(line.trim());
      if (m) requests.push({ op: m[1] as "login" | "write", n: Number(m[2]), start: Number(m[3]), end: Number(m[4]), status: m[5] });
    }
    waiters.forEach((w) => w());
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number>((ok, fail) => {
    child.on("error", fail);
    child.on("close", (code) => {
      waiters.forEach((w) => w());
      if (code !== 0) fail(new Error(`java LoginLoop exited with ${code}: ${stderr.split("\n").slice(0, 8).join("\n")}`));
      else ok(code);
    });
  });
  done.catch(() => undefined);
  child.stdin.end(`${o.password}\n`);
  return {
    requests,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
    waitFor: (predicate, timeoutMs) =>
      new Promise<void>((ok, fail) => {
        const check = () => {
          if (predicate(requests)) {
            cleanup();
            ok();
          } else if (child.exitCode !== null) {
            cleanup();
            fail(new Error(`java LoginLoop ended (exit ${child.exitCode}) before the condition held: ${stderr.split("\n").slice(0, 8).join("\n")}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`the Java loop did not reach the condition in ${timeoutMs / 1000} s (${requests.length} requests)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
