#!/usr/bin/env bash
# Accuracy against rate: dpscan against dpscan-reflect (the simulated internet) over net_memif
# and virtio-user/vhost-user with the `internet` and `dense` worlds, and dpscan, masscan and
# ZMap against it over a veth pair, sweeping the asked rate. Prints one line per run (asked and
# achieved pps, probes the reflector received, answers it sent, results against what was
# expected, the counters that explain any miss) and writes the table into docs/benchmarks.md
# and the plot to docs/bench-reflect.png. Needs root; installs what it needs (masscan, zmap,
# python3-matplotlib) and builds. Takes about 10 minutes.
#   scripts/bench-reflect.sh [--paths memif,virtio,veth] [--rates 100k,...,0]
#                            [--veth-rates 20k,...] [--scanners dpscan,masscan,zmap]
#                            [--secs S] [--no-write]        (--help: all options)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || { echo "bench-reflect: needs root (network namespaces, DPDK)" >&2; exit 1; }
scripts/install-deps.sh --bench
scripts/build.sh build >/dev/null
exec /usr/bin/python3 scripts/bench_reflect.py "$@"
