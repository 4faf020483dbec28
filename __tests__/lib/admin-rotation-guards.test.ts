import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { NEXT_SLOT_ADDRESSES } from "../../lib/admin-rotation";
import { RotationInput } from "../../lib/admin-rotation-phase";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";

type Condition = { condition: string; error_message: string };
type Lifecycle = { ignore_changes?: string[]; postcondition?: Condition[] };
type Json = { resource: Record<string, Record<string, { lifecycle?: Lifecycle } & Record<string, unknown>>>; locals?: Record<string, string> };

const cwd = mkdtempSync(join(tmpdir(), "admin-rotation-guards-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function synth(rotation: RotationInput, env: Record<string, string> = {}) {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  const json = JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, rotation }))) as Json;
  return { json: withLocalsResolved(json) };
}

/**
 * The JSON with each `local.<name>` a guard wrote replaced by its value (as an
 * HCL string in an expression, as text in a message), so that expectations read
 * as the engine evaluates them. The locals themselves are checked once, below.
 */
function withLocalsResolved(json: Json): Json {
  const locals = json.locals ?? {};
  const resolve = (text: string) =>
    text
      .replace(/\$\{local\.([A-Za-z0-9_]+)\}/g, (_, name: string) => locals[name])
      .replace(/local\.([A-Za-z0-9_]+)/g, (_, name: string) => JSON.stringify(locals[name]));
  const resolved = JSON.parse(JSON.stringify(json), (key, value: unknown) => (typeof value === "string" && key !== "" ? resolve(value) : value)) as Json;
  return resolved;
}
const local = (address: string) => address.slice(address.indexOf(".") + 1);
const NEXT_CERT = local(NEXT_SLOT_ADDRESSES.certificate);
const NEXT_ROLE = local(NEXT_SLOT_ADDRESSES.role);
const CERT_ROLE = "certRole_role_F2BC382E";
const ADMIN_CERT = "adminCert_certificate_E65F5734";
const AUTH = "certAuth_backend_E3AD8DCF";
const PKI_ROLE = "vault_pki_secret_backend_role.role_3D9F059D";

const lifecycleOf = (json: Json, type: string, id: string): Lifecycle => json.resource[type][id].lifecycle ?? {};
const cert = (json: Json, id = ADMIN_CERT) => lifecycleOf(json, "vault_pki_secret_backend_cert", id);
const role = (json: Json, id = CERT_ROLE) => lifecycleOf(json, "vault_cert_auth_backend_role", id);
const auth = (json: Json) => lifecycleOf(json, "vault_auth_backend", AUTH);
const conditions = (l: Lifecycle) => (l.postcondition ?? []).map((p) => p.condition);
/** The refusal whose condition compares `attribute`. */
const refusal = (l: Lifecycle, attribute: string) => {
  const found = (l.postcondition ?? []).filter((p) => p.condition.includes(`self.${attribute} ==`));
  if (found.length !== 1) throw new Error(`expected one postcondition on ${attribute}, found ${found.length}`);
  return found[0].error_message;
};

const CERT_KEPT = ["common_name", "ttl", "name", "backend"];
const ROLE_KEPT = ["name", "backend"];
const MOUNT_MOVES = {
  cert: `\${(self.backend == ${PKI_ROLE}.backend)}`,
  role: `\${(self.backend == vault_auth_backend.${AUTH}.path)}`,
};

describe("two-phase: a config edit never replaces the certificate or the role Code42 logs in with", () => {
  test("idle: the current certificate keeps its live common name, TTL, role and mount, and refuses a configuration that differs, naming the setting, both values and rotate start", () => {
    const { json } = synth({ phase: "idle" }, { C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2", C42_ADMIN_CERT_TTL: "2160h", C42_ROLE_NAME: "cpRole2" });
    expect(json.resource.vault_pki_secret_backend_cert[ADMIN_CERT]).toMatchObject({ common_name: "crashplan-admin-2", ttl: "2160h" });
    expect(cert(json).ignore_changes).toEqual(CERT_KEPT);
    expect(conditions(cert(json))).toEqual([
      MOUNT_MOVES.cert,
      '${(self.common_name == "crashplan-admin-2")}',
      '${(self.ttl == "2160h")}',
      `\${(self.name == ${PKI_ROLE}.name)}`,
    ]);
    expect(refusal(cert(json), "common_name")).toBe(
      'adminCert.commonName: the admin certificate Code42 logs in with has common name "${self.common_name}", and the configuration says "crashplan-admin-2". ' +
        "Changing it would replace that certificate in place and lock Code42 out, so this plan is refused and nothing was applied. " +
        "Run `npm run rotate -- start` to issue the next certificate with the new value beside it (then `npm run bundle`, upload the bundle to Code42 and run `npm run rotate -- finish`), " +
        'or set adminCert.commonName back to "${self.common_name}".',
    );
    expect(refusal(cert(json), "ttl")).toMatch(
      /^adminCert\.ttl: the admin certificate Code42 logs in with has TTL "\$\{self\.ttl\}", and the configuration says "2160h"\. .*`npm run rotate -- start`/,
    );
    expect(refusal(cert(json), "name")).toMatch(
      new RegExp(
        `^role\\.name: the admin certificate Code42 logs in with has issuing role "\\$\\{self\\.name\\}", and the configuration says "\\$\\{${PKI_ROLE.replace(/\./g, "\\.")}\\.name\\}"\\. .*\`npm run rotate -- start\``,
      ),
    );
    expect(refusal(cert(json), "backend")).toMatch(
      /^pki_int\.path: .* a rotation cannot carry the move, so this plan is refused and nothing was applied\. Set pki_int\.path back to "\$\{self\.backend\}"\.$/,
    );
  });

  test("idle: crashplanUser keeps its name and method; a rename is refused naming rotate start, a new certAuth.path is refused in every phase", () => {
    const { json } = synth({ phase: "idle" }, { C42_CERT_ROLE_NAME: "code42User" });
    expect(role(json).ignore_changes).toEqual(ROLE_KEPT);
    expect(conditions(role(json))).toEqual([MOUNT_MOVES.role, '${(self.name == "code42User")}']);
    expect(refusal(role(json), "name")).toBe(
      'certRole.name: the role Code42 logs in through has name "${self.name}", and the configuration says "code42User". ' +
        "Renaming it deletes and re-creates the role, and Code42 cannot log in in between, so this plan is refused and nothing was applied. " +
        'Run `npm run rotate -- start`: the next certificate logs in through "code42User-next", and "code42User" takes over when you run `npm run rotate -- finish` after uploading its bundle; ' +
        'or set certRole.name back to "${self.name}".',
    );
    for (const rotation of [{ phase: "idle" }, { phase: "started", recorded: "idle" }, { phase: "finishing", recorded: "started" }] as RotationInput[]) {
      const a = auth(synth(rotation, { C42_CERT_AUTH_PATH: "cert2" }).json);
      expect(a.ignore_changes).toEqual(["path"]);
      expect(conditions(a)).toEqual(['${(self.path == "cert2")}']);
      expect(refusal(a, "path")).toBe(
        'certAuth.path: Code42 logs in at auth/${self.path}/login, and the configuration moves the cert auth method to "cert2". ' +
          "Code42 would be locked out until its own settings name the new path, and a rotation cannot avoid that, so this plan is refused and nothing was applied. " +
          'Set certAuth.path back to "${self.path}".',
      );
    }
  });

  test("rotate start (started after idle): the current slot keeps its live values and refuses only a mount move; the next slot is built from the configuration", () => {
    const { json } = synth({ phase: "started", recorded: "idle" }, { C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2", C42_CERT_ROLE_NAME: "code42User" });
    expect(cert(json).ignore_changes).toEqual(CERT_KEPT);
    expect(conditions(cert(json))).toEqual([MOUNT_MOVES.cert]);
    expect(role(json).ignore_changes).toEqual(ROLE_KEPT);
    expect(conditions(role(json))).toEqual([MOUNT_MOVES.role]);
    expect(json.resource.vault_pki_secret_backend_cert[NEXT_CERT]).toMatchObject({ common_name: "crashplan-admin-2" });
    expect(json.resource.vault_cert_auth_backend_role[NEXT_ROLE]).toMatchObject({ name: "code42User-next" });
    expect(conditions(cert(json, NEXT_CERT))).toEqual([MOUNT_MOVES.cert]);
    // A rename from "a-next" to "a" would write the next certificate into the live role.
    expect(conditions(role(json, NEXT_ROLE))).toEqual([MOUNT_MOVES.role, `\${(lower(self.name) != lower(vault_cert_auth_backend_role.${CERT_ROLE}.name))}`]);
    expect(role(json, NEXT_ROLE).postcondition?.[1].error_message).toBe(
      'certRole.name: the rotation would let the next certificate log in through role "${self.name}", and that is the role Code42 logs in through now, ' +
        'so this plan is refused and nothing was applied. Rename it in two rotations, first to a name whose "-next" role is not in use, then to the one you want; ' +
        `or set certRole.name back to "\${vault_cert_auth_backend_role.${CERT_ROLE}.name}".`,
    );
  });

  test("started (a deploy during the rotation): the next certificate and its role refuse an edit, naming finish and abort; the current slot only keeps its values", () => {
    const { json } = synth({ phase: "started" }, { C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-3" });
    expect(conditions(cert(json))).toEqual([MOUNT_MOVES.cert]);
    expect(cert(json, NEXT_CERT).ignore_changes).toEqual(CERT_KEPT);
    expect(conditions(cert(json, NEXT_CERT))).toContain('${(self.common_name == "crashplan-admin-3")}');
    expect(refusal(cert(json, NEXT_CERT), "common_name")).toBe(
      'adminCert.commonName: the next certificate of the rotation in progress has common name "${self.common_name}", and the configuration says "crashplan-admin-3". ' +
        "Changing it would replace it in place, and Code42 may hold that certificate already, so this plan is refused and nothing was applied. " +
        "Finish the rotation (`npm run rotate -- finish`) or abort it (`npm run rotate -- abort`), then run `npm run rotate -- start` for the new value; or set adminCert.commonName back.",
    );
    expect(role(json, NEXT_ROLE).ignore_changes).toEqual(ROLE_KEPT);
    expect(conditions(role(json, NEXT_ROLE))).toContain('${(self.name == "crashplanUser-next")}');
    expect(refusal(role(json, NEXT_ROLE), "name")).toMatch(
      /^certRole\.name: the role the next certificate logs in through has name "\$\{self\.name\}", and the configuration says "crashplanUser-next"\. .*`npm run rotate -- abort`/,
    );
  });

  test("finish and abort carry no refusal of an edit: crashplanUser is re-pointed under its configured name; the next slot keeps its values", () => {
    const finishing = synth({ phase: "finishing", recorded: "started" }, { C42_CERT_ROLE_NAME: "code42User" }).json;
    expect(role(finishing).ignore_changes).toBeUndefined();
    expect(conditions(role(finishing))).toEqual([MOUNT_MOVES.role]);
    expect(finishing.resource.vault_cert_auth_backend_role[CERT_ROLE]).toMatchObject({ name: "code42User" });
    expect(cert(finishing, NEXT_CERT).ignore_changes).toEqual(CERT_KEPT);
    expect(conditions(cert(finishing, NEXT_CERT))).toEqual([MOUNT_MOVES.cert]);
    expect(conditions(role(finishing, NEXT_ROLE))).toEqual([MOUNT_MOVES.role]);
    for (const recorded of ["finishing", "started"] as const) {
      const { json } = synth({ phase: "idle", recorded }, { C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2" });
      expect(cert(json).ignore_changes).toEqual(CERT_KEPT);
      expect(conditions(cert(json))).toEqual([MOUNT_MOVES.cert]);
      expect(conditions(role(json))).toEqual([MOUNT_MOVES.role]);
    }
  });

  test("a configured literal is written as a plain string of its own (a local), never inside an expression", () => {
    const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", C42_ADMIN_CERT_COMMON_NAME: 'Code42 "admin" \\ 1' }, cwd });
    const json = JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, rotation: { phase: "idle" } }))) as Json;
    const [name] = Object.entries(json.locals ?? {}).find(([, v]) => v === 'Code42 "admin" \\ 1') ?? [];
    expect(name).toMatch(/^adminCert_certificate_configured_common_name_[0-9A-F]{8}$/);
    expect(conditions(cert(json))).toContain(`\${(self.common_name == local.${name})}`);
    expect(refusal(cert(json), "common_name")).toContain(`the configuration says "\${local.${name}}"`);
  });
});

test("one-step keeps its documented behaviour: no kept values and no refusals, a config edit replaces the certificate in place", () => {
  const { json } = synth({ phase: "idle" }, { C42_ADMIN_CERT_ROTATION: "one-step", C42_ADMIN_CERT_COMMON_NAME: "crashplan-admin-2" });
  expect(json.resource.vault_pki_secret_backend_cert[ADMIN_CERT]).not.toHaveProperty("lifecycle");
  expect(json.resource.vault_cert_auth_backend_role[CERT_ROLE]).not.toHaveProperty("lifecycle");
  expect(json.resource.vault_auth_backend[AUTH]).not.toHaveProperty("lifecycle");
});
