#!/usr/bin/env bash
# Throughput benchmarks on this machine, in one go (needs root; builds if needed):
#   (a) dpdk-testpmd --forward-mode=txonly on net_null, one forwarding core: its Mpps
#   (b) dpscan on net_null, one TX lcore, --rate 0: unique, permuted, cookie-bearing probes
#       with full checksums: its Mpps
#   (b6) the same over IPv6 (a prefix generator's targets, 86-byte frames), beside testpmd
#       txonly sending frames of the same length (--txpkts=86) in the same rounds
#   (bu) UDP with the built-in DNS payload (72-byte frames, each probe's payload written with
#       its cookie), beside testpmd txonly at --txpkts=72 in the same rounds
#   (c) dpscan --bench-responder: every probe answered with a valid SYN-ACK by an in-process
#       responder over rte_ring ports: validated results per second, and results lost
# and the microbenchmarks of tests/perf (walk, probe construction, answer validation).
# Ends with one line:
#   tx_mpps=<b> testpmd_mpps=<a> ratio=<b/a> tx6_mpps=<b6> ratio6=<b6/a86> udp_mpps=<bu> ratio_udp=<bu/a72> rx_mpps=<c> rx_lost=<n>
# Usage: scripts/bench.sh [SECONDS per run, default 5] [ROUNDS of (a) and (b), default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
[[ $EUID -eq 0 ]] || { echo "bench: needs root (network namespace, DPDK)" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || scripts/install-deps.sh
scripts/build.sh build >/dev/null

ns=dpsbench$$
work=$(mktemp -d /tmp/dpscan-bench.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; rm -rf /var/run/dpdk/tpm-$$; }
trap cleanup EXIT
ip netns add "$ns"   # nothing below sends on any interface; the namespace makes sure of it
run() { ip netns exec "$ns" "$@"; }
field() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "bench: machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs; DPDK $(pkg-config --modversion libdpdk)"

# (a) and (b) alternate for ROUNDS rounds (default 3) and the medians are compared: this VM's
# speed drifts by tens of percent over a minute, and alternating exposes both programs to it.
testpmd_once() {  # (a) testpmd txonly, main lcore on CPU 0, the forwarding lcore on CPU 1.
  run timeout -s INT "$((secs + 4))" dpdk-testpmd -l 0,1 --no-huge --no-pci --no-shconf -m 1024 \
    --file-prefix "tpm-$$" --vdev net_null0,no-rx=1 -- --forward-mode=txonly --nb-cores=1 --txq=1 --rxq=1 \
    --total-num-mbufs=16384 --stats-period 1 ${1:+--txpkts=$1} >"$work/testpmd.log" 2>&1 || true
  /usr/bin/python3 - "$work/testpmd.log" <<'PY'
import re, sys
v = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", open(sys.argv[1]).read())]
v = v[1:-1] if len(v) > 3 else v     # drop the ramp-up and the interrupted last second
print(f"{sum(v) / len(v) / 1e6:.2f}" if v else "0")
PY
}
dpscan_tx_once() {  # (b) TX lcore on CPU 1 (as testpmd's forwarding core), main and RX on CPU 0.
  run build/src/dpscan -q --no-default-blocklist 198.18.0.0/15 -p 1-10000 --device net_null0,no-rx=1 \
    --source-ip 198.19.255.2 --gateway-mac 02:00:00:00:00:01 --rate 0 --max-runtime "$secs" --cooldown 0 \
    --eal-args "--lcores=0@0,1@1,2@0" -o /dev/null --summary "$work/tx.json"
  /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{s['send_rate_pps']/1e6:.2f}\")" "$work/tx.json"
}
dpscan_tx6_once() {  # (b6) the same over IPv6: 2^24 prefixes x 1000 ports, Windows options.
  run build/src/dpscan -q --no-default-blocklist 2001:db8::/32-56 -p 1-1000 --device net_null0,no-rx=1 \
    --source-ip 2001:db8:ff::2 --gateway-mac 02:00:00:00:00:01 --rate 0 --max-runtime "$secs" --cooldown 0 \
    --eal-args "--lcores=0@0,1@1,2@0" -o /dev/null --summary "$work/tx6.json"
  /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{s['send_rate_pps']/1e6:.2f}\")" "$work/tx6.json"
}
dpscan_udp_once() {  # (bu) UDP, the DNS payload: 198.18.0.0/15 x 53, each target 101 times.
  run build/src/dpscan -q --no-default-blocklist 198.18.0.0/15 -p 53 -M udp --retries 100 \
    --device net_null0,no-rx=1 --source-ip 198.19.255.2 --gateway-mac 02:00:00:00:00:01 --rate 0 \
    --max-runtime "$secs" --cooldown 0 --eal-args "--lcores=0@0,1@1,2@0" -o /dev/null --summary "$work/udp.json"
  /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{s['send_rate_pps']/1e6:.2f}\")" "$work/udp.json"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
tp=() tx=() tp86=() tx6=() tp72=() txu=()
ratio_of() { /usr/bin/python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{b/a:.3f}' if a else 0)" "$1" "$2"; }
for ((r = 1; r <= rounds; r++)); do
  tp86+=("$(testpmd_once 86)")
  tx6+=("$(dpscan_tx6_once)")
  echo "bench: round $r: (a86) testpmd txonly, 86-byte frames: ${tp86[-1]} Mpps; (b6) dpscan IPv6," \
    "86-byte SYNs: ${tx6[-1]} Mpps ($(field "$work/tx6.json" sent) probes); ratio $(ratio_of "${tp86[-1]}" "${tx6[-1]}")"
  tp72+=("$(testpmd_once 72)")
  txu+=("$(dpscan_udp_once)")
  echo "bench: round $r: (a72) testpmd txonly, 72-byte frames: ${tp72[-1]} Mpps; (bu) dpscan UDP," \
    "DNS payload, 72-byte frames: ${txu[-1]} Mpps ($(field "$work/udp.json" sent) probes); ratio $(ratio_of "${tp72[-1]}" "${txu[-1]}")"
  tp+=("$(testpmd_once)")
  tx+=("$(dpscan_tx_once)")
  echo "bench: round $r: (a) testpmd txonly on net_null, 1 forwarding core: ${tp[-1]} Mpps;" \
    "(b) dpscan on net_null, 1 TX lcore, --rate 0: ${tx[-1]} Mpps ($(field "$work/tx.json" sent) probes," \
    "$(field "$work/tx.json" cookie) cookie); ratio $(/usr/bin/python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{b/a:.3f}' if a else 0)" "${tp[-1]}" "${tx[-1]}")"
done
testpmd_mpps=$(median "${tp[@]}")
tx_mpps=$(median "${tx[@]}")
echo "bench: medians over $rounds rounds: testpmd $testpmd_mpps Mpps, dpscan $tx_mpps Mpps"
testpmd86_mpps=$(median "${tp86[@]}")
tx6_mpps=$(median "${tx6[@]}")
testpmd72_mpps=$(median "${tp72[@]}")
udp_mpps=$(median "${txu[@]}")
echo "bench: UDP medians over $rounds rounds: testpmd (72-byte frames) $testpmd72_mpps Mpps, dpscan UDP/DNS $udp_mpps Mpps"
echo "bench: IPv6 medians over $rounds rounds: testpmd (86-byte frames) $testpmd86_mpps Mpps, dpscan IPv6 $tx6_mpps Mpps"

# (c) dpscan against the in-process responder (TX, RX and responder lcores share 2 CPUs).
run build/src/dpscan -q --no-default-blocklist 198.18.0.0/15 -p 1-2000 --bench-responder --source-ip 198.19.255.2 \
  --rate 0 --no-rst --max-runtime "$secs" --cooldown 1 -o /dev/null --summary "$work/rx.json"
read -r rx_mpps rx_lost < <(/usr/bin/python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
print(f\"{s['open'] / s['send_duration_s'] / 1e6:.2f} {s['sent'] - s['open']}\")" "$work/rx.json")
echo "bench: (c) dpscan --bench-responder: $(field "$work/rx.json" sent) probes, $(field "$work/rx.json" open) validated open results, $rx_mpps M results/s, lost $rx_lost, dropped $(field "$work/rx.json" dropped_total)$(/usr/bin/python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))['dropped']
print(''.join(f' {k}={v}' for k, v in d.items() if v))" "$work/rx.json")"

for b in walk_bench probe_bench classify_bench; do echo "bench: $(BENCH_CPU=1 build/tests/$b 2>&1)"; done

ratio=$(/usr/bin/python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{b/a:.3f}' if a else 0)" "$testpmd_mpps" "$tx_mpps")
echo "tx_mpps=$tx_mpps testpmd_mpps=$testpmd_mpps ratio=$ratio tx6_mpps=$tx6_mpps ratio6=$(ratio_of "$testpmd86_mpps" "$tx6_mpps") udp_mpps=$udp_mpps ratio_udp=$(ratio_of "$testpmd72_mpps" "$udp_mpps") rx_mpps=$rx_mpps rx_lost=$rx_lost"
