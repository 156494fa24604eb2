#!/usr/bin/env bash
# udp-peers.sh - what scanners nobody here wrote find on the lab's UDP side, against
# `lab.sh truth --udp` (no dpscan): brings up a lab (own prefix, always taken down),
# then from its scanner namespace
#   nmap -sU   on the sample (IPv4 and IPv6); nmap needs a kernel interface with an
#              address: 198.19.255.3/24 and 2001:db8:ff::3/64 (with routes to the
#              AnyIP ranges) are put on the scanner's veth end for nmap only, and
#              removed after;
#   masscan    -pU:53,U:123,U:161,U:11211 (its own payloads), IPv4, source
#              198.19.255.2 (masscan answers ARP for it itself);
#   zmap 2.1.1 -M udp, one run per port with the payload file of a real request
#              (the probes dpscan's UDP module will send: DNS A www.lab.test, NTPv4
#              mode 3, SNMP v2c get sysDescr.0 public, memcached "version"), IPv4
#              only (zmap 2.1.1 has no IPv6), source 198.19.255.3 for its ARP;
# and prints, for each, found/truth per port (open ports; closed too for nmap and zmap).
# Needs root, nmap, masscan, zmap (scripts/install-deps.sh --bench), /usr/bin/python3
# with scapy. Not part of CI.
# Usage: scripts/udp-peers.sh [--rate PPS] [--offloads on|off] [--runs N]
#   --rate: masscan/zmap rate (default 1000); --offloads: the lab's (default on, Linux's
#   default); --runs: masscan runs (default 3; its UDP results vary from run to run)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
PY=/usr/bin/python3
RATE=1000 OFFLOADS=on RUNS=3
while [[ $# -ge 2 ]]; do
    case $1 in
        --rate) RATE=$2 ;;
        --offloads) OFFLOADS=$2 ;;
        --runs) RUNS=$2 ;;
        *) break ;;
    esac
    shift 2
done
[[ $# -eq 0 ]] || { echo "usage: $0 [--rate PPS] [--offloads on|off] [--runs N]" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "udp-peers: needs root" >&2; exit 1; }
for c in nmap masscan zmap; do
    command -v "$c" >/dev/null || { echo "udp-peers: $c missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
done

PORTS=53,123,161,11211
# every service address, and some addresses with no daemon
T4="198.18.0.53 198.18.1.53 198.18.0.123 198.18.1.123 198.18.0.161 198.18.1.161 198.18.0.211 198.18.1.211 198.18.0.52 198.18.2.53 198.18.7.7"
T6="2001:db8:1::53 2001:db8:1::123 2001:db8:1::161 2001:db8:1::211 2001:db8:1::52 2001:db8:1::7"

P=up$(printf '%06x' $((($$ << 8 ^ RANDOM) & 0xffffff)))
WORK=$(mktemp -d /tmp/udp-peers.XXXXXX)
cleanup() {
    "$LAB" --prefix "$P" down || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
"$LAB" --prefix "$P" --offloads "$OFFLOADS" up >/dev/null
eval "$("$LAB" --prefix "$P" env)"
NS=$LAB_SCAN_NS IF=$LAB_IFACE
MAC_S=$(ip netns exec "$NS" cat "/sys/class/net/$IF/address")
MAC_T=$(ip netns exec "$LAB_TGT_NS" cat "/sys/class/net/$LAB_TGT_IFACE/address")

# truth: "IP PORT STATUS" for the sample
{
    "$LAB" --prefix "$P" truth --udp "${T4// /,}" "$PORTS" open,closed
    "$LAB" --prefix "$P" truth --udp "${T6// /,}" "$PORTS" open,closed
} >"$WORK/truth"

# compare NAME FILE [FAMILY]: FILE has "IP PORT STATUS" lines found by NAME
compare() {
    "$PY" - "$1" "$WORK/truth" "$2" "${3:-46}" <<'EOF'
import ipaddress, sys
name, truth_f, found_f, fams = sys.argv[1:5]
def load(f):
    out = {}
    for line in open(f):
        ip, port, st = line.split()
        a = ipaddress.ip_address(ip)
        if str(a.version) in fams:
            out[(a, int(port))] = st
    return out
truth, found = load(truth_f), load(found_f)
for port in sorted({p for _, p in truth}):
    cells = []
    for st in ("open", "closed"):
        want = {k for k, v in truth.items() if k[1] == port and v == st}
        got = {k for k, v in found.items() if k[1] == port and v == st}
        cells.append(f"{st} {len(got & want)}/{len(want)}" + (f" (+{len(got - want)} not in truth)" if got - want else ""))
    print(f"  {name:<8} udp/{port:<5} " + ", ".join(cells))
EOF
}

# --- nmap (kernel addresses for the duration) --------------------------------
in_scan() { ip netns exec "$NS" "$@"; }
in_scan ip addr add 198.19.255.3/24 dev "$IF"
in_scan sysctl -q -w "net.ipv6.conf.$IF.disable_ipv6=0"
in_scan ip -6 addr add 2001:db8:ff::3/64 dev "$IF" nodad
in_scan ip route add 198.18.0.0/16 via 198.19.255.1
in_scan ip -6 route add 2001:db8:1::/64 via 2001:db8:ff::1
nmap_run() {  # nmap_run OUT ARGS...
    local out=$1; shift
    local t0=$SECONDS
    # shellcheck disable=SC2068
    in_scan nmap -sU -n -Pn --max-retries 2 -p "$PORTS" -oG "$WORK/nmap.gnmap" "$@" >/dev/null
    echo "  nmap -sU -n -Pn --max-retries 2 -p $PORTS ${*:1:2}...: $((SECONDS - t0)) s" >&2
    "$PY" - "$WORK/nmap.gnmap" >>"$out" <<'EOF'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r"Host: (\S+) .*Ports: (.*)", line)
    if not m:
        continue
    for entry in m.group(2).split(","):
        f = entry.strip().split("/")
        print(m.group(1), f[0], {"open": "open", "closed": "closed"}.get(f[1], f[1]))
EOF
}
: >"$WORK/nmap"
# shellcheck disable=SC2086
nmap_run "$WORK/nmap" -S 198.19.255.3 -e "$IF" $T4
# shellcheck disable=SC2086
nmap_run "$WORK/nmap" -6 -S 2001:db8:ff::3 -e "$IF" $T6
cp "$WORK/nmap" "$WORK/nmap.keep"; [[ -z ${UDP_PEERS_DEBUG:-} ]] || cat "$WORK/nmap.gnmap" "$WORK/nmap" >&2
in_scan ip -6 route del 2001:db8:1::/64 via 2001:db8:ff::1
in_scan ip route del 198.18.0.0/16 via 198.19.255.1
in_scan ip -6 addr del 2001:db8:ff::3/64 dev "$IF"
in_scan sysctl -q -w "net.ipv6.conf.$IF.disable_ipv6=1"
in_scan ip addr del 198.19.255.3/24 dev "$IF"
echo "nmap states seen: $(awk '{print $3}' "$WORK/nmap" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"

# --- masscan --------------------------------------------------------------------
# masscan 1.3.2 sometimes stays in pcap after its --wait while no frame arrives (its list
# is written only when it exits): after 8 s, ARP requests from the target wake it (as
# tests/integration/formats_lab.py does).
WAKER='
import logging, sys, time
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, Ether, sendp
iface, dst, src = sys.argv[1:4]
for _ in range(100):
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=dst, psrc=src), iface=iface, verbose=0)
    time.sleep(0.3)
'
for ((run = 1; run <= RUNS; run++)); do
    t0=$SECONDS
    rm -f "$WORK/masscan.list"
    # shellcheck disable=SC2086
    ip netns exec "$NS" masscan ${T4// /,} "-pU:53,U:123,U:161,U:11211" \
        --source-ip "$LAB_SRC_IP" --router-mac "$MAC_T" --adapter-mac "$MAC_S" -e "$IF" \
        --rate "$RATE" --wait 3 -oL "$WORK/masscan.list" >/dev/null 2>"$WORK/masscan.err" &
    mpid=$!
    woke=
    for ((i = 0; i < 80; i++)); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$mpid" 2>/dev/null; then
        ip netns exec "$LAB_TGT_NS" "$PY" -c "$WAKER" "$LAB_TGT_IFACE" "$LAB_SRC_IP" "$LAB_GW_IP" &
        wpid=$!
        woke=" (woken by ARP)"
        for ((i = 0; i < 300; i++)); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
        kill "$mpid" 2>/dev/null && woke=" (killed: did not exit)"
        kill "$wpid" 2>/dev/null || true
        wait "$wpid" 2>/dev/null || true
    fi
    wait "$mpid" || echo "  masscan exit $?" >&2
    echo "  masscan -pU:53,U:123,U:161,U:11211 --rate $RATE --wait 3 (run $run): $((SECONDS - t0)) s$woke" >&2
    awk '$1 == "open" && $2 == "udp" {print $4, $3, "open"}' "$WORK/masscan.list" 2>/dev/null |
        sort -u >"$WORK/masscan.$run"
done

# --- zmap ---------------------------------------------------------------------------
"$PY" - "$WORK" <<'EOF'
import logging, struct, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import DNS, DNSQR, NTP, SNMP, SNMPget, SNMPvarbind, ASN1_OID
w = sys.argv[1]
pl = {
    53: bytes(DNS(id=0x1234, rd=1, qd=DNSQR(qname="www.lab.test", qtype="A"))),
    123: bytes(NTP(version=4, mode=3, sent=3900000000)),
    161: bytes(SNMP(version=1, community="public",
                    PDU=SNMPget(id=1, varbindlist=[SNMPvarbind(oid=ASN1_OID("1.3.6.1.2.1.1.1.0"))]))),
    11211: struct.pack("!HHHH", 1, 0, 1, 0) + b"version\r\n",
}
for port, data in pl.items():
    open(f"{w}/payload.{port}", "wb").write(data)
EOF
in_scan ip addr add 198.19.255.3/24 dev "$IF"
: >"$WORK/zmap"
for port in ${PORTS//,/ }; do
    t0=$SECONDS
    # shellcheck disable=SC2086
    in_scan zmap -M udp -p "$port" --probe-args="file:$WORK/payload.$port" -i "$IF" -S 198.19.255.3 \
        -G "$MAC_T" -r "$RATE" -c 3 -b /dev/null --disable-syslog -q -O csv \
        -f saddr,sport,classification,success --output-filter="success = 0 || success = 1" -o "$WORK/zmap.$port" $T4 \
        2>"$WORK/zmap.err" || { echo "zmap exit $?:"; tail -5 "$WORK/zmap.err"; } >&2
    echo "  zmap -M udp -p $port --probe-args=file:payload.$port -r $RATE -c 3: $((SECONDS - t0)) s" >&2
    awk -F, -v p="$port" 'NR > 1 { st = ($3 == "udp" ? "open" : ($3 ~ /icmp/ ? "closed" : $3)); print $1, p, st }' \
        "$WORK/zmap.$port" >>"$WORK/zmap"
    [[ -z ${UDP_PEERS_DEBUG:-} ]] || head -4 "$WORK/zmap.$port" >&2
done
in_scan ip addr del 198.19.255.3/24 dev "$IF"

echo "found/truth on the sample (lab offloads $OFFLOADS) ($(wc -l <"$WORK/truth") pairs: $(wc -w <<<"$T4") IPv4 and $(wc -w <<<"$T6") IPv6 addresses x $PORTS):"
compare nmap "$WORK/nmap.keep" 4
compare nmap6 "$WORK/nmap.keep" 6
for ((run = 1; run <= RUNS; run++)); do compare "masscan$run" "$WORK/masscan.$run" 4; done
compare zmap "$WORK/zmap" 4
