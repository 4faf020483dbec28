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

# Substitution 2 (measured: without it the build stops at package vault with
#   vault/identity_store.go:119:19: cannot use iStore.activateDeduplication (value of type func(ctx "context".Context,
#     req *logical.Request) error) as func("context".Context, *logical.Request, string) error value in struct literal
#   vault/logical_system_activation_flags.go:167:49: not enough arguments in call to b.idStoreBackend.ActivationFunc):
# sdk v0.21.0 was tagged on main after framework.Backend.ActivationFunc took a third argument (the activation
# flag); the release/1.21.x branch's ./sdk, which v1.21.4 was built with, kept the two-argument callback. The two
# places in v1.21.4 that touch it are adapted to the tag: the identity store's callback takes the third argument
# and ignores it (1.21.4 has no use for it), and the one caller passes the flag's name. No other source line changes.
adapt_activation_func() {
  local work=$1 store="$1/vault/identity_store.go" flags="$1/vault/logical_system_activation_flags.go"
  sed -i 's/^\t\tActivationFunc: iStore\.activateDeduplication,$/\t\tActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },/' "$store"
  sed -i 's/b\.idStoreBackend\.ActivationFunc(ctx, nil); err != nil/b.idStoreBackend.ActivationFunc(ctx, nil, activationflags.IdentityDeduplication); err != nil/' "$flags"
  grep -q 'ActivationFunc: func(ctx context.Context, req \*logical.Request, _ string) error' "$store" || die "could not adapt ActivationFunc in $store"
  grep -q 'ActivationFunc(ctx, nil, activationflags.IdentityDeduplication)' "$flags" || die "could not adapt the ActivationFunc call in $flags"
}

# Substitution 3 (measured: without it the build stops at package transit with
#   builtin/logical/transit/path_restore.go:64:26: assignment mismatch: 2 variables but b.lm.RestorePolicy returns 1 value):
# the other way round, the release branch's ./sdk has keysutil.LockManager.RestorePolicy return the restored key's
# name as well (sdk v0.25.1 has it too), the tag v0.21.0 returns only the error. 1.21.4 uses that name for one
# thing, the key_name of an observation, and observations are Enterprise-only (vault/observations/observations_ce.go
# records nothing). So the call takes the name the request gave and the tag's error; transit restores keys as
# before. v0.25.1 is no way out: it has the three-argument ActivationFunc as well, and is newer than the branch.
adapt_restore_policy() {
  local file="$1/builtin/logical/transit/path_restore.go"
  sed -i 's/restoredKeyName, err := b\.lm\.RestorePolicy(ctx, req\.Storage, keyName, backupB64, force)/restoredKeyName, err := keyName, b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/' "$file"
  grep -q 'restoredKeyName, err := keyName, b\.lm\.RestorePolicy(' "$file" || die "could not adapt the RestorePolicy call in $file"
}

provide_vault() {
  VAULT=$(from_path vault Vault 1.21.0 1.22.0) && return
  VAULT="$BIN/vault-$VAULT_VERSION/vault"
  if [ -x "$VAULT" ]; then log "vault $VAULT_VERSION cached"; return; fi
  need_go vault
  local dir work="$SRC/vault-$VAULT_VERSION"
  dir=$(module_dir "$VAULT_MODULE")
  writable_copy "$dir" "$work"
  # Substitution 1: go.mod replaces api, api/auth/{approle,kubernetes,userpass} and sdk with
  # nested directories, which are separate modules missing from the root module's zip (and the
  # proxy serves no commit of the release branch). Dropping those replaces makes the go command
  # fetch the tags go.mod already requires (api v1.22.0, sdk v0.21.0, api/auth/approle v0.1.0,
  # userpass v0.1.0, kubernetes v0.10.0), all served by the proxy.
  sed -i -E '/^replace github\.com\/hashicorp\/vault\/(api|sdk)[^ ]* =>/d' "$work/go.mod"
  grep -qE '^replace github\.com/hashicorp/vault/(api|sdk)' "$work/go.mod" && die "could not drop the api/sdk replaces from $work/go.mod"
  adapt_activation_func "$work"
  adapt_restore_policy "$work"
  mkdir -p "$(dirname "$VAULT")"
  go_build "vault-$VAULT_VERSION" "$work" "$VAULT" -ldflags "-X github.com/hashicorp/vault/version.GitCommit=v$VAULT_VERSION" .
  rm -rf "$work"
}

mkdir -p "$CACHE" "$BIN"
provide_vault
printf 'C42_VAULT=%s\n' "$VAULT" >"$CACHE/vault.env.tmp"
mv "$CACHE/vault.env.tmp" "$CACHE/vault.env"
log "ready: $CACHE/vault.env"
