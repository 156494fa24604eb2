#!/usr/bin/env bash
# Runs every dpscan test on a fresh Debian 12 machine: installs what is missing, builds
# the normal build (build/) and the ASan+UBSan build (build-asan/), runs all tests in the
# first and the unit, dry-run and bad-input tests in the second, the unit tests in a portable
# build (build-portable/, -Dnative=false: no -march=native, the AVX-512 paths chosen at run
# time), fuzzes the RX parser for 30 s (build-fuzz/, clang + libFuzzer), and ends with one line
# "N passed, N failed[, N skipped]". Exits non-zero if anything failed.
# Integration tests need root (network namespaces).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1
scripts/build.sh build >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
scripts/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug >/dev/null ||
  { echo "sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
scripts/build.sh build-portable -Dnative=false >/dev/null ||
  { echo "portable build failed"; echo "0 passed, 1 failed"; exit 1; }
CC=clang CXX=clang++ scripts/build.sh build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
  -Db_lundef=false >/dev/null || { echo "fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
meson test -C build --print-errorlogs --num-processes 2 "$@"
meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite sanitize "$@"
meson test -C build-portable --print-errorlogs --num-processes 2 --suite unit "$@"
meson test -C build-fuzz --print-errorlogs --suite fuzz "$@"

/usr/bin/python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
  build-portable/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"missing test log {path}")
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
if passed + failed == 0:
    failed = 1  # running no test at all is a failure
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
