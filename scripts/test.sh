#!/usr/bin/env bash
# Runs every dpscan test on a fresh Debian 12 machine: installs what is missing, builds
# the normal build (build/) and the ASan+UBSan build (build-asan/), runs all tests in the
# first and the unit, dry-run and bad-input tests in the second, the unit tests in a portable
# build (build-portable/, -Dnative=false: no -march=native, the AVX-512 paths chosen at run
# time), fuzzes the RX parser, the UDP payload parsers and the records reader for 35 s
# (build-fuzz/, clang + libFuzzer), runs the README's
# demo, the unit tests and the fuzz toolchain once more in a freshly debootstrapped Debian 12 root
# (scripts/fresh-root-check.sh: a dependency install-deps.sh forgets fails there), and ends
# with one line "N passed, N failed[, N skipped]". Exits non-zero if anything failed.
# Integration tests need root (network namespaces). DPSCAN_FRESH_ROOT=0 leaves out the
# fresh-root check (a few minutes; it needs a Debian mirror).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1
scripts/build.sh build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
scripts/build.sh build-asan -Db_sanitize=address,undefined -Dbuildtype=debug ||
  { echo "sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
DPSCAN_BUILD_TARGETS="tests/unit_tests tests/nats_unit_tests" scripts/build.sh build-portable -Dnative=false ||
  { echo "portable build failed"; echo "0 passed, 1 failed"; exit 1; }
CC=clang CXX=clang++ scripts/build.sh build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
  -Db_lundef=false || { echo "fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
meson test -C build --print-errorlogs --num-processes 2 "$@"
meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite sanitize "$@"
meson test -C build-portable --no-rebuild --print-errorlogs --num-processes 2 --suite unit "$@"
meson test -C build-fuzz --print-errorlogs --suite fuzz "$@"

# A new user's machine: the README's commands in a fresh Debian 12 root.
fresh=SKIP
if [[ ${DPSCAN_FRESH_ROOT:-1} != 0 ]]; then
  echo "fresh-root check: scripts/fresh-root-check.sh (output in build/fresh-root.log)"
  rc=0
  scripts/fresh-root-check.sh >build/fresh-root.log 2>&1 || rc=$?
  case $rc in
    0) fresh=OK; tail -n 1 build/fresh-root.log ;;
    77) tail -n 1 build/fresh-root.log ;;
    *) fresh=FAIL; echo "fresh-root check FAILED; the end of build/fresh-root.log:"; tail -n 40 build/fresh-root.log ;;
  esac
fi

/usr/bin/python3 - "$fresh" build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
  build-portable/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
fresh = sys.argv[1]
failures = []
passed, failed, skipped = int(fresh == "OK"), int(fresh == "FAIL"), int(fresh == "SKIP")
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"missing test log {path}")
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append((path.split("/")[0], t, r))
if passed + failed == 0:
    failed = 1  # running no test at all is a failure
# CI shows only the end of this script's output: the failed tests, with the end of what
# they printed, go last, just above the count.
for build, t, r in failures:
    out = ((t.get("stdout") or "") + "\n" + (t.get("stderr") or "")).splitlines()
    print(f"=== FAILED {build}: {t['name']} ({r}, {t.get('duration', 0):.1f} s); its last lines:")
    for l in out[-40:]:
        print(f"    {l[:300]}")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
