#!/usr/bin/env bash
# A new user's machine, as a test: builds a fresh Debian 12 root (debootstrap minbase: no
# compiler, no python, no cmake, no DPDK), clones this repository's committed HEAD into it
# and runs CMD there as root (default: the README's demo, then the unit tests, the clang fuzz
# build's configuration and a sanitized libFuzzer program, i.e. every build and run
# dependency the two README commands need).
# Fails if CMD fails: a package that install-deps.sh does not install but the build or the
# demo needs is found only by accident on a developer's machine, never here.
#
# Usage: scripts/fresh-root-check.sh [CMD]      (root; takes a few minutes)
# The root lives in a temporary directory under /var/tmp and is removed at the end, also on
# failure; only the host's apt package cache (/var/cache/apt/archives) is shared with it,
# to save downloads (cached .deb files, nothing installed). The root shares the host's
# kernel, so the demo's network-namespace lab works inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The clang fuzz build is configured (meson finds every dependency with clang) and a small
# libFuzzer program is built with the sanitizers and run (the runtimes are installed); the
# full fuzz build, the same sources, runs in CI on the host.
cmd=${1:-'scripts/demo.sh && meson test -C build --suite unit --print-errorlogs &&
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null &&
  printf "extern \"C\" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n" \
    >/tmp/fuzz-check.cc &&
  clang++ -fsanitize=fuzzer,address,undefined /tmp/fuzz-check.cc -o /tmp/fuzz-check &&
  /tmp/fuzz-check -runs=100 2>/dev/null && echo "fresh root: clang fuzz toolchain ok"'}

say() { echo "fresh-root-check: $*" >&2; }
# Inside a fresh root (this script's, or ../shared/tools/fresh-root.sh's chroot) the check
# has nothing to add, and a root inside a chroot would be a root too many.
init_root=$(stat -Lc %d:%i /proc/1/root 2>/dev/null || true)  # unreadable in some containers
if [[ ${DPSCAN_IN_FRESH_ROOT:-} == 1 || (-n $init_root && $init_root != "$(stat -c %d:%i /)") ]]; then
  say "SKIP (running inside a chroot already)"
  exit 77
fi
[[ $EUID -eq 0 ]] || { say "needs root (debootstrap, chroot)"; exit 77; }
command -v debootstrap >/dev/null || { say "debootstrap is missing (scripts/install-deps.sh installs it)"; exit 1; }
git rev-parse --verify -q HEAD >/dev/null || { say "not a git checkout with a commit"; exit 1; }

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[[ -n $mirror ]] || mirror=http://deb.debian.org/debian
root=$(mktemp -d /var/tmp/dpscan-fresh.XXXXXX)
mounted=()
cleanup() {
  local rc=$? i m
  set +e
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done
  # Never delete through a mount that is still there (it would reach /dev, /proc, the cache).
  m=$(findmnt -rn -o TARGET | grep -F "$root" || true)
  if [[ -n $m ]]; then
    say "mounts left under $root, not deleting it: $m"
  else
    rm -rf --one-file-system -- "$root"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mounted+=("$2"); }

t0=$SECONDS
say "debootstrap bookworm (minbase) into $root from $mirror"
debootstrap --variant=minbase --include=git,ca-certificates --cache-dir=/var/cache/apt/archives \
  bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  { tail -n 20 "$root.debootstrap.log" >&2; rm -f "$root.debootstrap.log"; say "debootstrap failed"; exit 1; }
rm -f "$root.debootstrap.log"
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/apt.conf.d/99*; do [[ ! -e $f ]] || cp "$f" "$root/etc/apt/apt.conf.d/"; done
# apt in the root keeps its downloads (Debian's docker images delete them) in the shared cache.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$root/etc/apt/apt.conf.d/01keep"
rm -f "$root/etc/apt/apt.conf.d/docker-clean"
git clone -q "$PWD" "$root/root/project"
say "root ready in $((SECONDS - t0)) s; project at $(git rev-parse --short HEAD)"

# The root must be a mount point of its own, as / is on a real machine (ip netns exec).
bind "$root" "$root"
for d in proc sys dev dev/pts run; do bind "/$d" "$root/$d"; done
bind /var/cache/apt/archives "$root/var/cache/apt/archives"
say "running: $cmd"
rc=0
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb DPSCAN_IN_FRESH_ROOT=1 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -lc "cd /root/project && ($cmd)" || rc=$?
if [[ $rc -ne 0 ]]; then
  say "FAIL: the command exited with $rc in a fresh Debian 12 root (after $((SECONDS - t0)) s)"
  exit 1
fi
say "PASS in $((SECONDS - t0)) s"
