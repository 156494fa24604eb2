#!/usr/bin/env bash
# lab_selftest.sh - check that the netns lab behaves as `lab.sh truth` says,
# without dpscan: brings up a lab with a unique prefix, gives the scanner
# veth a kernel address for the duration of the test, probes a sample of
# (ip, port) pairs with scapy SYNs from inside the scanner namespace and
# compares each observed status with the truth.
#   SYN-ACK -> open, RST -> closed, ICMP dest-unreachable -> unreachable,
#   nothing (after one retry) -> filtered.
# Exit 0 when every pair matches, 1 on a mismatch or error, 77 (skip) when
# not root or /usr/bin/python3 lacks scapy. Needs root. LAB_MATCH=mask|u32
# is passed through to lab.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/../../scripts/lab.sh"
PY=/usr/bin/python3
PORTS=22,80,443,8080
# all of 198.18.0.0/27, a few in 198.18.200.0/24 and at the /16 edge, the
# gateway address itself and two non-local 198.19 addresses (filtered)
TARGETS="198.18.0.0/27 198.18.200.0 198.18.200.1 198.18.200.2 198.18.200.6"
TARGETS+=" 198.18.200.7 198.18.200.17-20 198.18.200.30 198.18.200.255"
TARGETS+=" 198.18.255.255 198.19.255.1 198.19.255.7 198.19.7.9"

if [[ $EUID -ne 0 ]]; then
    echo "lab_selftest: SKIP (needs root)"
    exit 77
fi
if ! "$PY" -c 'import scapy.all' 2>/dev/null; then
    echo "lab_selftest: SKIP ($PY has no scapy; apt-get install python3-scapy)"
    exit 77
fi

# unique prefix: "st" + 6 hex digits
P=
for _ in 1 2 3 4 5 6 7 8; do
    cand=$(printf 'st%06x' $(((($$ << 12) ^ (RANDOM << 8) ^ RANDOM) & 0xffffff)))
    if ! ip netns list | awk '{print $1}' | grep -qE "^${cand}-(scan|tgt)\$" &&
        [[ ! -e /tmp/${cand}-lab ]]; then
        P=$cand
        break
    fi
done
[[ -n $P ]] || { echo "lab_selftest: could not find a free prefix" >&2; exit 1; }

NS_SCAN="${P}-scan"
IF_SCAN="${P}s"
WORK=$(mktemp -d /tmp/lab_selftest.XXXXXX)

cleanup() {
    local rc=$?
    set +e
    if ip netns list | awk '{print $1}' | grep -qxF "$NS_SCAN"; then
        ip -n "$NS_SCAN" route flush dev "$IF_SCAN" 2>/dev/null
        ip -n "$NS_SCAN" addr flush dev "$IF_SCAN" 2>/dev/null
    fi
    "$LAB" --prefix "$P" down || { echo "lab_selftest: lab.sh down failed" >&2; rc=1; }
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "lab_selftest: FAIL: $*" >&2; exit 1; }

t0=$SECONDS
"$LAB" --prefix "$P" up >"$WORK/up.out" || fail "lab.sh up failed"

# structural checks
ip link show "$IF_SCAN" >/dev/null 2>&1 && fail "$IF_SCAN visible in the root netns"
ip link show "${P}t" >/dev/null 2>&1 && fail "${P}t visible in the root netns"
[[ -z $(ip -n "$NS_SCAN" -4 -o addr show dev "$IF_SCAN") ]] || fail "$IF_SCAN has an IPv4 address after up"
[[ -z $(ip -n "$NS_SCAN" -6 -o addr show dev "$IF_SCAN") ]] || fail "$IF_SCAN has an IPv6 address after up"
[[ $(ip netns exec "$NS_SCAN" cat "/proc/sys/net/ipv6/conf/$IF_SCAN/disable_ipv6") == 1 ]] ||
    fail "IPv6 not disabled on $IF_SCAN"

# Temporary kernel address for the probe. /32 + host route to the gateway
# so that every target (also 198.19.x.y) goes via 198.19.255.1, as it does
# for dpscan.
ip -n "$NS_SCAN" addr add 198.19.255.2/32 dev "$IF_SCAN"
ip -n "$NS_SCAN" route add 198.19.255.1/32 dev "$IF_SCAN" scope link
ip -n "$NS_SCAN" route add 198.18.0.0/15 via 198.19.255.1 dev "$IF_SCAN"

"$LAB" --prefix "$P" truth "$TARGETS" "$PORTS" open,closed,filtered,unreachable >"$WORK/truth" ||
    fail "lab.sh truth failed"

cat >"$WORK/probe.py" <<'EOF'
import sys
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, ICMP, conf, sr

truth_file, result_file, iface = sys.argv[1:4]
conf.verb = 0
conf.iface = iface
expected = {}
for line in open(truth_file):
    ip, port, st = line.split()
    expected[(ip, int(port))] = st

pkts = []
for i, (ip, port) in enumerate(sorted(expected)):
    pkts.append(IP(dst=ip) / TCP(sport=20000 + i, dport=port, flags="S",
                                  seq=0x1000 + i))
ans, unans = sr(pkts, timeout=1.0, retry=1, verbose=0)

observed = {}
for snd, rcv in ans:
    key = (snd[IP].dst, snd[TCP].dport)
    if rcv.haslayer(TCP) and not rcv.haslayer(ICMP):
        fl = rcv[TCP].flags
        if fl & 0x12 == 0x12:
            st = "open"
        elif fl & 0x04:
            st = "closed"
        else:
            st = "odd-tcp-flags-%s" % fl
    elif rcv.haslayer(ICMP):
        t, c = rcv[ICMP].type, rcv[ICMP].code
        st = "unreachable" if t == 3 else "icmp-%d-%d" % (t, c)
    else:
        st = "odd-reply"
    observed[key] = st

mism = 0
for key in sorted(expected, key=lambda k: (tuple(int(x) for x in k[0].split(".")), k[1])):
    obs = observed.get(key, "filtered")
    if obs != expected[key]:
        mism += 1
        print("MISMATCH %s %d expected=%s observed=%s" % (key[0], key[1], expected[key], obs))
with open(result_file, "w") as f:
    f.write("%d %d\n" % (len(expected), mism))
EOF

rc=0
timeout 60 ip netns exec "$NS_SCAN" "$PY" "$WORK/probe.py" "$WORK/truth" "$WORK/result" "$IF_SCAN" || rc=$?
if [[ $rc -ne 0 || ! -s $WORK/result ]]; then
    echo "lab_selftest: probe failed (rc=$rc)" >&2
    echo "lab_selftest: 0 pairs checked, error"
    exit 1
fi
read -r n m <"$WORK/result"
counts=$(awk '{c[$3]++} END {for (s in c) printf "%s%s=%d", (n++ ? " " : ""), s, c[s]}' "$WORK/truth")

ip -n "$NS_SCAN" route flush dev "$IF_SCAN"
ip -n "$NS_SCAN" addr flush dev "$IF_SCAN"

echo "lab_selftest: prefix $P, expected mix: $counts, $((SECONDS - t0)) s"
echo "lab_selftest: $n pairs checked, $m mismatches"
[[ $n -gt 0 && $m -eq 0 ]]
