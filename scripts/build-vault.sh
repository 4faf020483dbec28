#!/usr/bin/env bash
# Provides HashiCorp Vault, the seed's own server at its latest release the Go module proxy serves,
# for the integration tests that prove the life cycle against Vault itself. Only the tests need
# it: `npm run toolchain`, the demo and a deploy never pay for it.
#
# A `vault` on PATH is used when `vault version` says 1.21.x; otherwise the release is built from
# its Go module into the toolchain cache, keyed by version, so a second run only checks that the
# file is there.
#
# Writes $C42_CACHE/vault.env (C42_VAULT=<path>), which the tests read.
set -euo pipefail
# shellcheck source=scripts/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

# The newest patch release the proxy lists (`go list -m -versions github.com/hashicorp/vault`).
VAULT_VERSION=1.21.4
VAULT_MODULE=github.com/hashicorp/vault@v$VAULT_VERSION

provide_vault() {
  VAULT=$(from_path vault Vault 1.21.0 1.22.0) && return
  VAULT="$BIN/vault-$VAULT_VERSION/vault"
  if [ -x "$VAULT" ]; then log "vault $VAULT_VERSION cached"; return; fi
  need_go vault
  local dir work="$SRC/vault-$VAULT_VERSION"
  dir=$(module_dir "$VAULT_MODULE")
  writable_copy "$dir" "$work"
  # The one substitution: go.mod replaces api, api/auth/{approle,kubernetes,userpass} and sdk
  # with nested directories, which are separate modules missing from the root module's zip.
  # Dropping those replaces makes the go command fetch the tags go.mod already requires (api
  # v1.22.0, sdk v0.21.0, api/auth/approle v0.1.0, userpass v0.1.0, kubernetes v0.10.0), all
  # served by the proxy. No other line of go.mod or the source is changed.
  sed -i -E '/^replace github\.com\/hashicorp\/vault\/(api|sdk)[^ ]* =>/d' "$work/go.mod"
  mkdir -p "$(dirname "$VAULT")"
  go_build "vault-$VAULT_VERSION" "$work" "$VAULT" -ldflags "-X github.com/hashicorp/vault/version.GitCommit=v$VAULT_VERSION" .
  rm -rf "$work"
}

mkdir -p "$CACHE" "$BIN"
provide_vault
printf 'C42_VAULT=%s\n' "$VAULT" >"$CACHE/vault.env.tmp"
mv "$CACHE/vault.env.tmp" "$CACHE/vault.env"
log "ready: $CACHE/vault.env"
