# The keystore written by hand: the same 15 resources `npm run deploy` makes with the default settings
# (Code42's recipe), for `npm run bench` to apply with the same engine, provider mirror and server.
# The provider reads VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT from the environment.

terraform {
  required_providers {
    vault  = { source = "hashicorp/vault", version = "5.9.0" }
    random = { source = "hashicorp/random", version = "3.9.0" }
  }
}

variable "base_url" {
  type        = string
  description = "Base of the issuing-certificate and CRL URLs (the server's address)"
}

provider "vault" {
  skip_child_token = true
}

resource "vault_mount" "kv" {
  path        = "secret"
  type        = "kv"
  options     = { version = "1" }
  description = "Code42 keystore secrets (kv version 1)"
}

resource "vault_auth_backend" "cert" {
  path        = "cert"
  type        = "cert"
  description = "Code42 keystore: TLS client certificate login"
  tune {
    default_lease_ttl = "1m"
  }
}

resource "vault_mount" "pki" {
  path                  = "pki"
  type                  = "pki"
  max_lease_ttl_seconds = 315360000
  description           = "Code42 keystore PKI (pki)"
  lifecycle {
    prevent_destroy = true
  }
}

resource "vault_pki_secret_backend_config_urls" "pki" {
  backend                 = vault_mount.pki.path
  issuing_certificates    = ["${var.base_url}/v1/pki/ca"]
  crl_distribution_points = ["${var.base_url}/v1/pki/crl"]
}

resource "vault_pki_secret_backend_root_cert" "root" {
  backend     = vault_mount.pki.path
  type        = "internal"
  common_name = "example.com"
  ttl         = "87600h"
  lifecycle {
    prevent_destroy = true
  }
}

resource "vault_mount" "pki_int" {
  path                  = "pki_int"
  type                  = "pki"
  max_lease_ttl_seconds = 157680000
  description           = "Code42 keystore PKI (pki_int)"
}

resource "vault_pki_secret_backend_config_urls" "pki_int" {
  backend                 = vault_mount.pki_int.path
  issuing_certificates    = ["${var.base_url}/v1/pki_int/ca"]
  crl_distribution_points = ["${var.base_url}/v1/pki_int/crl"]
}

resource "vault_pki_secret_backend_intermediate_cert_request" "intermediate" {
  backend     = vault_mount.pki_int.path
  type        = "internal"
  common_name = "example.com Intermediate Authority"
}

resource "vault_pki_secret_backend_root_sign_intermediate" "intermediate" {
  backend     = vault_mount.pki.path
  issuer_ref  = vault_pki_secret_backend_root_cert.root.issuer_id
  csr         = vault_pki_secret_backend_intermediate_cert_request.intermediate.csr
  common_name = "example.com Intermediate Authority"
  format      = "pem_bundle"
  ttl         = "43800h"
}

resource "vault_pki_secret_backend_intermediate_set_signed" "intermediate" {
  backend     = vault_mount.pki_int.path
  certificate = vault_pki_secret_backend_root_sign_intermediate.intermediate.certificate
}

resource "vault_pki_secret_backend_role" "cpRole" {
  backend          = vault_mount.pki_int.path
  name             = "cpRole"
  allow_any_name   = true
  allow_subdomains = true
  client_flag      = true
  depends_on       = [vault_pki_secret_backend_intermediate_set_signed.intermediate]
}

resource "vault_pki_secret_backend_cert" "admin" {
  backend     = vault_pki_secret_backend_role.cpRole.backend
  name        = vault_pki_secret_backend_role.cpRole.name
  common_name = "crashplan-admin"
  ttl         = "8760h"
  revoke      = true
}

resource "vault_policy" "crashplanPolicy" {
  name   = "crashplanPolicy"
  policy = <<-EOT
    path "${vault_mount.pki.path}/issue/*" {
      capabilities = ["create", "read", "update", "delete", "list"]
    }

    path "sys/policy/*" {
      capabilities = ["create", "read", "update", "delete", "list"]
    }

    path "auth/${vault_auth_backend.cert.path}/certs/*" {
      capabilities = ["create", "read", "update", "delete", "list"]
    }
  EOT
}

resource "vault_cert_auth_backend_role" "crashplanUser" {
  backend        = vault_auth_backend.cert.path
  name           = "crashplanUser"
  display_name   = "crashplanUser"
  certificate    = vault_pki_secret_backend_cert.admin.certificate
  token_policies = [vault_policy.crashplanPolicy.name]
  token_ttl      = 60
}

resource "random_password" "bundle" {
  length      = 32
  special     = false
  min_lower   = 1
  min_upper   = 1
  min_numeric = 1
  keepers = {
    certificate_serial = vault_pki_secret_backend_cert.admin.serial_number
  }
}

output "admin_certificate_pem" {
  value = vault_pki_secret_backend_cert.admin.certificate
}

output "admin_private_key_pem" {
  value     = vault_pki_secret_backend_cert.admin.private_key
  sensitive = true
}

output "crashplan_p12_password" {
  value     = random_password.bundle.result
  sensitive = true
}
