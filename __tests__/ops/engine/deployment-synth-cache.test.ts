import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../../ops/engine/deployment";
import { SYNTH_CACHE_DIR } from "../../../ops/engine/synth-cache";

// The real synth through Deployment, as every command runs it; no engine runs (synth needs none).
let work: string;
const deployment = (extra: Record<string, string> = {}) =>
  new Deployment({
    env: { PATH: process.env.PATH, VAULT_ADDR: "https://127.0.0.1:8200", C42_STATE_DIR: join(work, "state"), ...extra },
    projectDir: work,
    outdir: join(work, "cdktf.out"),
    engine: { kind: "tofu", version: "1.10.10", binary: "/nonexistent/tofu", foundBy: "test" },
    providers: { kind: "registry" },
  });
const synthesized = (d: Deployment) => readFileSync(d.synth(), "utf8");
const json = (d: Deployment) => JSON.parse(synthesized(d));
const roleOf = (stack: { resource: Record<string, Record<string, Record<string, unknown>>> }) => Object.values(stack.resource.vault_cert_auth_backend_role)[0];

beforeEach(() => (work = mkdtempSync(join(tmpdir(), "c42-deployment-synth-cache-"))));
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe("Deployment.synth reuses the JSON while every input is unchanged", () => {
  test("the second command reuses it, byte for byte what a synth writes", () => {
    const first = deployment();
    const text = synthesized(first);
    expect(first.lastSynthOutcome).toBe("synthesized");
    const second = deployment();
    expect(synthesized(second)).toBe(text);
    expect(second.lastSynthOutcome).toBe("reused");
    // The same as a synth with no cache at all.
    rmSync(join(work, "cdktf.out"), { recursive: true });
    const fresh = deployment();
    expect(synthesized(fresh)).toBe(text);
    expect(fresh.lastSynthOutcome).toBe("synthesized");
  });

  test("an edit of the config file (same size, same modification time) is synthesized and shows", () => {
    const file = join(work, "keystore.config.json");
    writeFileSync(file, JSON.stringify({ certRole: { tokenTtl: "1h" } }));
    const time = new Date(1_700_000_000_000);
    utimesSync(file, time, time);
    expect(roleOf(json(deployment())).token_ttl).toBe(3600);
    writeFileSync(file, JSON.stringify({ certRole: { tokenTtl: "2h" } }));
    utimesSync(file, time, time);
    const next = deployment();
    expect(roleOf(json(next)).token_ttl).toBe(7200);
    expect(next.lastSynthOutcome).toBe("synthesized");
  });

  test("a changed C42_* value is synthesized and shows; going back reuses the first JSON", () => {
    const one = synthesized(deployment({ C42_CERT_ROLE_TOKEN_TTL: "1h" }));
    const two = deployment({ C42_CERT_ROLE_TOKEN_TTL: "3h" });
    expect(roleOf(json(two)).token_ttl).toBe(10800);
    expect(two.lastSynthOutcome).toBe("synthesized");
    const back = deployment({ C42_CERT_ROLE_TOKEN_TTL: "1h" });
    expect(synthesized(back)).toBe(one);
    expect(back.lastSynthOutcome).toBe("reused");
  });

  test("a record the stack is built from (the cluster the command read) is synthesized and shows", () => {
    const d = deployment();
    d.synth();
    d.useCluster({ tokenAccessor: "auth_token_1234abcd", clusterId: "11111111-2222-3333-4444-555555555555", clusterName: "vault-cluster-a" });
    expect(d.lastSynthOutcome).toBe("synthesized");
    expect(readFileSync(join(d.stackDir, "cdk.tf.json"), "utf8")).toContain("vault-cluster-a");
    // Another command reading the same cluster reuses it.
    const again = deployment();
    again.synth();
    again.useCluster({ tokenAccessor: "auth_token_1234abcd", clusterId: "11111111-2222-3333-4444-555555555555", clusterName: "vault-cluster-a" });
    expect(again.lastSynthOutcome).toBe("reused");
  });

  test("an unwritable cache directory: every synth runs and writes the right JSON", () => {
    const text = synthesized(deployment());
    rmSync(join(work, "cdktf.out", SYNTH_CACHE_DIR), { recursive: true });
    writeFileSync(join(work, "cdktf.out", SYNTH_CACHE_DIR), "in the way");
    const d = deployment();
    expect(synthesized(d)).toBe(text);
    expect(d.lastSynthOutcome).toBe("synthesized");
  });

  test("with state encryption, neither the JSON nor the cache holds the passphrase or the token", () => {
    const passphrase = "correct horse battery staple 42";
    const token = "hvs.synthcacheTestToken0123456789";
    const d = deployment({ C42_STATE_PASSPHRASE: passphrase, VAULT_TOKEN: token });
    expect(synthesized(d)).not.toContain(passphrase);
    expect(readFileSync(join(d.stackDir, "cdk.tf.json"), "utf8")).not.toContain(token);
    const cache = join(work, "cdktf.out", SYNTH_CACHE_DIR);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(cache)) {
      expect(readFileSync(join(cache, name), "utf8")).not.toContain(passphrase);
      expect(readFileSync(join(cache, name), "utf8")).not.toContain(token);
      expect(statSync(join(cache, name)).mode & 0o777).toBe(0o600);
    }
  });
});
