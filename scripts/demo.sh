#!/usr/bin/env bash
# dpscan demo on a fresh Debian 12 machine (as root): installs what is missing, builds,
# brings up the network-namespace lab (scripts/lab.sh), scans it through DPDK's AF_PACKET
# driver with the live status line, shows the results and the summary, checks them against
# the lab's truth, does the same over IPv6 (the lab's 2001:db8:1::/64, NDP both ways), and
# takes the lab down again (also on Ctrl-C or failure).
#
# Nothing leaves the machine: the scanner and its targets live in two network namespaces
# joined by a veth pair, and every address is in 198.18.0.0/15 (RFC 2544 benchmarking) or
# 2001:db8::/32 (documentation).
#
# Usage: scripts/demo.sh [TARGETS [PORTS [RATE [TARGETS6]]]]
#   (default 198.18.0.0/20 22,80,443 20000 2001:db8:1::/116)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=${1:-198.18.0.0/20}
ports=${2:-22,80,443}
rate=${3:-20000}
targets6=${4:-2001:db8:1::/116}

if [[ $EUID -ne 0 ]]; then
  echo "demo: needs root (network namespaces, DPDK); run: sudo $0" >&2
  exit 1
fi
scripts/install-deps.sh
echo "demo: building"
scripts/build.sh build >/dev/null

prefix=demo$(printf '%04x' $((RANDOM % 65536)))
work=$(mktemp -d /tmp/dpscan-demo.XXXXXX)
cleanup() {
  scripts/lab.sh --prefix "$prefix" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "demo: starting the lab '$prefix'"
scripts/lab.sh --prefix "$prefix" up
eval "$(scripts/lab.sh --prefix "$prefix" env)"

# scan FAMILY TARGETS SOURCE GATEWAY: one scan of the lab, shown and checked against its truth.
scan() {
  local family=$1 targets=$2 src=$3 gw=$4 rc
  local out="$work/results$family.csv" summary="$work/summary$family.json"
  local cmd=(build/src/dpscan --no-default-blocklist "$targets" -p "$ports" --rate "$rate" --cooldown 3
    --device "net_af_packet0,iface=$LAB_IFACE" --source-ip "$src" --gateway-ip "$gw"
    --report open,closed,unreachable -o "$out" --summary "$summary")
  echo
  echo "demo: IPv$family: ip netns exec $LAB_SCAN_NS ${cmd[*]}"
  set +e
  ip netns exec "$LAB_SCAN_NS" "${cmd[@]}"
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    echo "demo: dpscan exited with $rc" >&2
    exit "$rc"
  fi
  echo
  echo "demo: first results (of $(($(wc -l <"$out") - 1))):"
  head -n 11 "$out" | column -t -s,
  echo
  echo "demo: summary ($summary):"
  /usr/bin/python3 - "$summary" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"  probes sent   {s['sent']} in {s['send_duration_s']:.2f} s ({s['send_rate_pps']:.0f} pps)")
print(f"  answers       {s['received']} received: open {s['open']}, closed {s['closed']}, "
      f"unreachable {s['unreachable']}, duplicates {s['duplicates']}")
drops = {k: v for k, v in s["dropped"].items() if v}
print(f"  dropped       {s['dropped_total']} {drops if drops else ''}")
d = s["device"]
print(f"  device        {d['name']} (driver {d['driver']}), RX offloads: "
      f"{', '.join(d['rx_offloads']) or 'none'}; partial TCP checksums accepted "
      f"(the lab's veth keeps Linux's checksum offload): {s['rx_csum_partial']}")
print(f"  neighbours    {s['neighbour_replies']} requests for our address answered")
PY
  scripts/lab.sh --prefix "$prefix" truth "$targets" "$ports" open,closed,unreachable | sort >"$work/truth$family.txt"
  tail -n +2 "$out" | awk -F, '{print $1, $2, $3}' | sort >"$work/found$family.txt"
  if diff -q "$work/truth$family.txt" "$work/found$family.txt" >/dev/null; then
    echo "demo: IPv$family: every answer matches the lab's truth ($(grep -c ' open$' "$work/truth$family.txt") open," \
      "$(grep -c ' closed$' "$work/truth$family.txt") closed, $(grep -c ' unreachable$' "$work/truth$family.txt") unreachable;" \
      "filtered ports stay silent)"
  else
    echo "demo: IPv$family: results differ from the lab's truth:"
    diff "$work/truth$family.txt" "$work/found$family.txt" | head -20
    exit 1
  fi
}

scan 4 "$targets" "$LAB_SRC_IP" "$LAB_GW_IP"
scan 6 "$targets6" "$LAB_SRC_IP6" "$LAB_GW_IP6"
