#!/usr/bin/env bash
# Regenerates the fuzzer's seed corpus (tests/fuzz/corpus/classify) from real frames: brings
# up a lab, captures the scanner's veth with tshark while dpscan scans it, and keeps a few
# frames of each kind (ARP, our SYNs, SYN-ACKs, RSTs, ICMP unreachables). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=fz$(printf '%04x' $((RANDOM % 65536)))
work=$(mktemp -d /tmp/dpscan-corpus.XXXXXX)
trap 'scripts/lab.sh --prefix "$prefix" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
scripts/lab.sh --prefix "$prefix" up >/dev/null
eval "$(scripts/lab.sh --prefix "$prefix" env)"
ip netns exec "$LAB_SCAN_NS" tshark -q -i "$LAB_IFACE" -w "$work/cap.pcapng" -a duration:6 >/dev/null 2>&1 &
cap=$!
sleep 2
ip netns exec "$LAB_SCAN_NS" build/src/dpscan -q --no-default-blocklist 198.18.0.0/26 -p 22,80,443,8080 \
  --device "net_af_packet0,iface=$LAB_IFACE" --source-ip "$LAB_SRC_IP" --gateway-ip "$LAB_GW_IP" \
  --rate 2000 --cooldown 1 -o /dev/null
wait "$cap" || true
out=tests/fuzz/corpus/classify
mkdir -p "$out"
/usr/bin/python3 - "$work/cap.pcapng" "$out" <<'PY'
import hashlib, os, sys
from scapy.all import rdpcap, ARP, TCP, ICMP
frames = rdpcap(sys.argv[1])
kinds = {}
for f in frames:
    if ARP in f: k = f"arp{f[ARP].op}"
    elif ICMP in f: k = f"icmp{f[ICMP].type}.{f[ICMP].code}"
    elif TCP in f: k = f"tcp{int(f[TCP].flags)}"
    else: k = "other"
    kinds.setdefault(k, []).append(bytes(f))
for k, fs in sorted(kinds.items()):
    for raw in fs[:4]:
        name = f"{k}-{hashlib.sha1(raw).hexdigest()[:12]}"
        open(os.path.join(sys.argv[2], name), "wb").write(raw)
    print(k, len(fs))
PY
ls "$out" | wc -l
