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
#
# Why 1.21.4 alone, and no longer 1.14.8 (the last MPL release, proven here before): the seed asks for the
# latest Vault, and Code42's customers run the 1.19-1.21 line. A cold CI (`bash .ci/run`) must stay under
# 60 minutes; it took ~52 min idle with 1.14.8, whose cold build was 8 min 35 s of that. 1.21.4 compiles
# 1.38 times the Go source of 1.14.8 (go list -deps of the main package: 30 291 files, 311.5 MB against
# 22 709 files, 226.0 MB), so its cold build is estimated at ~12 min idle: both together would take CI to
# ~64 min, 1.21.4 instead of 1.14.8 to ~57 min (with the ~1.5 min the new Vault tests add). 1.21 is BUSL-1.1 licensed: the project builds and runs it
# only for its own tests and ships nothing of it.
set -euo pipefail
# shellcheck source=scripts/toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

# The newest patch release the proxy lists (`go list -m -versions github.com/hashicorp/vault`).
VAULT_VERSION=1.21.4
VAULT_MODULE=github.com/hashicorp/vault@v$VAULT_VERSION
# The release tag's commit time, as the proxy's .info for v1.21.4 gives it. Without a BuildDate, 1.21's
# vault/testing_util.go (not a test file) sets it to a year before the build's start, which `vault version`
# and sys/version-history then report.
VAULT_BUILD_DATE=2026-03-05T01:40:05Z

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
  # nested directories, which are separate modules missing from the root module's zip, and the
  # proxy refuses the release's commit (`go list -m github.com/hashicorp/vault/sdk@ffe7023c481d…`:
  # 403 Forbidden, "This module version is not available"). Dropping those replaces makes the go command
  # fetch the tags go.mod already requires (api v1.22.0, sdk v0.21.0, api/auth/approle v0.1.0,
  # userpass v0.1.0, kubernetes v0.10.0), all served by the proxy.
  sed -i -E '/^replace github\.com\/hashicorp\/vault\/(api|sdk)[^ ]* =>/d' "$work/go.mod"
  grep -qE '^replace github\.com/hashicorp/vault/(api|sdk)' "$work/go.mod" && die "could not drop the api/sdk replaces from $work/go.mod"
  adapt_activation_func "$work"
  adapt_restore_policy "$work"
  mkdir -p "$(dirname "$VAULT")"
  go_build "vault-$VAULT_VERSION" "$work" "$VAULT" \
    -ldflags "-X github.com/hashicorp/vault/version.GitCommit=v$VAULT_VERSION -X github.com/hashicorp/vault/version.BuildDate=$VAULT_BUILD_DATE" .
  rm -rf "$work"
}

# --background: when the binary still has to be built, build it in a process of its own and return at
# once. The build is the longest step of a cold toolchain (about 12 minutes idle) and only the two
# hashicorp-vault*.test.ts files need it; jest runs those last (__tests__/integration/sequencer.js), and
# they wait for it (fixtures.ts hashicorpVault), so it compiles while the unit tests and the OpenBao
# integration tests run, on the CPU those leave idle. $CACHE/vault.build says how the build went:
# `running PID` while it runs, `rc=N` when it ended; its output is in $CACHE/logs/build-vault-background.log.
STATUS="$CACHE/vault.build"

build_and_record() {
  provide_vault
  printf 'C42_VAULT=%s\n' "$VAULT" >"$CACHE/vault.env.tmp"
  mv "$CACHE/vault.env.tmp" "$CACHE/vault.env"
  log "ready: $CACHE/vault.env"
}

mkdir -p "$CACHE" "$BIN" "$CACHE/logs"
case "${1:-}" in
  "") build_and_record ;;
  --background)
    if VAULT=$(from_path vault Vault 1.21.0 1.22.0) || [ -x "$BIN/vault-$VAULT_VERSION/vault" ]; then
      build_and_record
      exit 0
    fi
    if [ -f "$STATUS" ] && read -r state pid <"$STATUS" && [ "$state" = running ] && kill -0 "$pid" 2>/dev/null; then
      log "HashiCorp Vault $VAULT_VERSION is being built in the background already (pid $pid; log: $CACHE/logs/build-vault-background.log)"
      exit 0
    fi
    need_go vault
    background_log="$CACHE/logs/build-vault-background.log"
    # setsid: the build outlives the shell that started it, and a Ctrl-C in that terminal does not reach it.
    # nice: the tests it runs beside come first; the build takes the CPU they leave idle.
    # shellcheck disable=SC2016 # expanded by the inner shell, on purpose
    setsid nice -n 10 bash -c '
      status=$1; shift
      printf "running %s\n" "$$" >"$status.tmp" && mv "$status.tmp" "$status"
      bash "$@"; rc=$?
      printf "rc=%s\n" "$rc" >"$status.tmp" && mv "$status.tmp" "$status"
    ' build-vault "$STATUS" "${BASH_SOURCE[0]}" </dev/null >"$background_log" 2>&1 &
    # The status file exists before this script returns, so the tests never find an old one.
    for _ in $(seq 1 100); do
      if [ -f "$STATUS" ] && read -r state _ <"$STATUS" && [ "$state" = running ]; then break; fi
      sleep 0.1
    done
    log "building HashiCorp Vault $VAULT_VERSION in the background (log: $background_log); the hashicorp-vault tests run last and wait for it"
    ;;
  *) die "unknown option '$1'; usage: bash scripts/build-vault.sh [--background]" ;;
esac
