#!/usr/bin/env bash
# Provides the real parts the deploy and the integration tests run on:
#   tofu (OpenTofu), bao (OpenBao) and the provider plugins in a filesystem mirror.
# Binaries already on PATH are used when their version fits; anything else is
# built from its Go module into a cache outside the repository, keyed by version,
# so a second run only checks that the files are there.
#
# Writes $C42_CACHE/toolchain.env, which the other commands source.
set -euo pipefail

CACHE="${C42_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/c42-keystore}"
BIN="$CACHE/bin"
MIRROR="$CACHE/providers"
SRC="$CACHE/src"

# Versions. The provider versions are the ones the Go module proxy serves as
# pseudo-versions; lib/providers.ts pins the same versions in the synthesized JSON.
TOFU_VERSION=1.10.10
TOFU_MODULE=github.com/opentofu/opentofu@v1.10.10
BAO_VERSION=2.4.0
BAO_COMMIT=f9407a27fbee45f62ba521bba2bf1e2360c61031
BAO_MODULE=github.com/openbao/openbao@v0.0.0-20250828202315-f9407a27fbee
VAULT_PROVIDER_VERSION=5.9.0
VAULT_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-vault@v1.9.1-0.20260422134934-5e9fcd457a99
TLS_PROVIDER_VERSION=4.1.0
TLS_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-tls@v1.2.1-0.20250423195406-eefba144662d
RANDOM_PROVIDER_VERSION=3.9.0
RANDOM_PROVIDER_MODULE=github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260513075824-f8d869dc98d9

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "'$1' is not on PATH and cannot be built: the Go toolchain ('go') is missing. Install Go 1.26 or put $1 on PATH."
}

# Downloads MODULE@VERSION through the Go module proxy and prints its directory.
module_dir() {
  local json dir
  json=$(GOFLAGS=-mod=mod go mod download -json "$1" 2>&1) || die "go mod download $1 failed: $json"
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || die "go mod download $1 gave no directory: $json"
  printf '%s' "$dir"
}

# Copies a module out of the read-only module cache into a writable build dir.
writable_copy() {
  local from=$1 to=$2
  rm -rf "$to"
  mkdir -p "$(dirname "$to")"
  cp -r "$from" "$to"
  chmod -R u+w "$to"
}

# Runs a long go build with a heartbeat, so a quiet two-core build is not mistaken for a hang.
go_build() {
  local what=$1 dir=$2 out=$3; shift 3
  local logf="$CACHE/logs/build-$what.log" start=$SECONDS pid
  mkdir -p "$CACHE/logs"
  log "building $what (log: $logf); this takes minutes on a cold cache"
  ( cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$out.tmp" "$@" ) >"$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && log "  still building $what ($((SECONDS - start))s)"
  done
  if ! wait "$pid"; then
    tail -n 30 "$logf" >&2
    die "building $what failed; full log in $logf"
  fi
  mv "$out.tmp" "$out"
  log "built $what in $((SECONDS - start))s"
}

version_at_least() { # $1 >= $2 (dotted numeric)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# from_path NAME BANNER MIN [BELOW]: prints NAME's path when it is on PATH and
# its `version` banner ("BANNER v1.2.3") says MIN <= version (< BELOW).
from_path() {
  local name=$1 banner=$2 min=$3 below=${4:-} found ver
  found=$(command -v "$name" 2>/dev/null) || return 1
  ver=$("$found" version 2>/dev/null | sed -n "1s/^$banner v\([0-9.]*\).*/\1/p")
  [ -n "$ver" ] && version_at_least "$ver" "$min" || return 1
  if [ -n "$below" ] && version_at_least "$ver" "$below"; then return 1; fi
  log "using $name $ver from PATH ($found)"
  printf '%s' "$found"
}

provide_tofu() {
  TOFU=$(from_path tofu OpenTofu 1.10.0) && return
  TOFU="$BIN/tofu-$TOFU_VERSION/tofu"
  if [ -x "$TOFU" ]; then log "tofu $TOFU_VERSION cached"; return; fi
  need_go tofu
  local dir; dir=$(module_dir "$TOFU_MODULE")
  writable_copy "$dir" "$SRC/tofu-$TOFU_VERSION"
  mkdir -p "$(dirname "$TOFU")"
  # dev=no: report "OpenTofu v1.10.10" rather than a -dev build.
  go_build "tofu-$TOFU_VERSION" "$SRC/tofu-$TOFU_VERSION" "$TOFU" \
    -ldflags "-X github.com/opentofu/opentofu/version.dev=no" ./cmd/tofu
  rm -rf "$SRC/tofu-$TOFU_VERSION"
}

provide_bao() {
  BAO=$(from_path bao OpenBao 2.0.0) && return
  # HashiCorp Vault serves the same API; only releases before 1.15 are MPL-licensed.
  BAO=$(from_path vault Vault 1.12.0 1.15.0) && return
  BAO="$BIN/bao-$BAO_VERSION/bao"
  if [ -x "$BAO" ]; then log "bao $BAO_VERSION cached"; return; fi
  need_go bao
  local dir; dir=$(module_dir "$BAO_MODULE")
  local work="$SRC/bao-$BAO_VERSION"
  writable_copy "$dir" "$work"
  # The release's go.mod points api, sdk and api/auth/* at nested directories,
  # which are separate modules missing from the root module's zip. Drop those
  # replaces so the go command fetches the tagged modules go.mod already requires,
  # and drop the boltdb stub replace for the same reason.
  ( cd "$work" && sed -i -E '/^replace github\.com\/(openbao\/openbao\/(api|sdk)|boltdb\/bolt)[^ ]* =>/d' go.mod )
  mkdir -p "$(dirname "$BAO")"
  go_build "bao-$BAO_VERSION" "$work" "$BAO" \
    -ldflags "-X github.com/openbao/openbao/version.fullVersion=$BAO_VERSION -X github.com/openbao/openbao/version.GitCommit=$BAO_COMMIT" .
  rm -rf "$work"
}

# provide_provider NAME VERSION MODULE
provide_provider() {
  local name=$1 version=$2 module=$3
  local file="terraform-provider-${name}_v${version}"
  local primary="$MIRROR/registry.opentofu.org/hashicorp/$name/$version/linux_amd64"
  local twin="$MIRROR/registry.terraform.io/hashicorp/$name/$version/linux_amd64"
  if [ ! -x "$primary/$file" ]; then
    need_go "provider $name $version"
    local dir; dir=$(module_dir "$module")
    local work="$SRC/provider-$name-$version"
    writable_copy "$dir" "$work"
    mkdir -p "$primary"
    go_build "provider-$name-$version" "$work" "$primary/$file" .
    rm -rf "$work"
  else
    log "provider $name $version cached"
  fi
  mkdir -p "$twin"
  ln -f "$primary/$file" "$twin/$file" 2>/dev/null || cp -f "$primary/$file" "$twin/$file"
}

write_cli_config() {
  CLI_CONFIG="$CACHE/tofu.rc"
  # Only the mirror: a deploy here never reaches for a registry.
  cat >"$CLI_CONFIG.tmp" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.opentofu.org/hashicorp/*", "registry.terraform.io/hashicorp/*"]
  }
}
RC
  mv "$CLI_CONFIG.tmp" "$CLI_CONFIG"
}

main() {
  mkdir -p "$CACHE" "$BIN" "$MIRROR"
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only linux_amd64 is supported by this toolchain script (found $(uname -s)-$(uname -m))"
  provide_tofu
  provide_bao
  provide_provider vault "$VAULT_PROVIDER_VERSION" "$VAULT_PROVIDER_MODULE"
  provide_provider tls "$TLS_PROVIDER_VERSION" "$TLS_PROVIDER_MODULE"
  provide_provider random "$RANDOM_PROVIDER_VERSION" "$RANDOM_PROVIDER_MODULE"
  write_cli_config
  # TERRAFORM_BINARY_NAME and TF_CLI_ARGS_providers_lock are for the cdktf CLI: it runs the engine by
  # that name, and before its first init runs `providers lock`, which asks the origin registries
  # unless told to read the mirror (the engine adds TF_CLI_ARGS_<subcommand> to that subcommand's args).
  cat >"$CACHE/toolchain.env.tmp" <<ENV
C42_TOFU=$TOFU
C42_BAO=$BAO
C42_PROVIDER_MIRROR=$MIRROR
TF_CLI_CONFIG_FILE=$CLI_CONFIG
TERRAFORM_BINARY_NAME=$TOFU
TF_CLI_ARGS_providers_lock=-fs-mirror=$MIRROR
ENV
  mv "$CACHE/toolchain.env.tmp" "$CACHE/toolchain.env"
  log "ready: $CACHE/toolchain.env"
}

main "$@"
