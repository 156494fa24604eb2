#!/usr/bin/env bash
# Fuzzes dpscan's parsers of untrusted input with libFuzzer (clang, ASan + UBSan).
#   scripts/fuzz.sh [SECONDS [TARGET]]   build build-fuzz/ and fuzz TARGET (default 300 s of
#                                        classify: the RX parser and classifier; payload: the
#                                        UDP payload parsers; records: what collect reads)
#   scripts/fuzz.sh --run EXE CORPUS SECONDS   (what the meson test calls)
# The seed corpus is never modified: new inputs go to a scratch directory. A crash leaves
# its input as crash-* in the current directory and fails.
set -euo pipefail

if [[ ${1:-} == --run ]]; then
  exe=$2 corpus=$3 secs=$4
  scratch=$(mktemp -d /tmp/dpscan-fuzz.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
  cd "$scratch"
  "$exe" -max_total_time="$secs" -max_len=2048 -print_final_stats=1 "$scratch" "$corpus" 2>&1 | tail -n 25
  exit "${PIPESTATUS[0]}"
fi

secs=${1:-300}
target=${2:-classify}
case $target in
  classify | payload | records) ;;
  *)
    echo "fuzz.sh: TARGET is classify, payload or records" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."
if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz "tests/fuzz/${target}_fuzz" >/dev/null
exec "$0" --run "$PWD/build-fuzz/tests/fuzz/${target}_fuzz" "$PWD/tests/fuzz/corpus/$target" "$secs"
