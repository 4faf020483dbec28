import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOAD, loadMain } from "../../../ops/commands/load";
import { serverMain } from "../../../ops/commands/server";
import { LOAD_BOUNDS, checkBound, checkLoadAddress } from "../../../ops/load/load";
import { isNodeFailure } from "../../../ops/load/session";
import { longestGap, operationStats, percentile } from "../../../ops/load/stats";
import { VaultConnectionError } from "../../../ops/vault/client";
import { capture } from "../../helpers/io";

/*
 * Every bad option is refused with exit 2 and a message naming the option,
 * the value and what is expected, before a token is read or anything is
 * sent: the addresses here point at nothing.
 */
const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const { out, io } = capture();
  return { code: await loadMain(argv, io, env), ...out };
};

describe("load refuses a bad command line before it reads a token or sends anything", () => {
  test.each([
    [["--users", "0"], /--users: 0 is out of range; expected a whole number from 1 to 100000/],
    [["--users", "many"], /--users: "many" is not a whole number; expected 1 to 100000/],
    [["--users", "100001"], /--users: 100001 is out of range/],
    [["--reads-per-write", "1001"], /--reads-per-write: 1001 is out of range; expected a whole number from 0 to 1000/],
    [["--concurrency", "257"], /--concurrency: 257 is out of range; expected a whole number from 1 to 256/],
    [["--duration", "0"], /--duration: 0 is out of range; expected a whole number from 1 to 3600/],
    [["--duration", "1.5"], /--duration: "1.5" is not a whole number/],
    [["--prefix", "Bad/Prefix"], /--prefix: "Bad\/Prefix" is not a name/],
    [["--addr", "https://vault.example.com:8200"], /--addr: https:\/\/vault.example.com:8200 is not a loopback address;.*--allow-remote/],
    [["--addr", "https://10.0.0.5:8200"], /is not a loopback address/],
    [["--addr", "http://127.0.0.1:8200"], /--addr: http:\/\/127.0.0.1:8200 is not https/],
    [["--addr", "not a url"], /--addr: "not a url" is not a URL/],
    [["--ca", ""], /--ca: the path is empty/],
  ])("%j", async (argv, message) => {
    const r = await run(["--addr", "https://127.0.0.1:1", ...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("usage: load");
    expect(r.stdout).toBe("");
  });

  test("a non-loopback VAULT_ADDR is refused too, naming VAULT_ADDR", async () => {
    const r = await run([], { VAULT_ADDR: "https://vault.example.com:8200" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/VAULT_ADDR: https:\/\/vault.example.com:8200 is not a loopback address/);
  });

  test("without a token it says where one comes from; it never falls back to the admin certificate", async () => {
    const r = await run(["--addr", "https://127.0.0.1:1"], { HOME: "/nonexistent" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/load: no Vault token: set VAULT_TOKEN/);
  });

  test("--bundle and --password-file are gone: the load never logs in with crashplan.p12", async () => {
    for (const option of ["--bundle", "--password-file"]) {
      const r = await run(["--addr", "https://127.0.0.1:1", option, "x"]);
      expect([option, r.code, r.stderr]).toEqual([option, 2, expect.stringContaining(`Unknown option '${option}'`)]);
    }
  });

  test("no address at all is a usage error", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--addr: no address; give --addr or set VAULT_ADDR/);
  });

  test("--help explains every option", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const option of Object.keys(LOAD.options)) expect([option, r.stdout.includes(`--${option}`)]).toEqual([option, true]);
  });
});

describe("load addresses and bounds", () => {
  test.each(["https://127.0.0.1:8200", "https://127.1.2.3:8200", "https://localhost:8200", "https://[::1]:8200"])("%s is loopback", (addr) => {
    expect(checkLoadAddress("--addr", addr, false)).toBe(new URL(addr).origin);
  });

  test("--allow-remote accepts another host, still https only", () => {
    expect(checkLoadAddress("--addr", "https://vault.example.com:8200/", true)).toBe("https://vault.example.com:8200");
    expect(() => checkLoadAddress("--addr", "http://vault.example.com:8200", true)).toThrow(/is not https/);
  });

  test("a host that only starts like loopback is not loopback", () => {
    expect(() => checkLoadAddress("--addr", "https://127.0.0.1.example.com:8200", false)).toThrow(/not a loopback address/);
  });

  test("every bound is finite and checked", () => {
    for (const [name, bound] of Object.entries(LOAD_BOUNDS)) {
      expect(checkBound(name, bound.max, bound)).toBe(bound.max);
      expect(() => checkBound(name, bound.max + 1, bound)).toThrow(`${name}: ${bound.max + 1} is out of range`);
      expect(() => checkBound(name, bound.min - 1, bound)).toThrow(/out of range/);
    }
  });

  test("a node failure is a transport error or a 5xx, not a refusal", () => {
    expect(isNodeFailure(new VaultConnectionError("refused", "ECONNREFUSED"))).toBe(true);
    expect(isNodeFailure({ status: 503, json: {} })).toBe(true);
    expect(isNodeFailure({ status: 500, json: {} })).toBe(true);
    expect(isNodeFailure({ status: 403, json: {} })).toBe(false);
    expect(isNodeFailure({ status: 204, json: undefined })).toBe(false);
  });
});

describe("load figures", () => {
  test("nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99), percentile(values, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  test("operation stats count failures but time only successes", () => {
    expect(operationStats([30, 10, 20], 2, 2)).toEqual({ count: 5, ok: 3, failed: 2, perSecond: 1.5, p50: 20, p95: 30, p99: 30, max: 30 });
  });

  test("the longest gap is between successive successes, in any order", () => {
    expect(longestGap([1000, 1100, 4100, 4200])).toBe(3000);
    expect(longestGap([4200, 1000, 4100, 1100])).toBe(3000);
    expect(longestGap([5])).toBe(0);
  });
});

describe("server start refuses a bad cluster size or multiplier before it creates anything", () => {
  let parent: string;
  beforeAll(() => (parent = mkdtempSync(join(tmpdir(), "c42-server-args-"))));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  test.each([
    [["--nodes", "2"], /--nodes: 2 is not a cluster size; expected an odd number from 1 to 5/],
    [["--nodes", "7"], /--nodes: 7 is not a cluster size/],
    [["--nodes", "three"], /--nodes: "three" is not a whole number/],
    [["--nodes", "3", "--performance-multiplier", "0"], /--performance-multiplier: 0 is not a raft performance multiplier; expected an integer from 1/],
    [["--nodes", "3", "--performance-multiplier", "11"], /--performance-multiplier: 11 is not/],
    [["--performance-multiplier", "5"], /--performance-multiplier: only a cluster \(--nodes 3 or 5\) takes it/],
  ])("%j", async (argv, message) => {
    const dir = join(parent, "never-made");
    const { out, io } = capture();
    const code = await serverMain(["start", "--dir", dir, ...argv], io);
    expect(code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toContain("usage: server start");
    expect(existsSync(dir)).toBe(false);
  });
});
