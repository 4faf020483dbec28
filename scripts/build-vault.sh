#!/usr/bin/env bash
# Provides HashiCorp Vault 1.14.8 (the last MPL-licensed release) for the
# integration test that proves the life cycle against Vault itself. Only the
# tests need it: `npm run toolchain`, the demo and a deploy never pay for it.
#
# A `vault` on PATH is used when `vault version` says 1.14.x; otherwise the
# release is built from its Go module into the toolchain cache, keyed by version,
# so a second run only checks that the file is there.
#
# Writes $C42_CACHE/vault.env (C42_VAULT=<path>), which the tests read.
set -euo pipefail
# shellcheck source=scripts/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

VAULT_VERSION=1.14.8
VAULT_MODULE=github.com/hashicorp/vault@v$VAULT_VERSION
# The nested modules (see provide_vault): the sdk tag the release's go.mod requires, the sdk tag the
# branch's backports are taken from, and the api tag with the client calls 1.14.8's commands use.
VAULT_SDK_MODULE=github.com/hashicorp/vault/sdk@v0.9.2
VAULT_SDK_BACKPORTS_MODULE=github.com/hashicorp/vault/sdk@v0.11.0
VAULT_API_VERSION=1.10.0

# between FILE START END: the lines from the first matching START up to, not including, the next matching END;
# fails when START is missing, so a changed source is an error rather than a silently smaller file.
between() {
  awk -v s="$2" -v e="$3" '$0 ~ s {on = 1; found = 1} on && $0 ~ e {exit} on {print} END {exit !found}' "$1" ||
    die "cannot find /$2/ in $1"
}

# backport_sdk FROM SDK: makes the sdk copy SDK (v0.9.2) into what 1.14.8 needs of the
# release/1.14.x branch's ./sdk: the declarations the branch had added by v1.14.8, which
# no sdk tag on the 1.14 line carries, taken verbatim from the sdk module in FROM.
backport_sdk() {
  local from=$1 sdk=$2
  local header='// Declarations the hashicorp/vault release/1.14.x branch backported into its ./sdk by v1.14.8,
// copied by scripts/build-vault.sh from the same declarations in github.com/hashicorp/vault/sdk v0.11.0 (MPL-2.0).
'
  {
    printf '%s\npackage logical\n\nimport (\n\t"context"\n\t"io"\n)\n\n' "$header"
    between "$from/logical/request.go" '^type CtxKeyRequestRole struct' '^// CtxKeyDisableReplicationStatusEndpoints is'
    between "$from/logical/request.go" '^type ctxKeyOriginalBody struct' '^type CtxKeyDisableRequestLimiter'
  } >"$sdk/logical/backport_v1_14_8.go"
  {
    printf '%s\npackage physical\n\nimport "context"\n\n' "$header"
    between "$from/physical/physical.go" '^// FencingHABackend is an HABackend' '^// ToggleablePurgemonster is'
  } >"$sdk/physical/backport_v1_14_8.go"
  # The branch's ./sdk predates this coding-error check, and 1.14.8 registers enterprise-only stubs
  # (sys/managed-keys/...) that trip it: with it, the first sys/ request panics (as hashicorp/vault#22173
  # reports for 1.14 built against later sdk tags).
  local backend="$sdk/framework/backend.go"
  awk '/^\t\t\/\/ Detect the coding error of attempting to define a CreateOperation without defining an ExistenceCheck$/ {skip = 1}
       skip && /^\t\t}$/ {skip = 0; next}
       !skip {print}' "$backend" >"$backend.tmp"
  mv "$backend.tmp" "$backend"
  ! grep -q 'defines a CreateOperation but no ExistenceCheck' "$backend" || die "could not drop the ExistenceCheck assertion from $backend"
}

provide_vault() {
  VAULT=$(from_path vault Vault 1.14.0 1.15.0) && return
  VAULT="$BIN/vault-$VAULT_VERSION/vault"
  if [ -x "$VAULT" ]; then log "vault $VAULT_VERSION cached"; return; fi
  need_go vault
  local dir sdk backports work="$SRC/vault-$VAULT_VERSION"
  dir=$(module_dir "$VAULT_MODULE")
  sdk=$(module_dir "$VAULT_SDK_MODULE")
  backports=$(module_dir "$VAULT_SDK_BACKPORTS_MODULE")
  writable_copy "$dir" "$work"
  # go.mod points api, api/auth/* and sdk at nested directories, which are
  # separate modules missing from the root module's zip, and the proxy refuses
  # the release branch's commits, so neither can be had exactly as released.
  # api (a client library): drop the replaces so tags are fetched, as for OpenBao;
  # the tag go.mod names (v1.9.2) lacks RaftAutopilot*WithDRToken, which the
  # branch added to its ./api; the next tag, v$VAULT_API_VERSION, has them, so require that.
  # sdk: later tags change interfaces 1.14.8 implements (logical.EventSender), the
  # one before (v0.9.1) lacks what 1.14.0 added. So ./sdk is rebuilt as the tag go.mod
  # names, v0.9.2, plus the declarations the branch backported and 1.14.8 uses, less
  # one assertion the branch never had (backport_sdk).
  sed -i -E -e '/^replace github\.com\/hashicorp\/vault\/api[^ ]* =>/d' \
    -e "s#^([[:space:]]+github\.com/hashicorp/vault/api) v[0-9.]+\$#\\1 v$VAULT_API_VERSION#" "$work/go.mod"
  writable_copy "$sdk" "$work/sdk"
  backport_sdk "$backports" "$work/sdk"
  mkdir -p "$(dirname "$VAULT")"
  go_build "vault-$VAULT_VERSION" "$work" "$VAULT" -ldflags "-X github.com/hashicorp/vault/version.GitCommit=v$VAULT_VERSION" .
  rm -rf "$work"
}

mkdir -p "$CACHE" "$BIN"
provide_vault
printf 'C42_VAULT=%s\n' "$VAULT" >"$CACHE/vault.env.tmp"
mv "$CACHE/vault.env.tmp" "$CACHE/vault.env"
log "ready: $CACHE/vault.env"
