#!/usr/bin/env bash
# icmp-peers.sh - an ICMP echo sweep of the lab's /16 (and a /24 nobody holds) by dpscan
# (-M icmp-echo) and by ZMap 2.1.1 (-M icmp_echoscan), each against the kernel's truth
# (`lab.sh truth --icmp`: the addresses the target namespace's kernel holds and answers
# echo for). Brings up a lab (own prefix, always taken down); both run from its scanner
# namespace, on its veth: dpscan through net_af_packet (it answers ARP for its source
# itself), zmap with 198.19.255.3/24 put on the veth for its ARP and removed after.
# Prints, for each, hosts found/truth, found outside the truth, the command and its time.
# Needs root, zmap (scripts/install-deps.sh --bench), a built build/src/dpscan (or $DPSCAN),
# /usr/bin/python3. Not part of CI.
# Usage: scripts/icmp-peers.sh [--rate PPS] [--runs N] [--offloads on|off]
#   --rate: both scanners' rate (default 20000); --runs: runs of each (default 3);
#   --offloads: the lab's (default on, Linux's default)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
DPSCAN=${DPSCAN:-$HERE/../build/src/dpscan}
PY=/usr/bin/python3
RATE=20000 RUNS=3 OFFLOADS=on
while [[ $# -ge 2 ]]; do
    case $1 in
        --rate) RATE=$2 ;;
        --runs) RUNS=$2 ;;
        --offloads) OFFLOADS=$2 ;;
        *) break ;;
    esac
    shift 2
done
[[ $# -eq 0 ]] || { echo "usage: $0 [--rate PPS] [--runs N] [--offloads on|off]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "icmp-peers: needs root" >&2; exit 1; }
command -v zmap >/dev/null || { echo "icmp-peers: zmap missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
[[ -x $DPSCAN ]] || { echo "icmp-peers: no $DPSCAN (scripts/build.sh build)" >&2; exit 1; }

# the lab's AnyIP /16 (every address answers) and a /24 of the lab's range nobody holds
TARGETS=198.18.0.0/16,198.19.254.0/24

P=ip$(printf '%06x' $((($$ << 8 ^ RANDOM) & 0xffffff)))
WORK=$(mktemp -d /tmp/icmp-peers.XXXXXX)
cleanup() {
    "$LAB" --prefix "$P" down || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
"$LAB" --prefix "$P" --offloads "$OFFLOADS" up >/dev/null
eval "$("$LAB" --prefix "$P" env)"
NS=$LAB_SCAN_NS IF=$LAB_IFACE
MAC_T=$(ip netns exec "$LAB_TGT_NS" cat "/sys/class/net/$LAB_TGT_IFACE/address")
"$LAB" --prefix "$P" truth --icmp "$TARGETS" | awk '{print $1}' | sort -u >"$WORK/truth"

secs() { printf '%d.%d' $((($2 - $1) / 1000000000)) $((($2 - $1) / 100000000 % 10)); }

# compare NAME FILE (one address a line): found/truth, found outside the truth
compare() {
    local found extra
    found=$(comm -12 "$WORK/truth" "$2" | wc -l)
    extra=$(comm -13 "$WORK/truth" "$2" | wc -l)
    echo "  $1: $found/$(wc -l <"$WORK/truth") hosts up found, $extra not in the truth"
}

echo "ICMP echo sweep of $TARGETS ($(wc -l <"$WORK/truth") hosts up in the kernel's truth), rate $RATE, lab offloads $OFFLOADS:"
for ((run = 1; run <= RUNS; run++)); do
    t0=$(date +%s%N)
    ip netns exec "$NS" "$DPSCAN" -q --no-default-blocklist -M icmp-echo "$TARGETS" --rate "$RATE" \
        --cooldown 3 --device "net_af_packet0,iface=$IF" --source-ip "$LAB_SRC_IP" \
        --gateway-ip "$LAB_GW_IP" --status-format none --output-format csv \
        --output-fields ip -o "$WORK/dpscan.csv" --summary "$WORK/dpscan.summary"
    t1=$(date +%s%N)
    tail -n +2 "$WORK/dpscan.csv" | sort -u >"$WORK/dpscan.$run"
    echo "  dpscan -M icmp-echo $TARGETS --rate $RATE --cooldown 3 (run $run): $(secs "$t0" "$t1") s," \
        "summary sent $("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["sent"], "up", s["up"], "dropped", s["dropped_total"])' "$WORK/dpscan.summary")"
    compare "dpscan run $run" "$WORK/dpscan.$run"
done

ip netns exec "$NS" ip addr add 198.19.255.3/24 dev "$IF"
for ((run = 1; run <= RUNS; run++)); do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    ip netns exec "$NS" zmap -M icmp_echoscan -i "$IF" -S 198.19.255.3 -G "$MAC_T" -r "$RATE" -c 3 \
        -b /dev/null --disable-syslog -q -O csv -f saddr,classification,success \
        --output-filter="success = 1" -o "$WORK/zmap.csv" ${TARGETS//,/ } 2>"$WORK/zmap.err" ||
        { echo "zmap exit $?:"; tail -5 "$WORK/zmap.err"; } >&2
    t1=$(date +%s%N)
    awk -F, 'NR > 1 && $2 == "echoreply" {print $1}' "$WORK/zmap.csv" | sort -u >"$WORK/zmap.$run"
    echo "  zmap -M icmp_echoscan -r $RATE -c 3 -b /dev/null $TARGETS (run $run): $(secs "$t0" "$t1") s," \
        "$(awk -F, 'NR > 1' "$WORK/zmap.csv" | wc -l) replies written ($(awk -F, 'NR > 1 && $2 != "echoreply"' "$WORK/zmap.csv" | wc -l) not echoreply)"
    compare "zmap run $run" "$WORK/zmap.$run"
done
ip netns exec "$NS" ip addr del 198.19.255.3/24 dev "$IF"
