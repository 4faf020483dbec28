import { spawn } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TestServer } from "./fixtures";

/** A bundle as a TLS client loads it. */
export interface Bundle {
  readonly pfx: Buffer;
  readonly passphrase: string;
}

/** Reads `crashplan.p12` and its password file from `dir`. */
export function readBundle(dir: string, p12File: string, passwordFile: string): Bundle {
  return { pfx: readFileSync(join(dir, p12File)), passphrase: readFileSync(join(dir, passwordFile), "utf8").trim() };
}

/** What a login loop counted. */
export interface LoopCounts {
  readonly name: string;
  readonly attempts: number;
  readonly ok: number;
  readonly failed: number;
  /** The first failures (time and status), never a token. */
  readonly failures: readonly string[];
  readonly seconds: number;
  /** Logins per second over the loop's life. */
  readonly rate: number;
  /** Longest time between two attempts, in ms. */
  readonly maxGapMs: number;
}

/**
 * Logs in over mTLS with `bundle` every `intervalMs` (attempts start on
 * schedule, whether or not the previous one has answered) until stopped, or
 * after `maxMs` at the latest. A login counts as good when it returns a token
 * with `policy`.
 */
export function startLoginLoop(server: TestServer, name: string, bundle: Bundle, policy: string, intervalMs = 200, maxMs = 15 * 60_000) {
  const started = Date.now();
  let attempts = 0;
  let ok = 0;
  const failures: string[] = [];
  let failed = 0;
  let last = started;
  let maxGapMs = 0;
  const inflight = new Set<Promise<void>>();
  const attempt = () => {
    const now = Date.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    if (now - started > maxMs) return stopTimer();
    attempts++;
    const p: Promise<void> = server
      .call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: bundle })
      .then((answer) => {
        if (answer.status === 200 && (answer.json?.auth?.token_policies ?? []).includes(policy)) ok++;
        else throw new Error(`status ${answer.status}`);
      })
      .catch((e: unknown) => {
        failed++;
        if (failures.length < 10) failures.push(`${new Date().toISOString()} ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const timer = setInterval(attempt, intervalMs);
  const stopTimer = () => clearInterval(timer);
  attempt();
  return {
    /** Stops scheduling, waits for the logins in flight and returns the counts. */
    async stop(): Promise<LoopCounts> {
      stopTimer();
      await Promise.all([...inflight]);
      const seconds = (Date.now() - started) / 1000;
      return { name, attempts, ok, failed, failures, seconds: Math.round(seconds * 10) / 10, rate: Math.round((attempts / seconds) * 10) / 10, maxGapMs };
    },
  };
}

/** Copies Login.java into `dir` and compiles it there with the JDK's javac. */
export async function compileJavaLogin(dir: string): Promise<void> {
  copyFileSync(join(__dirname, "java", "Login.java"), join(dir, "Login.java"));
  const { code, stderr } = await run("javac", ["-d", dir, join(dir, "Login.java")], "", 120_000);
  if (code !== 0) throw new Error(`javac failed (exit ${code}): ${stderr}`);
}

/**
 * Logs in with the Java client compiled by {@link compileJavaLogin}: it loads
 * the `.p12` through KeyStore.getInstance("PKCS12"); the password goes through
 * its stdin, never its argv. Returns the HTTP status and token policies.
 */
export async function javaLogin(dir: string, p12Path: string, password: string, server: TestServer, mount = "cert") {
  const { code, stdout, stderr } = await run(
    "java",
    ["-cp", dir, "Login", p12Path, server.env.VAULT_CACERT, server.env.VAULT_ADDR, mount],
    `${password}\n`,
    60_000,
  );
  const match = /^status=(\d+) policies=(.*)$/m.exec(stdout);
  if (code !== 0 || !match) throw new Error(`java Login failed (exit ${code}): ${stderr.split("\n").slice(0, 5).join("\n")}`);
  return { status: Number(match[1]), policies: match[2].split(",").filter((p) => p !== "") };
}

function run(command: string, args: string[], input: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * Logs in with the Java client ({@link javaLogin}) over and over, one JVM after
 * the other, until stopped, counting as {@link startLoginLoop} does. A JVM start
 * takes about a second here, so this loop is slower than the Node one; it proves
 * that the PKCS12 KeyStore path keeps working throughout.
 */
export function startJavaLoginLoop(dir: string, name: string, p12Path: string, password: string, server: TestServer, policy: string) {
  const started = Date.now();
  let attempts = 0;
  let ok = 0;
  let failed = 0;
  const failures: string[] = [];
  let last = started;
  let maxGapMs = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const now = Date.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      attempts++;
      try {
        const answer = await javaLogin(dir, p12Path, password, server);
        if (answer.status === 200 && answer.policies.includes(policy)) ok++;
        else throw new Error(`status ${answer.status}`);
      } catch (e) {
        failed++;
        if (failures.length < 10) failures.push(`${new Date().toISOString()} ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  })();
  return {
    /** Lets the login in flight end and returns the counts. */
    async stop(): Promise<LoopCounts> {
      stopping = true;
      await loop;
      const seconds = (Date.now() - started) / 1000;
      return { name, attempts, ok, failed, failures, seconds: Math.round(seconds * 10) / 10, rate: Math.round((attempts / seconds) * 10) / 10, maxGapMs };
    },
  };
}
