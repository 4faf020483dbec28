import { TerraformOutput, Testing } from "cdktf";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { AdminCertificate, AdminCertificateProps } from "../lib/admin-certificate";
import { IntermediateCa, RootCa } from "../lib/ca-chain";
import { TunedPkiMount } from "../lib/pki-mount";
import { IssuingRole } from "../lib/pki-role";

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const ref = (type: string, id: string, attribute: string) => "${" + `${type}.${id}.${attribute}` + "}";

function synthCert(props: Partial<AdminCertificateProps> = {}) {
  let cert!: AdminCertificate;
  const synth = Testing.synthScope((scope) => {
    new VaultProvider(scope, "vault");
    const publicUrl = "https://vault.example.com:8200";
    const pki = new TunedPkiMount(scope, "pki", { path: "pki", maxLeaseTtl: "87600h", publicUrl });
    const pkiInt = new TunedPkiMount(scope, "pki_int", { path: "pki_int", maxLeaseTtl: "43800h", publicUrl });
    const root = new RootCa(scope, "rootCa", { mount: pki });
    const issuer = new IntermediateCa(scope, "intermediateCa", { mount: pkiInt, root });
    const role = new IssuingRole(scope, "role", { issuer });
    cert = new AdminCertificate(scope, "adminCert", { role, ...props });
    new TerraformOutput(scope, "certificate_pem", { value: cert.certificatePem });
    new TerraformOutput(scope, "private_key_pem", { value: cert.privateKeyPem, sensitive: true });
    new TerraformOutput(scope, "ca_chain_pem", { value: cert.caChainPem });
    new TerraformOutput(scope, "serial_number", { value: cert.serialNumber });
    new TerraformOutput(scope, "expiration", { value: cert.expiration });
  });
  const json = JSON.parse(synth);
  const only = (type: string) => {
    const ids = Object.keys((json.resource as Resources)[type] ?? {});
    if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
    return ids[0];
  };
  return { synth, json, cert, only };
}

describe("AdminCertificate with seed values", () => {
  const { synth, json, cert, only } = synthCert();
  const roleId = only("vault_pki_secret_backend_role");
  const certId = only("vault_pki_secret_backend_cert");

  test("is issued from cpRole on its mount (pki_int/issue/cpRole), by reference to the role", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, {
      backend: ref("vault_pki_secret_backend_role", roleId, "backend"),
      name: ref("vault_pki_secret_backend_role", roleId, "name"),
    });
  });

  test("has common name crashplan-admin and ttl 8760h", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, { common_name: "crashplan-admin", ttl: "8760h" });
    expect(cert.ttlSeconds).toBe(8760 * 3600);
  });

  test("is re-issued by a deploy within 30 days of expiry, revoking the old one", () => {
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, { auto_renew: true, min_seconds_remaining: 2592000, revoke: true });
    expect(cert.renewBeforeSeconds).toBe(2592000);
  });

  test("exposes certificate, key, chain, serial and expiry as references to the issued certificate", () => {
    const attr = (a: string) => ref("vault_pki_secret_backend_cert", certId, a);
    expect(json.output.certificate_pem.value).toBe(attr("certificate"));
    expect(json.output.private_key_pem.value).toBe(attr("private_key"));
    expect(json.output.ca_chain_pem.value).toBe(attr("ca_chain"));
    expect(json.output.serial_number.value).toBe(attr("serial_number"));
    expect(json.output.expiration.value).toBe(attr("expiration"));
  });
});

describe("AdminCertificate with non-default props", () => {
  test("common name, ttl and renewal window flow into the resource", () => {
    const { synth } = synthCert({ commonName: "backup-admin.example.com", ttl: "30d", renewBefore: "7d" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, {
      common_name: "backup-admin.example.com",
      ttl: "720h",
      min_seconds_remaining: 604800,
    });
  });

  test("a ttl equal to the intermediate's is accepted", () => {
    const { synth } = synthCert({ ttl: "43800h" });
    expect(synth).toHaveResourceWithProperties(PkiSecretBackendCert, { ttl: "43800h" });
  });
});
