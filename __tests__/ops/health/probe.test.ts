import { X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { AddressInfo, Server, Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate } from "../../helpers/test-pki";
import { loadConfig } from "../../../lib/config";
import { ProbeContext, gradeExpiry, gradeRaft } from "../../../ops/health/checks";
import { ABORT_GRACE_MS, bounded, runProbe } from "../../../ops/health/probe";
import { CheckOutcome } from "../../../ops/health/report";
import { writeAtomically } from "../../../ops/health/textfile";
import { AutopilotState } from "../../../ops/vault/autopilot";

jest.setTimeout(30_000);

let dir: string;
let certificate: X509Certificate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-health-unit-"));
  certificate = selfSignedCertificate(dir, { cn: "t", days: 10 }).certificate;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86400;
const context = (overrides: Partial<ProbeContext> = {}): ProbeContext => ({
  endpoint: { addr: "https://127.0.0.1:1" },
  config: loadConfig({ env: { VAULT_ADDR: "https://127.0.0.1:1" }, cwd: dir }),
  p12File: join(dir, "missing.p12"),
  passwordFile: join(dir, "missing.password"),
  warnSeconds: 30 * DAY,
  critSeconds: 7 * DAY,
  checkTimeoutMs: 400,
  now: () => new Date(),
  ...overrides,
});

describe("certificate expiry against the windows", () => {
  const at = (daysBeforeExpiry: number) => () => new Date(Date.parse(certificate.validTo) - daysBeforeExpiry * DAY * 1000);
  test.each([
    [40, "OK"],
    [30, "WARN"],
    [8, "WARN"],
    [7, "CRIT"],
    [0, "CRIT"],
    [-1, "CRIT"],
  ])("%d days before expiry: %s", (days, state) => {
    const outcome = gradeExpiry(certificate, context({ now: at(days) }), "g", "cert");
    expect(outcome.state).toBe(state);
    expect(outcome.values).toEqual({ g: Date.parse(certificate.validTo) / 1000 });
  });

  test("the reasons say which window", () => {
    expect(gradeExpiry(certificate, context({ now: at(10) }), "g", "cert").reason).toMatch(
      /^cert expires .* \(10\.0 days left\), inside the warning window of 30d$/,
    );
    expect(gradeExpiry(certificate, context({ now: at(-1) }), "g", "cert").reason).toMatch(/^cert expired on /);
  });
});

describe("raft grading", () => {
  const state = (voters: number, failureTolerance: number, healthy = true): AutopilotState => ({
    healthy,
    failureTolerance,
    leader: "n0",
    voters: Array.from({ length: voters }, (_, i) => `n${i}`),
    servers: Object.fromEntries(
      Array.from({ length: voters }, (_, i) => [`n${i}`, { status: i === 0 ? "leader" : "voter", healthy: healthy || i !== 2, address: "" }]),
    ),
  });

  test("a single node: 1 voter, tolerance 0 is OK", () => {
    expect(gradeRaft(state(1, 0))).toEqual({
      state: "OK",
      reason: "single node: 1 voter, failure tolerance 0 (a single node has no redundancy to lose)",
      values: { raft_voters: 1, raft_failure_tolerance: 0, raft_healthy: 1 },
    });
  });
  test("three voters with tolerance 1 is OK", () => expect(gradeRaft(state(3, 1)).state).toBe("OK"));
  test("two voters with tolerance 0 is WARN: one more failure stops the cluster", () => {
    expect(gradeRaft(state(2, 0))).toMatchObject({ state: "WARN", reason: "2 voters, failure tolerance 0: losing one more voter stops the cluster" });
  });
  test("an unhealthy server is WARN and named", () => {
    expect(gradeRaft(state(3, 0, false))).toMatchObject({ state: "WARN", reason: "3 voters, failure tolerance 0; autopilot calls n2 unhealthy" });
  });
});

describe("every check is bounded in time", () => {
  test("a check that never settles on its own is ended by its signal and reported with the timeout's state", async () => {
    let aborted = false;
    const never = (signal: AbortSignal) =>
      new Promise<CheckOutcome>((_, reject) =>
        signal.addEventListener("abort", () => {
          aborted = true;
          reject(new Error("aborted"));
        }),
      );
    const result = await bounded("x", never, 200, "CRIT", "no answer");
    expect(aborted).toBe(true);
    expect(result).toMatchObject({ name: "x", state: "CRIT", reason: "no answer: no result within 1s", values: {} });
  });

  test("a check that ignores its signal is given up on after the grace period: the probe never hangs", async () => {
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate"] });
    try {
      const deaf = () => new Promise<CheckOutcome>(() => undefined);
      const pending = bounded("x", deaf, 1000, "CRIT", "no answer");
      await jest.advanceTimersByTimeAsync(1000 + ABORT_GRACE_MS);
      await expect(pending).resolves.toMatchObject({ state: "CRIT", reason: "no answer: no result within 1s" });
    } finally {
      jest.useRealTimers();
    }
  });

  test("a check that throws something unexpected is UNKNOWN with the first line of the error", async () => {
    const result = await bounded("x", () => Promise.reject(new Error("shape\nmore")), 1000, "CRIT", "late");
    expect(result).toMatchObject({ state: "UNKNOWN", reason: "the check failed: shape" });
  });

  describe("against a peer that accepts connections and never answers", () => {
    let blackHole: Server;
    const sockets: Socket[] = [];
    let closed = 0;
    beforeAll(async () => {
      blackHole = createServer((s) => {
        sockets.push(s);
        // Read and drop what arrives, so the peer's close is seen.
        s.resume();
        s.on("close", () => closed++);
      });
      await new Promise<void>((ok) => blackHole.listen(0, "127.0.0.1", ok));
    });
    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((ok) => blackHole.close(() => ok()));
    });

    test("every network check is CRIT within the timeout, and no connection is left open", async () => {
      const addr = `https://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      writeFileSync(join(dir, "b.p12"), "not a bundle");
      writeFileSync(join(dir, "b.password"), "x");
      const started = Date.now();
      const report = await runProbe({
        context: context({ endpoint: { addr }, adminToken: "t", p12File: join(dir, "b.p12"), passwordFile: join(dir, "b.password") }),
      });
      const states = Object.fromEntries(report.checks.map((c) => [c.name, c.state]));
      expect(states).toMatchObject({ tls: "CRIT", node: "CRIT", raft: "CRIT", audit: "CRIT" });
      for (const name of ["tls", "node", "raft", "audit"]) {
        expect(report.checks.find((c) => c.name === name)?.reason).toBe("the server did not answer in time: no result within 1s");
      }
      expect(report.exitCode).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Every aborted call closed its connection: the peer sees each one end.
      for (let i = 0; i < 100 && closed < sockets.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sockets.length).toBeGreaterThanOrEqual(4);
      expect(closed).toBe(sockets.length);
    });
  });
});

describe("the textfile", () => {
  test("is written 0644 whatever the umask, with no temporary file left", async () => {
    const out = mkdtempSync(join(dir, "prom-"));
    const file = join(out, "c42.prom");
    const previous = process.umask(0o077);
    try {
      await writeAtomically(file, "a 1\n");
      await writeAtomically(file, "a 2\n");
    } finally {
      process.umask(previous);
    }
    expect(readFileSync(file, "utf8")).toBe("a 2\n");
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(execFileSync("ls", ["-A", out]).toString()).toBe("c42.prom\n");
  });

  test("a missing directory rejects and leaves nothing", async () => {
    await expect(writeAtomically(join(dir, "no", "such", "c42.prom"), "a 1\n")).rejects.toThrow(/ENOENT/);
  });
});
