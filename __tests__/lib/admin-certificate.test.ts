import { TerraformOutput, Testing } from "cdktf";
import { PkiSecretBackendCert } from "@cdktf/provider-vault/lib/pki-secret-backend-cert";
import { AdminCertificate, AdminCertificateProps } from "../../lib/admin-certificate";
import { adminCertificateInScope } from "../helpers/scopes";
import { ref, resourceIds } from "../helpers/synth";

function synthCert(props: Partial<AdminCertificateProps> = {}) {
  let cert!: AdminCertificate;
  const synth = Testing.synthScope((scope) => {
    cert = adminCertificateInScope(scope, { cert: props }).cert;
    new TerraformOutput(scope, "certificate_pem", { value: cert.certificatePem });
    new TerraformOutput(scope, "private_key_pem", { value: cert.privateKeyPem, sensitive: true });
    new TerraformOutput(scope, "ca_chain_pem", { value: cert.caChainPem });
    new TerraformOutput(scope, "serial_number", { value: cert.serialNumber });
    new TerraformOutput(scope, "expiration", { value: cert.expiration });
  });
  const json = JSON.parse(synth);
  const { only } = resourceIds(json);
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
