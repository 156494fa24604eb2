#!/usr/bin/env bash
# Fails if clang-format (with the repository's .clang-format) would change any C++ file.
# Usage: scripts/check-format.sh [REPO_ROOT] [--fix]
set -euo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' '*.cc' '*.h' '*.cpp.in' 2>/dev/null ||
  find include src tests -name '*.[ch]pp' -o -name '*.cc')
if [[ ${2:-} == --fix ]]; then
  for f in "${files[@]}"; do [[ ! -f $f ]] || clang-format -i "$f"; done
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "needs clang-format: $f"
    bad=1
  fi
done
exit $bad
