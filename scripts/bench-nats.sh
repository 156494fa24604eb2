#!/usr/bin/env bash
# bench-nats.sh - how fast dpscan's JetStream results sink stores results: a 3-node nats-server
# cluster (Debian's) on 127.0.0.1 with a temporary store, started and stopped here, and
# build/tests/nats_publish_bench against it: a stream with 1 replica and one with 3, results
# fed as fast as they come, then offered at a 10 GbE scan's result rate (about 0.3 M/s: 14.88
# Mpps of probes at a 2% hit rate). Prints one line per run; figures go to docs/benchmarks.md
# by hand, with this command.
# Usage: scripts/bench-nats.sh [RESULTS]   (default 3000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000000}
bench=build/tests/nats_publish_bench
[[ -x $bench ]] || { echo "bench-nats: build first (scripts/build.sh)" >&2; exit 1; }
command -v nats-server >/dev/null || { echo "bench-nats: nats-server missing (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/dpscan-bench-nats.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
base=$((20000 + RANDOM % 30000))
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [[ $j == "$i" ]] || routes+="nats-route://127.0.0.1:$((base + 10 + j)),"; done
  cat >"$work/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((base + i))
http: 127.0.0.1:$((base + 20 + i))
jetstream { store_dir: $work/n$i, max_memory_store: 64MB, max_file_store: 8GB }
cluster { name: bench, listen: 127.0.0.1:$((base + 10 + i)), routes: [${routes%,}] }
CONF
  nats-server -c "$work/n$i.conf" >"$work/n$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  for _ in $(seq 100); do
    /usr/bin/python3 -c "import urllib.request,sys; sys.exit(0 if b'ok' in urllib.request.urlopen('http://127.0.0.1:$((base + 20 + i))/healthz',timeout=1).read() else 1)" 2>/dev/null && break
    sleep 0.2
  done
done
url="nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2))"
echo "bench-nats: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), nats-server $(nats-server --version | awk '{print $NF}'), $n results per run"
export DPSCAN_NATS_SPOOL=$work/spool
for r in 1 3; do
  "$bench" "$url/bench.r$r.max" "$r" "$n" 2>/dev/null
  "$bench" "$url/bench.r$r.paced" "$r" "$n" 300000 2>/dev/null
done
