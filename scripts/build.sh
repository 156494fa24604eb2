#!/usr/bin/env bash
# Configures (once) and builds a build directory: scripts/build.sh [DIR [meson options...]]
# Quiet when it works (one line per step on standard error); when a step fails it says which
# and shows the end of that tool's own output (meson's or ninja's), then exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
# Where ccache is installed (meson uses it then), hits across clones at other paths (CI's).
# (-g is on: without NOHASHDIR ccache would hash the build's directory too.)
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
shift || true
log=$(mktemp /tmp/dpscan-build.XXXXXX)
trap 'rm -f "$log"' EXIT

# step WHAT CMD...: runs CMD with its output in $log; on failure prints the end of it.
step() {
  local what=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    {
      echo "build: $what failed: $*"
      echo "build: the last lines of its output:"
      tail -n 40 "$log" | sed 's/^/  | /'
      [[ ! -f $dir/meson-logs/meson-log.txt ]] || echo "build: meson's full log: $dir/meson-logs/meson-log.txt"
    } >&2
    exit 1
  fi
}

if [[ ! -f $dir/build.ninja ]]; then
  # A set-up that failed before leaves a half-made build directory: start it again.
  [[ ! -d $dir/meson-private ]] || rm -rf -- "$dir"
  echo "build: configuring $dir (meson setup $*)" >&2
  step "configuring $dir (meson setup)" meson setup "$dir" "$@"
fi
echo "build: compiling $dir (ninja)" >&2
# $DPSCAN_BUILD_TARGETS: only these ninja targets (a build whose other programs no test uses).
# shellcheck disable=SC2086
step "compiling $dir (ninja)" ninja -C "$dir" ${DPSCAN_BUILD_TARGETS:-}
