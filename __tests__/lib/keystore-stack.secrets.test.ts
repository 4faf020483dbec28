import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { CLUSTER_OUTPUT } from "../../lib/cluster-identity-record";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

const FAKE_TOKEN = "hvs.UNITTEST-must-not-leak";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function walk(value: unknown, visit: (key: string, value: unknown, path: string) => void, path = ""): void {
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v, `${path}/${k}`);
      walk(v, visit, `${path}/${k}`);
    }
  }
}

describe("the synthesized stack holds no secret", () => {
  const dirs: string[] = [];
  let files: Record<string, string> = {};
  let stackJson: Record<string, unknown> = {};

  beforeAll(() => {
    const saved = process.env.VAULT_TOKEN;
    process.env.VAULT_TOKEN = FAKE_TOKEN;
    try {
      const cwd = mkdtempSync(join(tmpdir(), "keystore-secrets-"));
      const outdir = mkdtempSync(join(tmpdir(), "keystore-secrets-out-"));
      dirs.push(cwd, outdir);
      const app = Testing.app({ outdir });
      const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", VAULT_TOKEN: FAKE_TOKEN }, cwd });
      new KeystoreStack(app, KEYSTORE_STACK, { config });
      app.synth();
      files = Object.fromEntries(filesUnder(outdir).map((f) => [f, readFileSync(f, "utf8")]));
      stackJson = JSON.parse(files[join(outdir, "stacks", KEYSTORE_STACK, "cdk.tf.json")]);
    } finally {
      if (saved === undefined) delete process.env.VAULT_TOKEN;
      else process.env.VAULT_TOKEN = saved;
    }
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("synth wrote the stack (so the checks below look at something)", () => {
    expect(Object.keys(files).length).toBeGreaterThan(0);
    expect(stackJson).toHaveProperty("resource.vault_pki_secret_backend_cert");
  });

  test("no file holds the VAULT_TOKEN that was set during synth", () => {
    for (const [file, text] of Object.entries(files)) {
      expect({ file, leaks: text.includes(FAKE_TOKEN) || text.includes("UNITTEST-must-not-leak") }).toEqual({ file, leaks: false });
    }
  });

  test("no file holds anything shaped like a Vault token", () => {
    for (const text of Object.values(files)) {
      expect(text).not.toMatch(/\bhv[sbr]\.[A-Za-z0-9_-]{8,}/);
      expect(text).not.toMatch(/"s\.[A-Za-z0-9]{24}"/);
    }
  });

  test("no file holds a PEM block: no private key, no certificate", () => {
    for (const text of Object.values(files)) {
      expect(text).not.toContain("PRIVATE KEY");
      expect(text).not.toContain("-----BEGIN");
    }
  });

  test("no setting named token, password or secret carries a value", () => {
    const offenders: string[] = [];
    walk(stackJson, (key, _value, path) => {
      if (/^(token|vault_token|client_token|password|secret|secret_id|private_key|ca_cert_file|auth_login.*)$/i.test(key)) offenders.push(path);
    });
    expect(offenders).toEqual([]);
  });

  test("the provider block carries no credential: address, token and CA come from the environment at plan time", () => {
    expect((stackJson.provider as Record<string, unknown>).vault).toEqual([{ skip_child_token: true }]);
  });

  test("the key and the password only appear as references, in sensitive outputs", () => {
    const outputs = stackJson.output as Record<string, { value: unknown; sensitive?: boolean }>;
    for (const name of ["admin_private_key_pem", "crashplan_p12_password"]) {
      expect(outputs[name].sensitive).toBe(true);
      expect(outputs[name].value).toMatch(/^\$\{[a-z_]+\.[A-Za-z0-9_]+\.(private_key|result)\}$/);
    }
    for (const [name, output] of Object.entries(outputs)) {
      if (name === "admin_rotation_phase") expect(output.value).toBe("idle");
      else if (name === CLUSTER_OUTPUT)
        expect(output.value).toEqual({ tokenAccessor: expect.stringMatching(/^\$\{nonsensitive\(/), clusterId: "", clusterName: "" });
      // The issuer guard's records: issuer ids, in a list for the root.
      else if (name === "ca_root_issuer_ids") expect(output.value).toMatch(/^\$\{\[[a-z_]+\.[A-Za-z0-9_]+\.issuer_id\]\}$/);
      else expect(output.value).toMatch(/^\$\{[a-z_]+\.[A-Za-z0-9_]+\.[a-z_]+\}$/);
    }
  });

  test("the password is generated at apply time, never written as a literal", () => {
    const passwords = (stackJson.resource as Record<string, Record<string, Record<string, unknown>>>).random_password;
    for (const password of Object.values(passwords)) {
      expect(password).not.toHaveProperty("result");
      expect(password).not.toHaveProperty("override_special");
    }
  });
});
