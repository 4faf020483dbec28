#!/usr/bin/env bash
# Provides the real parts the deploy and the integration tests run on:
#   an engine (OpenTofu, or Terraform found on PATH), bao (OpenBao, for the local
#   server) and the provider plugins.
# Binaries already on PATH are used when their version fits; anything else is
# built from its Go module into a cache outside the repository, keyed by version,
# so a second run only checks that the files are there. Nothing is built that is
# already available: OpenTofu only when no usable engine is found, the providers
# only when neither your CLI configuration nor the engine's registry offers them.
#
#   bash scripts/toolchain.sh               engine, providers, bao
#   bash scripts/toolchain.sh --no-server   engine and providers (deploying to your own Vault)
#   bash scripts/toolchain.sh --for-tests   OpenTofu, Terraform (PATH, else v1.5.7 built), bao and the
#                                           provider mirror: what the integration tests run on, offline
#
# C42_ENGINE (auto, tofu, terraform or a path) chooses the engine as the commands do.
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
# Only for the tests, where no terraform is on PATH: the last MPL-licensed release.
TERRAFORM_TEST_VERSION=1.5.7
TERRAFORM_TEST_MODULE=github.com/hashicorp/terraform@v1.5.7
BAO_VERSION=2.4.0
BAO_COMMIT=f9407a27fbee45f62ba521bba2bf1e2360c61031
BAO_MODULE=github.com/openbao/openbao@v0.0.0-20250828202315-f9407a27fbee
VAULT_PROVIDER_VERSION=5.9.0
VAULT_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-vault@v1.9.1-0.20260422134934-5e9fcd457a99
TLS_PROVIDER_VERSION=4.1.0
TLS_PROVIDER_MODULE=github.com/hashicorp/terraform-provider-tls@v1.2.1-0.20250423195406-eefba144662d
RANDOM_PROVIDER_VERSION=3.9.0
RANDOM_PROVIDER_MODULE=github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260513075824-f8d869dc98d9
# Only for the tests: the linter of the example GitHub workflows (__tests__/examples/ci-workflows.test.ts).
ACTIONLINT_VERSION=1.7.12

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

need_go() { # need_go WHAT [HOW ELSE]
  command -v go >/dev/null 2>&1 ||
    die "$1 cannot be built: the Go toolchain ('go') is missing. Install Go 1.26, or ${2:-put $1 on PATH}."
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
  build_tofu
}

build_tofu() {
  TOFU="$BIN/tofu-$TOFU_VERSION/tofu"
  need_go tofu
  local dir; dir=$(module_dir "$TOFU_MODULE")
  writable_copy "$dir" "$SRC/tofu-$TOFU_VERSION"
  mkdir -p "$(dirname "$TOFU")"
  # dev=no: report "OpenTofu v1.10.10" rather than a -dev build.
  go_build "tofu-$TOFU_VERSION" "$SRC/tofu-$TOFU_VERSION" "$TOFU" \
    -ldflags "-X github.com/opentofu/opentofu/version.dev=no" ./cmd/tofu
  rm -rf "$SRC/tofu-$TOFU_VERSION"
}

# For the tests only: Terraform from PATH, else v1.5.7 built from the Go module proxy, so the
# Terraform integration test always has an engine to run and never skips.
provide_terraform_for_tests() {
  TERRAFORM=$(from_path terraform Terraform 1.5.0) && return
  TERRAFORM="$BIN/terraform-$TERRAFORM_TEST_VERSION/terraform"
  if [ -x "$TERRAFORM" ]; then log "terraform $TERRAFORM_TEST_VERSION cached"; return; fi
  need_go terraform
  local dir; dir=$(module_dir "$TERRAFORM_TEST_MODULE")
  writable_copy "$dir" "$SRC/terraform-$TERRAFORM_TEST_VERSION"
  mkdir -p "$(dirname "$TERRAFORM")"
  # version.Prerelease is "" in the v1.5.7 tag: the binary reports "Terraform v1.5.7".
  go_build "terraform-$TERRAFORM_TEST_VERSION" "$SRC/terraform-$TERRAFORM_TEST_VERSION" "$TERRAFORM" .
  rm -rf "$SRC/terraform-$TERRAFORM_TEST_VERSION"
}

# The engine the commands will run, by C42_ENGINE as ops/engine/engine.ts reads it: OpenTofu
# preferred; OpenTofu is built only when no usable engine exists. Sets ENGINE and ENGINE_KIND.
provide_engine() {
  local choice=${C42_ENGINE:-auto} ver
  case "$choice" in
    auto)
      if TOFU=$(from_path tofu OpenTofu 1.10.0); then :
      elif [ -x "$BIN/tofu-$TOFU_VERSION/tofu" ]; then TOFU="$BIN/tofu-$TOFU_VERSION/tofu"; log "tofu $TOFU_VERSION cached"
      elif TERRAFORM=$(from_path terraform Terraform 1.5.0); then
        ENGINE=$TERRAFORM ENGINE_KIND=terraform
        log "no OpenTofu found; Terraform is the engine, so none is built"
        return
      else build_tofu
      fi
      ENGINE=$TOFU ENGINE_KIND=tofu ;;
    tofu) provide_tofu; ENGINE=$TOFU ENGINE_KIND=tofu ;;
    terraform)
      TERRAFORM=$(from_path terraform Terraform 1.5.0) ||
        die "engine (C42_ENGINE) \"terraform\": no Terraform 1.5 or later on PATH; expected one there, or C42_ENGINE=auto or tofu"
      ENGINE=$TERRAFORM ENGINE_KIND=terraform ;;
    /*)
      [ -x "$choice" ] || die "engine (C42_ENGINE) \"$choice\": no executable file there; expected the absolute path of a tofu or terraform binary"
      ver=$("$choice" version 2>/dev/null | head -n1 || true)
      case "$ver" in
        "OpenTofu v"*) version_at_least "${ver#OpenTofu v}" 1.10.0 && ENGINE_KIND=tofu TOFU=$choice ;;
        "Terraform v"*) version_at_least "${ver#Terraform v}" 1.5.0 && ENGINE_KIND=terraform TERRAFORM=$choice ;;
      esac
      [ -n "${ENGINE_KIND:-}" ] || die "engine (C42_ENGINE) \"$choice\" is \"$ver\"; expected OpenTofu 1.10 or later, or Terraform 1.5 or later"
      ENGINE=$choice
      log "using $ver ($choice, from C42_ENGINE)" ;;
    *) die "engine (C42_ENGINE) \"$choice\" is not an engine; expected auto, tofu, terraform or the absolute path of a tofu or terraform binary" ;;
  esac
}

provide_bao() {
  BAO=$(from_path bao OpenBao 2.0.0) && return
  # HashiCorp Vault serves the same API (only releases before 1.15 are MPL-licensed), so the local
  # server may be one; not for the tests, which exercise OpenBao (HashiCorp Vault gets its own test).
  if [ "$MODE" != tests ]; then BAO=$(from_path vault Vault 1.12.0 1.15.0) && return; fi
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

provide_actionlint() {
  ACTIONLINT="$BIN/actionlint-$ACTIONLINT_VERSION/actionlint"
  if [ -x "$ACTIONLINT" ]; then log "actionlint $ACTIONLINT_VERSION cached"; return; fi
  need_go actionlint
  log "building actionlint $ACTIONLINT_VERSION (go install)"
  GOBIN="$(dirname "$ACTIONLINT")" CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" ||
    die "go install github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION failed"
}

# provide_provider NAME VERSION MODULE
provide_provider() {
  local name=$1 version=$2 module=$3
  local file="terraform-provider-${name}_v${version}"
  local primary="$MIRROR/registry.opentofu.org/hashicorp/$name/$version/linux_amd64"
  local twin="$MIRROR/registry.terraform.io/hashicorp/$name/$version/linux_amd64"
  if [ ! -x "$primary/$file" ]; then
    need_go "provider $name $version" "let your CLI configuration or the engine's registry provide the providers (README: Use your own Terraform or OpenTofu)"
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

registry_host() { if [ "$ENGINE_KIND" = terraform ]; then echo registry.terraform.io; else echo registry.opentofu.org; fi; }

# Prints where the user's own CLI configuration decides provider installation, by the rule of
# ops/engine/provider-source.ts; fails when it does not.
user_provider_config() {
  local cli=${TF_CLI_CONFIG_FILE:-} rc
  if [ -n "$cli" ]; then
    [ -f "$cli" ] && [ "$cli" != "$CACHE/tofu.rc" ] && { printf 'TF_CLI_CONFIG_FILE=%s' "$cli"; return 0; }
  else
    if [ "$ENGINE_KIND" = terraform ]; then rc=$HOME/.terraformrc
    elif [ -e "$HOME/.tofurc" ]; then rc=$HOME/.tofurc
    elif [ -e "$HOME/.terraformrc" ]; then rc=$HOME/.terraformrc
    else rc=${XDG_CONFIG_HOME:+$XDG_CONFIG_HOME/opentofu/tofurc}
    fi
    [ -n "$rc" ] && grep -qE '^[[:space:]]*(provider_installation|plugin_cache_dir)\b' "$rc" 2>/dev/null && { printf '%s' "$rc"; return 0; }
  fi
  [ -n "${TF_PLUGIN_CACHE_DIR:-}" ] && { printf 'TF_PLUGIN_CACHE_DIR=%s' "$TF_PLUGIN_CACHE_DIR"; return 0; }
  return 1
}

mirror_complete() {
  local host; host=$(registry_host)
  [ -x "$MIRROR/$host/hashicorp/vault/$VAULT_PROVIDER_VERSION/linux_amd64/terraform-provider-vault_v$VAULT_PROVIDER_VERSION" ] &&
    [ -x "$MIRROR/$host/hashicorp/random/$RANDOM_PROVIDER_VERSION/linux_amd64/terraform-provider-random_v$RANDOM_PROVIDER_VERSION" ]
}

# Asks the engine itself to install the pinned providers the way a deploy would without our
# mirror (its implied local plugin directories, then its registry), in a scratch directory, bounded.
engine_installs_providers() {
  local dir ok=1
  dir=$(mktemp -d)
  cat >"$dir/main.tf.json" <<JSON
{"terraform": {"required_providers": {
  "vault": {"source": "hashicorp/vault", "version": "$VAULT_PROVIDER_VERSION"},
  "random": {"source": "hashicorp/random", "version": "$RANDOM_PROVIDER_VERSION"}}}}
JSON
  mkdir -p "$CACHE/logs"
  log "providers: asking $ENGINE whether it can install them from $(registry_host) (at most 120 s; log: $CACHE/logs/providers-check.log)"
  if (cd "$dir" && env ${TF_CLI_CONFIG_FILE:+-u TF_CLI_CONFIG_FILE} CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
    timeout 120 "$ENGINE" init -backend=false -input=false -no-color) >"$CACHE/logs/providers-check.log" 2>&1; then ok=0; fi
  rm -rf "$dir"
  return $ok
}

# Sets PROVIDERS_FROM to "mirror" when the toolchain's mirror is what deploys will use.
provide_providers() {
  local theirs
  PROVIDERS_FROM=mirror
  if [ "$MODE" != tests ]; then
    if theirs=$(user_provider_config); then
      log "providers: your CLI configuration ($theirs) says where they come from; none built"
      PROVIDERS_FROM=user
      return
    fi
    if ! mirror_complete && engine_installs_providers; then
      log "providers: $ENGINE installs them itself (its local plugin directories or $(registry_host); checked just now); none built"
      PROVIDERS_FROM=registry
      return
    fi
  fi
  provide_provider vault "$VAULT_PROVIDER_VERSION" "$VAULT_PROVIDER_MODULE"
  provide_provider tls "$TLS_PROVIDER_VERSION" "$TLS_PROVIDER_MODULE"
  provide_provider random "$RANDOM_PROVIDER_VERSION" "$RANDOM_PROVIDER_MODULE"
  write_cli_config
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
  MODE=default
  case "${1:-}" in
    "") ;;
    --no-server) MODE=no-server ;;
    --for-tests) MODE=tests ;;
    *) printf "[toolchain] error: unknown option '%s'; usage: bash scripts/toolchain.sh [--no-server | --for-tests]\n" "$1" >&2; exit 2 ;;
  esac
  mkdir -p "$CACHE"
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only linux_amd64 is supported by this toolchain script (found $(uname -s)-$(uname -m))"
  TOFU='' TERRAFORM='' BAO='' ENGINE_KIND='' ACTIONLINT=''
  if [ "$MODE" = tests ]; then
    # The tests run the life cycle on both engines, OpenTofu first.
    provide_tofu
    provide_terraform_for_tests
    provide_actionlint
    ENGINE=$TOFU ENGINE_KIND=tofu
  else
    provide_engine
  fi
  [ "$MODE" = no-server ] || provide_bao
  provide_providers
  # TERRAFORM_BINARY_NAME and TF_CLI_ARGS_providers_lock are for the cdktf CLI: it runs the engine by
  # that name, and before its first init runs `providers lock`, which asks the origin registries
  # unless told to read the mirror (the engine adds TF_CLI_ARGS_<subcommand> to that subcommand's args).
  # The mirror's lines only when the mirror is what deploys use: sourcing this file must not
  # replace a user's own TF_CLI_CONFIG_FILE.
  {
    [ -z "$TOFU" ] || echo "C42_TOFU=$TOFU"
    [ -z "$TERRAFORM" ] || echo "C42_TERRAFORM=$TERRAFORM"
    [ -z "$BAO" ] || echo "C42_BAO=$BAO"
    [ -z "$ACTIONLINT" ] || echo "C42_ACTIONLINT=$ACTIONLINT"
    echo "TERRAFORM_BINARY_NAME=$ENGINE"
    if [ "$PROVIDERS_FROM" = mirror ]; then
      echo "C42_PROVIDER_MIRROR=$MIRROR"
      echo "TF_CLI_CONFIG_FILE=$CLI_CONFIG"
      echo "TF_CLI_ARGS_providers_lock=-fs-mirror=$MIRROR"
    fi
  } >"$CACHE/toolchain.env.tmp"
  mv "$CACHE/toolchain.env.tmp" "$CACHE/toolchain.env"
  log "ready: $CACHE/toolchain.env"
  if [ "$MODE" = tests ]; then
    # HashiCorp Vault 1.21.4, for the hashicorp-vault*.test.ts files only: when it is not cached yet, built in
    # the background while the tests run (scripts/build-vault.sh --background). Last, so that it never competes
    # with the builds above: the tests leave CPU idle (servers, waits), the other builds do not.
    bash "$(dirname "${BASH_SOURCE[0]}")/build-vault.sh" --background
  fi
}

# scripts/build-vault.sh sources this file for its helpers without running it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
