#!/bin/sh
# expect_skip.sh PROGRAM [ARGS...]: passes when PROGRAM exits 77 (meson's SKIP), as a test must
# when what it needs is missing; fails when it exits 0 (a pass that checked nothing) or else.
"$@"
rc=$?
if [ "$rc" -ne 77 ]; then
  echo "expected exit 77 (skip), got $rc" >&2
  exit 1
fi
echo "exit 77: skipped, as it should"
