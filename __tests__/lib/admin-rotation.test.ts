import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadConfig } from "../../lib/config";
import { NEXT_SLOT_ADDRESSES } from "../../lib/admin-rotation";
import { RotationInput } from "../../lib/admin-rotation-phase";
import { KeystoreStack } from "../../lib/keystore-stack";
import { KEYSTORE_STACK } from "../../lib/stack-name";
import { ref, resourceIds } from "../helpers/synth";

type Json = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown; sensitive?: boolean }>;
  moved?: { from: string; to: string }[];
};

const cwd = mkdtempSync(join(tmpdir(), "admin-rotation-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function synth(rotation: RotationInput, env: Record<string, string> = {}) {
  const config = loadConfig({ env: { VAULT_ADDR: "https://vault.example.com:8200", ...env }, cwd });
  const json = JSON.parse(Testing.synth(new KeystoreStack(Testing.app(), KEYSTORE_STACK, { config, rotation }))) as Json;
  return { json, ...resourceIds(json) };
}
const name = (address: string) => address.slice(address.indexOf(".") + 1);
const NEXT_CERT = name(NEXT_SLOT_ADDRESSES.certificate);
const NEXT_PASSWORD = name(NEXT_SLOT_ADDRESSES.password);
const NEXT_ROLE = name(NEXT_SLOT_ADDRESSES.role);
const certs = (j: Json) => j.resource.vault_pki_secret_backend_cert;
const roles = (j: Json) => j.resource.vault_cert_auth_backend_role;
/** A resource's attributes without its lifecycle (the guards of admin-rotation-guards.test.ts differ by phase). */
const attributes = ({ lifecycle, ...rest }: Record<string, unknown>) => (void lifecycle, rest);
const allAttributes = (resources: Json["resource"]) =>
  Object.fromEntries(Object.entries(resources).map(([type, byId]) => [type, Object.fromEntries(Object.entries(byId).map(([id, r]) => [id, attributes(r)]))]));

describe("the admin certificate in two slots", () => {
  const idle = synth({ phase: "idle" });
  const current = idle.idOf("vault_pki_secret_backend_cert");
  const currentRole = idle.idOf("vault_cert_auth_backend_role");
  const currentPassword = idle.idOf("random_password");

  test("idle: one certificate pinned by crashplanUser, never re-issued in place, the phase recorded as an output", () => {
    expect(Object.keys(certs(idle.json))).toEqual([current]);
    expect(certs(idle.json)[current]).toMatchObject({ auto_renew: false, min_seconds_remaining: 0, revoke: true });
    expect(Object.values(roles(idle.json))).toEqual([
      expect.objectContaining({ name: "crashplanUser", certificate: ref("vault_pki_secret_backend_cert", current, "certificate") }),
    ]);
    expect(idle.json.output.admin_rotation_phase.value).toBe("idle");
    expect(idle.json.output).not.toHaveProperty("admin_next_certificate_serial");
    expect(idle.json.moved).toBeUndefined();
  });

  test("started: the current slot is untouched; the next certificate has its own role with the same policies and TTL, password and outputs", () => {
    const { json } = synth({ phase: "started" });
    expect(Object.keys(certs(json)).sort()).toEqual([current, NEXT_CERT].sort());
    expect(attributes(certs(json)[current])).toEqual(attributes(certs(idle.json)[current]));
    expect(certs(json)[NEXT_CERT]).toMatchObject({ common_name: "crashplan-admin", ttl: "8760h", auto_renew: false, revoke: true });
    expect(attributes(roles(json)[currentRole])).toEqual(attributes(roles(idle.json)[currentRole]));
    const { certificate, name: roleName, display_name, ...rest } = attributes(roles(json)[NEXT_ROLE]);
    const { certificate: c, name: n, display_name: dn, ...currentRest } = attributes(roles(json)[currentRole]);
    expect([c, n, dn]).toEqual([ref("vault_pki_secret_backend_cert", current, "certificate"), "crashplanUser", "crashplanUser"]);
    expect([certificate, roleName, display_name]).toEqual([
      ref("vault_pki_secret_backend_cert", NEXT_CERT, "certificate"),
      "crashplanUser-next",
      "crashplanUser-next",
    ]);
    expect(rest).toEqual(currentRest);
    expect(rest).toMatchObject({ token_ttl: 60, token_policies: [expect.stringContaining("vault_policy.")] });
    expect(json.resource.random_password[NEXT_PASSWORD]).toMatchObject({
      keepers: { certificate_serial: ref("vault_pki_secret_backend_cert", NEXT_CERT, "serial_number") },
    });
    expect(json.output.admin_certificate_serial.value).toBe(ref("vault_pki_secret_backend_cert", current, "serial_number"));
    expect(json.output.admin_next_certificate_serial.value).toBe(ref("vault_pki_secret_backend_cert", NEXT_CERT, "serial_number"));
    expect(json.output.admin_next_private_key_pem).toMatchObject({ value: ref("vault_pki_secret_backend_cert", NEXT_CERT, "private_key"), sensitive: true });
    expect(json.output.crashplan_next_p12_password).toMatchObject({ value: ref("random_password", NEXT_PASSWORD, "result"), sensitive: true });
    expect(json.output.admin_rotation_phase.value).toBe("started");
  });

  test("finishing: the old certificate is gone and both roles pin the next one, whose bundle is now the current bundle", () => {
    const { json } = synth({ phase: "finishing", recorded: "started" });
    expect(Object.keys(certs(json))).toEqual([NEXT_CERT]);
    expect(roles(json)[currentRole]).toMatchObject({ name: "crashplanUser", certificate: ref("vault_pki_secret_backend_cert", NEXT_CERT, "certificate") });
    expect(roles(json)[NEXT_ROLE]).toMatchObject({ name: "crashplanUser-next", certificate: ref("vault_pki_secret_backend_cert", NEXT_CERT, "certificate") });
    expect(Object.keys(json.resource.random_password)).toEqual([NEXT_PASSWORD]);
    expect(json.output.admin_certificate_serial.value).toBe(ref("vault_pki_secret_backend_cert", NEXT_CERT, "serial_number"));
    expect(json.output.crashplan_p12_password.value).toBe(ref("random_password", NEXT_PASSWORD, "result"));
    expect(json.output).not.toHaveProperty("admin_next_certificate_serial");
    expect(json.moved).toBeUndefined();
  });

  test("idle after finishing: the next slot's certificate and password move onto the current slot's addresses (no change in Vault)", () => {
    const { json } = synth({ phase: "idle", recorded: "finishing" });
    expect(json.moved).toEqual([
      { from: NEXT_SLOT_ADDRESSES.certificate, to: `vault_pki_secret_backend_cert.${current}` },
      { from: NEXT_SLOT_ADDRESSES.password, to: `random_password.${currentPassword}` },
    ]);
    expect(allAttributes(json.resource)).toEqual(allAttributes(idle.json.resource));
  });

  test("abort (idle after started) moves nothing: the next slot is destroyed", () => {
    expect(synth({ phase: "idle", recorded: "started" }).json.moved).toBeUndefined();
  });

  test("adminCert.rotation one-step: an idle certificate is re-issued in place inside the window; during a rotation it is not", () => {
    const oneStep = { C42_ADMIN_CERT_ROTATION: "one-step" };
    expect(certs(synth({ phase: "idle" }, oneStep).json)[current]).toMatchObject({ auto_renew: true, min_seconds_remaining: 30 * 86400 });
    const started = certs(synth({ phase: "started" }, oneStep).json);
    expect(started[current]).toMatchObject({ auto_renew: false, min_seconds_remaining: 0 });
    expect(started[NEXT_CERT]).toMatchObject({ auto_renew: false, min_seconds_remaining: 0 });
  });
});
