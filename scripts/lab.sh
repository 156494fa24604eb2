#!/usr/bin/env bash
# lab.sh - network-namespace lab for dpscan (DPDK TCP SYN scanner).
#
# Two namespaces joined by one veth pair:
#   ${P}-scan : ${P}s, up, no IP, IPv6 off (the kernel there never answers or
#               sends anything). dpscan attaches here with net_af_packet
#               (src 198.19.255.2, gw 198.19.255.1; src 2001:db8:ff::2,
#               gw 2001:db8:ff::1; it answers ARP and NDP itself).
#   ${P}-tgt  : ${P}t 198.19.255.1/24 and 2001:db8:ff::1/64 (no DAD, no RA/RS;
#               IPv6 on for lo and ${P}t only, no forwarding); the kernel owns
#               all of 198.18.0.0/16 and 2001:db8:1::/64 (AnyIP local routes
#               on lo); listeners on 22/80/443 (0.0.0.0 and ::); iptables
#               (chain LAB-PATTERN) and ip6tables (chain LAB-PATTERN6) rules
#               give each (address, port) a known status, the same pattern on
#               the low bits of either family's address (see `truth`); the
#               rest of 2001:db8::/32 is a blackhole route (silent, as the
#               rest of 198.19.0.0/16 is without forwarding).
#               UDP services from Debian's packages, each bound to exactly
#               three addresses (see start_udp and `truth --udp`): dnsmasq on
#               198.18.0.53, 198.18.1.53, 2001:db8:1::53 port 53; chronyd on
#               .123 (123); snmpd on .161 (161); memcached on .211 (11211); every
#               other UDP port of a target address is closed (ICMP port
#               unreachable).
# Both veth ends keep Linux's default offloads (checksum offload on: the
# target's SYN-ACKs cross the veth with partial TCP checksums, as they do on a
# user's machine); --offloads off (or $LAB_OFFLOADS=off) turns tx, rx, tso,
# gso and gro off on both ends, the variant.
# --tap adds a persistent multi-queue tap ${P}d in the scanner namespace for
# DPDK's net_tap (net_tap0,iface=${P}d), joined to the veth end by tc mirred
# redirects both ways (a bridge would drop dpscan's frames: net_tap gives the
# kernel tap the DPDK port's own MAC, which a bridge takes as its own address).
# Nothing is ever created in the root namespace; all addresses are in
# 198.18.0.0/15 (RFC 2544 benchmarking range) and 2001:db8::/32 (RFC 3849
# documentation range).
#
# Usage: scripts/lab.sh [--prefix P] [--offloads on|off] [--tap] up|down|truth|truth6|env ...
#   up                         build the lab (fails if it already exists)
#   down                       remove the lab (idempotent)
#   truth TARGETS PORTS [ST]   expected "IP PORT" (or "IP PORT STATUS" when
#                              several statuses are asked), ST is a comma list
#                              of open,closed,filtered,unreachable (or all);
#                              default open. TARGETS are IPv4 (198.18.0.0/15)
#                              or IPv6 (2001:db8::/32; CIDR, a-b with full
#                              addresses, single addresses; at most 2^24 of
#                              them), one family per call
#   truth6 ...                 the same as truth (IPv6 addresses printed in
#                              Python's compressed form)
#   truth --udp TARGETS PORTS [ST]
#                              the same for UDP: open where a lab daemon answers
#                              (DNS 53, NTP 123, SNMP 161, memcached 11211 on the
#                              addresses in `up`'s UDP services), closed (ICMP port
#                              unreachable) on the rest of the target's addresses,
#                              filtered elsewhere
#   truth --icmp TARGETS       "IP up" for each target whose ICMP echo request the
#                              target kernel answers, asked of the kernel itself:
#                              inside a local route of the target namespace (its
#                              AnyIP ranges and gateway addresses; `ip route show
#                              table local`), echo not ignored (its sysctls); the
#                              lab up (needs root); one family per call
#   env                        shell assignments (eval "$(lab.sh env)")
# Prefix: --prefix P, else $LAB_PREFIX, else "dpl"; 1-8 chars of [a-z0-9].
# $LAB_MATCH=mask|u32 forces how the address pattern is matched (default:
# non-contiguous netmask if iptables accepts it, else the u32 match; decided
# for iptables and ip6tables separately).
set -euo pipefail

readonly SRC_IP=198.19.255.2
readonly GW_IP=198.19.255.1
readonly GW_CIDR=198.19.255.1/24
readonly TGT_NET=198.18.0.0/16
readonly CHAIN=LAB-PATTERN
readonly PY=/usr/bin/python3
readonly PORTS=(22 80 443)
readonly SRC_IP6=2001:db8:ff::2
readonly GW_IP6=2001:db8:ff::1
readonly GW_CIDR6=2001:db8:ff::1/64
readonly TGT_NET6=2001:db8:1::/64
readonly LAB_NET6=2001:db8::/32
readonly CHAIN6=LAB-PATTERN6
# UDP services (started by `up` in the target namespace, each daemon bound to exactly
# these addresses; `truth --udp` has its own copy of this table)
readonly DNS_ADDRS=(198.18.0.53 198.18.1.53 2001:db8:1::53)
readonly NTP_ADDRS=(198.18.0.123 198.18.1.123 2001:db8:1::123)
readonly SNMP_ADDRS=(198.18.0.161 198.18.1.161 2001:db8:1::161)
readonly MEMCACHED_ADDRS=(198.18.0.211 198.18.1.211 2001:db8:1::211)
readonly DNS_NAME=lab.test DNS_A=198.18.0.80 DNS_AAAA=2001:db8:1::80

PROG=lab.sh
die() { echo "$PROG: error: $*" >&2; exit 1; }
warn() { echo "$PROG: warning: $*" >&2; }
usage() {
    sed -n '/^# Usage:/,/^# for iptables and ip6tables/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

PREFIX=${LAB_PREFIX:-dpl}
OFFLOADS=${LAB_OFFLOADS:-on}
TAP=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --prefix) [[ $# -ge 2 ]] || usage; PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#--prefix=}; shift ;;
        --offloads) [[ $# -ge 2 ]] || usage; OFFLOADS=$2; shift 2 ;;
        --offloads=*) OFFLOADS=${1#--offloads=}; shift ;;
        --tap) TAP=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "$PROG: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || usage
CMD=$1; shift
if [[ $OFFLOADS != on && $OFFLOADS != off ]]; then
    echo "$PROG: --offloads must be on or off, not '$OFFLOADS'" >&2
    exit 2
fi
if [[ ! $PREFIX =~ ^[a-z0-9]{1,8}$ ]]; then
    echo "$PROG: invalid prefix '$PREFIX' (1-8 chars of [a-z0-9])" >&2
    exit 2
fi

readonly P=$PREFIX
readonly NS_SCAN="${P}-scan" NS_TGT="${P}-tgt"
readonly IF_SCAN="${P}s" IF_TGT="${P}t" IF_TAP="${P}d"
readonly RUNDIR="/tmp/${P}-lab"

need_root() { [[ $EUID -eq 0 ]] || die "'$CMD' needs root"; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# nsysctl NS KEY VALUE: set a sysctl inside NS; a missing key is only a warning.
nsysctl() {
    local ns=$1 key=$2 val=$3
    if ! in_ns "$ns" sysctl -q -w "$key=$val" >/dev/null 2>&1; then
        warn "[$ns] sysctl $key=$val not available/settable, ignored"
    fi
}

# offloads_off NS IF: each feature separately, so one unsettable feature
# does not stop the others.
offloads_off() {
    local ns=$1 dev=$2 f
    for f in tx rx tso gso gro; do
        if ! in_ns "$ns" ethtool -K "$dev" "$f" off >/dev/null 2>&1; then
            warn "[$ns] ethtool -K $dev $f off failed, ignored"
        fi
    done
}

do_down() {
    local ns pids i alive
    for ns in "$NS_SCAN" "$NS_TGT"; do
        ns_exists "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            # shellcheck disable=SC2086  # word splitting of the pid list is wanted
            kill -TERM $pids 2>/dev/null || true
            for ((i = 0; i < 30; i++)); do
                alive=$(ip netns pids "$ns" 2>/dev/null || true)
                [[ -z $alive ]] && break
                sleep 0.1
            done
            alive=$(ip netns pids "$ns" 2>/dev/null || true)
            # shellcheck disable=SC2086
            [[ -z $alive ]] || kill -KILL $alive 2>/dev/null || true
        fi
        ip netns del "$ns" || warn "could not delete netns $ns"
    done
    rm -rf -- "$RUNDIR"
}

# Decide how to express "(daddr & M) == V" in iptables: a non-contiguous
# netmask (-d 0.0.0.V/0.0.0.M; iptables-nft turns it into
# "ip daddr & 0.0.0.M == 0.0.0.V") or, as fallback, the u32 match.
MATCH_MODE=
pick_match_mode() {
    local out
    MATCH_MODE=${LAB_MATCH:-}
    case $MATCH_MODE in
        mask|u32) return 0 ;;
        '') ;;
        *) die "LAB_MATCH must be mask or u32" ;;
    esac
    in_ns "$NS_TGT" iptables -w -N LAB-PROBE
    if in_ns "$NS_TGT" iptables -w -A LAB-PROBE -d 0.0.0.17/0.0.0.31 -j RETURN 2>/dev/null &&
        out=$(in_ns "$NS_TGT" iptables -w -S LAB-PROBE) &&
        grep -qF -- '-d 0.0.0.17/0.0.0.31' <<<"$out"; then
        MATCH_MODE=mask
    else
        warn "iptables does not keep non-contiguous netmasks; using the u32 match"
        MATCH_MODE=u32
    fi
    in_ns "$NS_TGT" iptables -w -F LAB-PROBE
    in_ns "$NS_TGT" iptables -w -X LAB-PROBE
}

# rule PORT MASK VALUE|- TARGET...: add one rule to $CHAIN; VALUE "-" = any address.
rule() {
    local port=$1 mask=$2 val=$3; shift 3
    local m=()
    if [[ $val != - ]]; then
        if [[ $MATCH_MODE == mask ]]; then
            m=(-d "0.0.0.$val/0.0.0.$mask")
        else
            # IPv4 header offset 16 = destination address
            m=(-m u32 --u32 "16&0x$(printf '%x' "$mask")=0x$(printf '%x' "$val")")
        fi
    fi
    in_ns "$NS_TGT" iptables -w -A "$CHAIN" -p tcp --dport "$port" "${m[@]}" -j "$@"
}

setup_iptables() {
    local RST=(REJECT --reject-with tcp-reset)
    pick_match_mode
    in_ns "$NS_TGT" iptables -w -N "$CHAIN"
    in_ns "$NS_TGT" iptables -w -A INPUT -d "$TGT_NET" -p tcp -j "$CHAIN"
    # port 22: a&3 == 1 open, == 2 filtered, 0/3 closed
    rule 22 3 1 ACCEPT
    rule 22 3 2 DROP
    rule 22 3 - "${RST[@]}"
    # port 80: a&7 == 7 filtered, == 6 closed, else open
    rule 80 7 7 DROP
    rule 80 7 6 "${RST[@]}"
    rule 80 7 - ACCEPT
    # port 443: a&31 == 17 open, 18 filtered, 19 port-unreach, 20 host-unreach, else closed
    rule 443 31 17 ACCEPT
    rule 443 31 18 DROP
    rule 443 31 19 REJECT --reject-with icmp-port-unreachable
    rule 443 31 20 REJECT --reject-with icmp-host-unreachable
    rule 443 31 - "${RST[@]}"
    # port 53: dnsmasq (the UDP services) also listens on TCP 53 of its addresses;
    # a RST keeps TCP 53 closed everywhere, as the pattern says
    rule 53 0 - "${RST[@]}"
    # any other port: no rule, no listener -> the kernel answers RST.
}

# The same decision for ip6tables: "-d ::11/::1f" kept as written, else u32.
MATCH_MODE6=
pick_match_mode6() {
    local out
    MATCH_MODE6=${LAB_MATCH:-}
    case $MATCH_MODE6 in
        mask|u32) return 0 ;;
        '') ;;
        *) die "LAB_MATCH must be mask or u32" ;;
    esac
    in_ns "$NS_TGT" ip6tables -w -N LAB-PROBE6
    if in_ns "$NS_TGT" ip6tables -w -A LAB-PROBE6 -d ::11/::1f -j RETURN 2>/dev/null &&
        out=$(in_ns "$NS_TGT" ip6tables -w -S LAB-PROBE6) &&
        grep -qF -- '-d ::11/::1f' <<<"$out"; then
        MATCH_MODE6=mask
    else
        warn "ip6tables does not keep non-contiguous netmasks; using the u32 match"
        MATCH_MODE6=u32
    fi
    in_ns "$NS_TGT" ip6tables -w -F LAB-PROBE6
    in_ns "$NS_TGT" ip6tables -w -X LAB-PROBE6
}

# rule6 PORT MASK VALUE|- TARGET...: add one rule to $CHAIN6 (low bits of the
# destination address, as rule does for IPv4); VALUE "-" = any address.
rule6() {
    local port=$1 mask=$2 val=$3; shift 3
    local m=()
    if [[ $val != - ]]; then
        if [[ $MATCH_MODE6 == mask ]]; then
            m=(-d "::$(printf '%x' "$val")/::$(printf '%x' "$mask")")
        else
            # IPv6 header offset 36 = last 32 bits of the destination address
            m=(-m u32 --u32 "36&0x$(printf '%x' "$mask")=0x$(printf '%x' "$val")")
        fi
    fi
    in_ns "$NS_TGT" ip6tables -w -A "$CHAIN6" -p tcp --dport "$port" "${m[@]}" -j "$@"
}

# The IPv4 pattern again; ICMPv6 administratively prohibited / address
# unreachable stand for IPv4's port / host unreachable.
setup_ip6tables() {
    local RST=(REJECT --reject-with tcp-reset)
    pick_match_mode6
    in_ns "$NS_TGT" ip6tables -w -N "$CHAIN6"
    in_ns "$NS_TGT" ip6tables -w -A INPUT -d "$TGT_NET6" -p tcp -j "$CHAIN6"
    # port 22: a&3 == 1 open, == 2 filtered, 0/3 closed
    rule6 22 3 1 ACCEPT
    rule6 22 3 2 DROP
    rule6 22 3 - "${RST[@]}"
    # port 80: a&7 == 7 filtered, == 6 closed, else open
    rule6 80 7 7 DROP
    rule6 80 7 6 "${RST[@]}"
    rule6 80 7 - ACCEPT
    # port 443: a&31 == 17 open, 18 filtered, 19 adm-prohibited, 20 addr-unreach, else closed
    rule6 443 31 17 ACCEPT
    rule6 443 31 18 DROP
    rule6 443 31 19 REJECT --reject-with icmp6-adm-prohibited
    rule6 443 31 20 REJECT --reject-with icmp6-addr-unreachable
    rule6 443 31 - "${RST[@]}"
    rule6 53 0 - "${RST[@]}"  # dnsmasq's TCP 53, as for IPv4
    # any other port: no rule, no listener -> the kernel answers RST.
}

# The tap for net_tap, and everything that crosses it moved to/from the veth end
# by tc (u32 match-all + mirred; no bridge, no IP in the scanner namespace).
setup_tap() {
    local from to
    ip -n "$NS_SCAN" tuntap add dev "$IF_TAP" mode tap multi_queue
    if in_ns "$NS_SCAN" test -d /proc/sys/net/ipv6; then
        nsysctl "$NS_SCAN" "net.ipv6.conf.$IF_TAP.disable_ipv6" 1
    fi
    ip -n "$NS_SCAN" link set "$IF_TAP" up
    for from in "$IF_TAP" "$IF_SCAN"; do
        to=$IF_SCAN
        [[ $from == "$IF_SCAN" ]] && to=$IF_TAP
        tc -n "$NS_SCAN" qdisc add dev "$from" ingress
        tc -n "$NS_SCAN" filter add dev "$from" ingress protocol all u32 match u32 0 0 \
            action mirred egress redirect dev "$to"
    done
}

write_listener() {
    cat >"$RUNDIR/listener.py" <<'EOF'
# Accept-and-close listener for the dpscan lab (runs in the target netns).
import select
import socket
import sys

# listener.py [-6] PORT...: 0.0.0.0:PORT, and with -6 also [::]:PORT (an
# IPV6_V6ONLY socket; the AnyIP /64 on lo needs no IPV6_FREEBIND to accept).
args = sys.argv[1:]
v6 = bool(args) and args[0] == "-6"
if v6:
    args = args[1:]


def listen(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(65535)
    s.setblocking(False)
    return s


socks = []
for port in (int(p) for p in args):
    socks.append(listen(socket.AF_INET, "0.0.0.0", port))
    if v6:
        socks.append(listen(socket.AF_INET6, "::", port))
while True:
    ready, _, _ = select.select(socks, [], [])
    for s in ready:
        for _ in range(4096):
            try:
                c, _ = s.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            c.close()
EOF
}

wait_listening() {
    local i out p ok
    for ((i = 0; i < 100; i++)); do
        out=$(in_ns "$NS_TGT" ss -Hltn 2>/dev/null || true)
        ok=1
        for p in "${PORTS[@]}"; do
            grep -qE "[[:space:]]0\.0\.0\.0:${p}[[:space:]]" <<<"$out" || { ok=0; break; }
            if ((V6)); then
                grep -qE "[[:space:]]\[::\]:${p}[[:space:]]" <<<"$out" || { ok=0; break; }
            fi
        done
        ((ok)) && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# UDP services: real daemons from Debian's packages, each bound to its addresses
# only (every other (address, UDP port) of the lab is closed: no socket, the kernel
# answers ICMP port unreachable). Explicit addresses because, bound to the wildcard,
# several answer an AnyIP address from the address their route prefers
# (198.19.255.1 / 2001:db8:ff::1), not from the probed one (measured: docs/testing.md).
# They never control the clock (chronyd -x), read no system configuration and keep
# their files in $RUNDIR; `down` ends them with the namespace's other processes.

# udp_sockets: the "ADDR:PORT" local addresses `ss -Huln` must show, one a line
udp_sockets() {
    local a
    emit() {
        local port=$1; shift
        for a in "$@"; do
            if [[ $a == *:* ]]; then ((V6)) && echo "[$a]:$port"; else echo "$a:$port"; fi
        done
        return 0
    }
    emit 53 "${DNS_ADDRS[@]}"
    emit 123 "${NTP_ADDRS[@]}"
    emit 161 "${SNMP_ADDRS[@]}"
    emit 11211 "${MEMCACHED_ADDRS[@]}"
}

# start DAEMON ARGS...: in the target namespace, output to $RUNDIR/DAEMON.out
start() {
    local name=$1; shift
    ip netns exec "$NS_TGT" setsid "$@" </dev/null >"$RUNDIR/$name.out" 2>&1 &
}

start_udp() {
    local a v4=() v6=() d
    for d in dnsmasq chronyd snmpd memcached; do
        PATH=$PATH:/usr/sbin:/sbin command -v "$d" >/dev/null ||
            die "missing $d (scripts/install-deps.sh installs dnsmasq-base, chrony, snmpd, memcached)"
    done
    local PATH=$PATH:/usr/sbin:/sbin
    # DNS: dnsmasq, no upstream, no /etc/hosts; A/AAAA for $DNS_NAME and every name
    # under it, CHAOS TXT version.bind ("dnsmasq-<version>", built in). TCP 53 is
    # opened too (cannot be turned off): the TCP pattern REJECTs it (see setup_iptables).
    local listen=()
    for a in "${DNS_ADDRS[@]}"; do
        [[ $a == *:* ]] && ! ((V6)) && continue
        listen+=("--listen-address=$a")
    done
    start dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
        --bind-interfaces "${listen[@]}" --port=53 \
        "--address=/$DNS_NAME/$DNS_A" "--address=/$DNS_NAME/$DNS_AAAA" \
        --pid-file="$RUNDIR/dnsmasq.pid" --log-facility="$RUNDIR/dnsmasq.log"
    # NTP: chronyd serves everyone (allow) as a stratum-8 local reference without
    # any source; bindaddress is once per family per instance, hence one chronyd per
    # IPv4 address (the first also takes the IPv6 address). No command port.
    for a in "${NTP_ADDRS[@]}"; do
        if [[ $a == *:* ]]; then v6+=("$a"); else v4+=("$a"); fi
    done
    local i conf fam
    for ((i = 0; i < ${#v4[@]}; i++)); do
        conf=$RUNDIR/chrony$i.conf
        {
            echo "bindaddress ${v4[i]}"
            fam=(-4)
            if ((i == 0 && V6)) && [[ ${#v6[@]} -gt 0 ]]; then
                echo "bindaddress ${v6[0]}"
                fam=()
            fi
            echo "allow"
            echo "local stratum 8"
            echo "cmdport 0"
            echo "bindcmdaddress /"  # no Unix command socket (/run/chrony is shared)
            echo "pidfile $RUNDIR/chronyd$i.pid"
        } >"$conf"
        start "chronyd$i" chronyd -x -d "${fam[@]}" -f "$conf"
    done
    # SNMP: snmpd, v2c (and v1) community public read-only, sysDescr set; no SMUX
    # (it would listen on TCP 199), no system configuration (-C), state in $RUNDIR.
    local agent=()
    for a in "${SNMP_ADDRS[@]}"; do
        if [[ $a == *:* ]]; then ((V6)) && agent+=("udp6:[$a]:161"); else agent+=("udp:$a:161"); fi
    done
    cat >"$RUNDIR/snmpd.conf" <<EOF
agentaddress $(IFS=,; echo "${agent[*]}")
rocommunity public default
rocommunity6 public default
sysdescr dpscan lab snmpd (net-snmp) in $NS_TGT
syslocation $NS_TGT
syscontact nobody
EOF
    mkdir -p "$RUNDIR/snmp"
    start snmpd env SNMP_PERSISTENT_DIR="$RUNDIR/snmp" MIBS= snmpd -f -C -c "$RUNDIR/snmpd.conf" \
        -I -smux -Lf "$RUNDIR/snmpd.log" -p "$RUNDIR/snmpd.pid"
    # memcached: UDP only (-p 0: no TCP), one thread, 16 MB.
    listen=()
    for a in "${MEMCACHED_ADDRS[@]}"; do
        if [[ $a == *:* ]]; then ((V6)) && listen+=("[$a]"); else listen+=("$a"); fi
    done
    start memcached memcached -u nobody -U 11211 -p 0 -t 1 -m 16 -l "$(IFS=,; echo "${listen[*]}")"

    local want out missing i
    mapfile -t want < <(udp_sockets)
    for ((i = 0; i < 50; i++)); do
        out=$(in_ns "$NS_TGT" ss -Hlun 2>/dev/null | awk '{print $4}')
        missing=()
        for a in "${want[@]}"; do grep -qxF -- "$a" <<<"$out" || missing+=("$a"); done
        [[ ${#missing[@]} -eq 0 ]] && break
        sleep 0.1
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        tail -n 5 "$RUNDIR"/*.out "$RUNDIR"/*.log >&2 2>/dev/null || true
        die "UDP services not listening on ${missing[*]}"
    fi
    # nothing else: every UDP socket is one of ours (a wildcard one would answer everywhere)
    out=$(in_ns "$NS_TGT" ss -Hlun 2>/dev/null | awk '{print $4}' | grep -vxF -f <(printf '%s\n' "${want[@]}") || true)
    [[ -z $out ]] || die "unexpected UDP sockets in $NS_TGT: ${out//$'\n'/ }"
}

UP_DONE=0
V6=0
up_cleanup() {
    local rc=$?
    if ((!UP_DONE)); then
        echo "$PROG: 'up' failed (rc=$rc); removing the partial lab '$P'" >&2
        do_down >/dev/null 2>&1 || true
        ((rc != 0)) || rc=1
    fi
    exit "$rc"
}

do_up() {
    local ns c mac_s mac_t
    need_root
    for c in ip ethtool iptables ip6tables ss sysctl setsid tc "$PY"; do
        command -v "$c" >/dev/null || die "missing command: $c"
    done
    if ns_exists "$NS_SCAN" || ns_exists "$NS_TGT" || [[ -e $RUNDIR ]]; then
        die "lab '$P' already exists (netns $NS_SCAN/$NS_TGT or $RUNDIR); run: $0 --prefix $P down"
    fi
    V6=1
    if [[ ! -d /proc/sys/net/ipv6 ]]; then
        warn "this kernel has no IPv6; the lab gets no IPv6 side"
        V6=0
    fi
    trap up_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    mkdir -p -- "$RUNDIR"
    ip netns add "$NS_SCAN"
    ip netns add "$NS_TGT"

    # IPv6 off in both namespaces before any interface exists (the target side
    # turns it on again for lo and its veth end only).
    for ns in "$NS_SCAN" "$NS_TGT"; do
        in_ns "$ns" ip link set lo up
        if in_ns "$ns" test -d /proc/sys/net/ipv6; then
            nsysctl "$ns" net.ipv6.conf.all.disable_ipv6 1
            nsysctl "$ns" net.ipv6.conf.default.disable_ipv6 1
        fi
    done
    # No forwarding anywhere (a new netns inherits it from the root ns).
    nsysctl "$NS_SCAN" net.ipv4.ip_forward 0
    nsysctl "$NS_TGT" net.ipv4.ip_forward 0
    [[ $(in_ns "$NS_TGT" cat /proc/sys/net/ipv4/ip_forward) == 0 ]] ||
        die "could not set ip_forward=0 in $NS_TGT"

    # veth pair created directly inside the namespaces: never in the root ns.
    ip -n "$NS_SCAN" link add "$IF_SCAN" type veth peer name "$IF_TGT" netns "$NS_TGT"

    # scanner side: no IP, IPv6 off
    if in_ns "$NS_SCAN" test -d /proc/sys/net/ipv6; then
        nsysctl "$NS_SCAN" "net.ipv6.conf.$IF_SCAN.disable_ipv6" 1
    fi
    [[ $OFFLOADS == on ]] || offloads_off "$NS_SCAN" "$IF_SCAN"
    ip -n "$NS_SCAN" link set "$IF_SCAN" up
    if ((TAP)); then setup_tap; fi

    # target side
    if ((V6)); then
        # IPv6 on for lo and the veth end only (all/default stay off): no DAD
        # (the address is usable at once), no router solicitation/RA, no
        # forwarding (a packet for a non-local address is dropped silently).
        nsysctl "$NS_TGT" net.ipv6.conf.all.forwarding 0
        [[ $(in_ns "$NS_TGT" cat /proc/sys/net/ipv6/conf/all/forwarding) == 0 ]] ||
            die "could not set net.ipv6.conf.all.forwarding=0 in $NS_TGT"
        nsysctl "$NS_TGT" "net.ipv6.conf.$IF_TGT.accept_dad" 0
        nsysctl "$NS_TGT" "net.ipv6.conf.$IF_TGT.accept_ra" 0
        nsysctl "$NS_TGT" "net.ipv6.conf.$IF_TGT.router_solicitations" 0
        in_ns "$NS_TGT" sysctl -q -w net.ipv6.conf.lo.disable_ipv6=0 >/dev/null
        in_ns "$NS_TGT" sysctl -q -w "net.ipv6.conf.$IF_TGT.disable_ipv6=0" >/dev/null
    fi
    [[ $OFFLOADS == on ]] || offloads_off "$NS_TGT" "$IF_TGT"
    ip -n "$NS_TGT" addr add "$GW_CIDR" dev "$IF_TGT"
    if ((V6)); then
        # its prefix route (2001:db8:ff::/64 dev $IF_TGT) makes the scanner on-link
        ip -n "$NS_TGT" -6 addr add "$GW_CIDR6" dev "$IF_TGT" nodad
    fi
    ip -n "$NS_TGT" link set "$IF_TGT" up
    ip -n "$NS_TGT" route add local "$TGT_NET" dev lo
    if ((V6)); then
        ip -n "$NS_TGT" -6 route add local "$TGT_NET6" dev lo
        # The rest of 2001:db8::/32 is silent, like the rest of 198.19.0.0/16:
        # without a route the kernel would answer ICMPv6 "no route".
        ip -n "$NS_TGT" -6 route add blackhole "$LAB_NET6"
        in_ns "$NS_TGT" ip -6 route get "$SRC_IP6" from "${TGT_NET6%%/*}1" |
            grep -qE "[[:space:]]dev ${IF_TGT}[[:space:]]" ||
            die "replies to $SRC_IP6 do not leave through $IF_TGT"
    fi
    nsysctl "$NS_TGT" net.ipv4.tcp_syncookies 1
    nsysctl "$NS_TGT" net.ipv4.tcp_max_syn_backlog 65536
    nsysctl "$NS_TGT" net.core.somaxconn 65535
    nsysctl "$NS_TGT" net.ipv4.tcp_synack_retries 1
    # every ICMP error unthrottled: REJECT's unreachables and the kernel's UDP port
    # unreachables (`truth --udp` counts on every closed UDP port answering)
    nsysctl "$NS_TGT" net.ipv4.icmp_ratelimit 0
    nsysctl "$NS_TGT" net.ipv4.icmp_msgs_per_sec 1000000
    nsysctl "$NS_TGT" net.ipv4.icmp_msgs_burst 1000000
    # room for replies queued while the scanner's MAC is being resolved
    nsysctl "$NS_TGT" "net.ipv4.neigh.$IF_TGT.unres_qlen_bytes" 16777216
    if ((V6)); then
        # ICMPv6 errors (REJECT icmp6-*) are rate limited per destination
        # (net.ipv6.icmp.ratelimit, 1000 ms scaled by the route's prefix
        # length); 0 lifts it, as icmp_ratelimit does for IPv4. The global
        # icmp_msgs_per_sec/burst above apply to ICMPv6 too.
        nsysctl "$NS_TGT" net.ipv6.icmp.ratelimit 0
        # IPv6 (unlike IPv4) refuses to bind() an AnyIP address that is on no
        # interface (EADDRNOTAVAIL) unless the socket has IPV6_FREEBIND (chronyd
        # sets it) or this is on: the UDP daemons bind their 2001:db8:1:: addresses.
        in_ns "$NS_TGT" sysctl -q -w net.ipv6.ip_nonlocal_bind=1 >/dev/null
        nsysctl "$NS_TGT" "net.ipv6.neigh.$IF_TGT.unres_qlen_bytes" 16777216
    fi

    setup_iptables
    if ((V6)); then setup_ip6tables; fi

    write_listener
    local v6flag=()
    ((V6)) && v6flag=(-6)
    ip netns exec "$NS_TGT" setsid "$PY" "$RUNDIR/listener.py" "${v6flag[@]}" "${PORTS[@]}" \
        </dev/null >"$RUNDIR/listener.log" 2>&1 &
    echo $! >"$RUNDIR/listener.pid"
    wait_listening || die "listeners on ${PORTS[*]} did not come up (see $RUNDIR/listener.log)"
    start_udp

    mac_s=$(in_ns "$NS_SCAN" cat "/sys/class/net/$IF_SCAN/address")
    mac_t=$(in_ns "$NS_TGT" cat "/sys/class/net/$IF_TGT/address")
    UP_DONE=1
    trap - EXIT INT TERM

    cat <<EOF
lab '$P' is up
  scanner netns : $NS_SCAN   iface $IF_SCAN  mac $mac_s  (no IP; IPv6 off; offloads $OFFLOADS)$( ((TAP)) && echo "; tap $IF_TAP (net_tap0,iface=$IF_TAP) redirected to/from $IF_SCAN")
                  dpscan: ip netns exec $NS_SCAN ... --vdev=net_af_packet0,iface=$IF_SCAN
                  source IP $SRC_IP, gateway $GW_IP (dpscan answers ARP itself)$( ((V6)) && printf '\n%s' "                  source IP $SRC_IP6, gateway $GW_IP6 (dpscan answers NDP itself)")
  target netns  : $NS_TGT    iface $IF_TGT  mac $mac_t  $GW_CIDR$( ((V6)) && echo " $GW_CIDR6 (no DAD)")
  targets       : $TGT_NET (AnyIP), listeners on ${PORTS[*]}, iptables chain $CHAIN ($MATCH_MODE match)$( ((V6)) && printf '\n%s' "                  $TGT_NET6 (AnyIP), listeners on [::] too, ip6tables chain $CHAIN6 ($MATCH_MODE6 match)")
  udp services  : dnsmasq ${DNS_ADDRS[*]} :53, chronyd ${NTP_ADDRS[*]} :123,
                  snmpd ${SNMP_ADDRS[*]} :161, memcached ${MEMCACHED_ADDRS[*]} :11211
  expected      : $0 --prefix $P truth [--udp] TARGETS PORTS [open,closed,filtered,unreachable]
                  $0 --prefix $P truth --icmp TARGETS (hosts answering ICMP echo)
  logs          : $RUNDIR
EOF
}

do_truth_icmp() {
    [[ $# -eq 1 ]] || { echo "usage: $PROG $CMD --icmp TARGETS" >&2; exit 2; }
    need_root
    ip netns list | grep -q "^$NS_TGT\b" || { echo "$PROG: lab '$P' is not up" >&2; exit 1; }
    local locals ign4 ign6
    locals=$({
        ip -n "$NS_TGT" -4 route show table local type local
        ip -n "$NS_TGT" -6 route show table local type local 2>/dev/null || true
    } | awk '{print $2}')
    ign4=$(ip netns exec "$NS_TGT" sysctl -n net.ipv4.icmp_echo_ignore_all)
    ign6=$(ip netns exec "$NS_TGT" sysctl -n net.ipv6.icmp.echo_ignore_all 2>/dev/null || echo 1)
    # shellcheck disable=SC2086
    "$PY" - "$1" "$ign4" "$ign6" $locals <<'EOF'
import ipaddress
import sys

targets, ign4, ign6, *local = sys.argv[1:]
nets = [ipaddress.ip_network(n, strict=False) for n in local]
ignored = {4: ign4.strip() != "0", 6: ign6.strip() != "0"}
lab = {4: ipaddress.ip_network("198.18.0.0/15"), 6: ipaddress.ip_network("2001:db8::/32")}
out, total = [], 0
for tok in targets.replace(",", " ").split():
    try:
        net = ipaddress.ip_network(tok, strict=False)
    except ValueError as e:
        sys.exit("lab.sh truth --icmp: bad target %r: %s" % (tok, e))
    if not net.subnet_of(lab[net.version]):
        sys.exit("lab.sh truth --icmp: target %r is outside %s" % (tok, lab[net.version]))
    total += net.num_addresses
    if total > 1 << 24:
        sys.exit("lab.sh truth --icmp: more than 2^24 targets")
    if ignored[net.version]:
        continue
    mine = [n for n in nets if n.version == net.version and n.overlaps(net)]
    for a in net:
        if any(a in n for n in mine):
            out.append("%s up" % a)
if out:
    print("\n".join(out))
EOF
}

do_truth() {
    if [[ ${1:-} == --icmp ]]; then shift; do_truth_icmp "$@"; return; fi
    local proto=tcp
    if [[ ${1:-} == --udp ]]; then proto=udp; shift; fi
    [[ $# -ge 2 && $# -le 3 ]] || { echo "usage: $PROG $CMD [--udp] TARGETS PORTS [STATUS,...]" >&2; exit 2; }
    "$PY" - "$proto" "$1" "$2" "${3:-open}" <<'EOF'
"""Independent model of the lab: which status each (ip, port) must show.

TCP (the default): the iptables/ip6tables pattern on the low bits of the address.

UDP (--udp): written from the daemons' configuration in `up` (start_udp), not from
probing them. open: a daemon is bound to that address and port and answers the
scanner's probe for the port (DNS 53: dnsmasq answers every standard query -- A/AAAA
for lab.test and names under it with 198.18.0.80 / 2001:db8:1::80, CHAOS TXT
version.bind "dnsmasq-<version>", REFUSED for any other name, an answer all the same;
NTP 123: chronyd answers mode-3 client requests, stratum 8, from a local reference;
SNMP 161: snmpd answers v1/v2c community public, sysDescr.0 readable; memcached
11211: "version" over the 8-byte UDP frame header). closed: any other port of an
address the target kernel owns (198.18.0.0/16, 2001:db8:1::/64 by AnyIP, the gateway
addresses): no socket, the kernel answers ICMP port unreachable (IPv4 type 3 code 3
from the probed address; IPv6 type 1 code 4, from 2001:db8:ff::1, the address its
route prefers: an AnyIP address is on no interface). filtered: everything else (not
local, no forwarding / blackhole: silence). No UDP port is ever "unreachable" (no
iptables rule for UDP).

The UDP model assumes that every closed port answers: the lab sets
net.ipv4.icmp_ratelimit=0 and net.ipv6.icmp.ratelimit=0 in the target namespace
(Linux's per-destination token bucket, 1 s scaled by prefix length for IPv6; it
applies to port unreachable too), and raises the global limits every ICMP error
of either family also passes, net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst, to
10^6. A scan faster than 10^6 closed ports per second, or a kernel where those
sysctls could not be set (a warning from `up`), can see closed ports as filtered.
"""
import ipaddress
import sys

LAB = ipaddress.ip_network("198.18.0.0/15")
ANYIP = ipaddress.ip_network("198.18.0.0/16")
GW = ipaddress.ip_address("198.19.255.1")
LAB6 = ipaddress.ip_network("2001:db8::/32")
ANYIP6 = ipaddress.ip_network("2001:db8:1::/64")
GW6 = ipaddress.ip_address("2001:db8:ff::1")
MAX6 = 1 << 24  # IPv6 addresses per call (a /64 cannot be listed)
LISTEN = (22, 80, 443)
ALL = ("open", "closed", "filtered", "unreachable")
# UDP: port -> addresses whose daemon answers (start_udp's configuration)
UDP_SERVICES = {
    53: ("198.18.0.53", "198.18.1.53", "2001:db8:1::53"),       # dnsmasq
    123: ("198.18.0.123", "198.18.1.123", "2001:db8:1::123"),   # chronyd (2 instances)
    161: ("198.18.0.161", "198.18.1.161", "2001:db8:1::161"),   # snmpd
    11211: ("198.18.0.211", "198.18.1.211", "2001:db8:1::211"),  # memcached
}
UDP_OPEN = {(ipaddress.ip_address(a), p) for p, addrs in UDP_SERVICES.items() for a in addrs}


def die(msg):
    print("lab.sh truth: " + msg, file=sys.stderr)
    sys.exit(2)


def status_udp(addr, port):
    if (addr, port) in UDP_OPEN:
        return "open"
    if addr in ANYIP or addr in ANYIP6 or addr == GW or addr == GW6:
        return "closed"
    return "filtered"


def status(addr, port):
    if UDP:
        return status_udp(addr, port)
    # IPv4 and IPv6 follow the same pattern on the low bits of the address
    a = int(addr) & 0xFFFFFFFF
    if addr in ANYIP or addr in ANYIP6:
        if port == 22:
            return {1: "open", 2: "filtered"}.get(a & 3, "closed")
        if port == 80:
            return {7: "filtered", 6: "closed"}.get(a & 7, "open")
        if port == 443:
            return {17: "open", 18: "filtered",
                    19: "unreachable", 20: "unreachable"}.get(a & 31, "closed")
        return "closed"
    if addr == GW or addr == GW6:
        return "open" if port in LISTEN else "closed"
    # rest of 198.19.0.0/16: not local, no forwarding; rest of 2001:db8::/32:
    # blackhole route (2001:db8:ff::/64 but the gateway: no forwarding)
    return "filtered"


def parse_targets(arg):
    spans = []
    families = set()
    for tok in arg.replace(",", " ").split():
        v6 = ":" in tok
        families.add(6 if v6 else 4)
        if len(families) > 1:
            die("IPv4 and IPv6 targets in one call (%r): ask for each family separately" % tok)
        Addr = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
        Net = ipaddress.IPv6Network if v6 else ipaddress.IPv4Network
        try:
            if "/" in tok:
                net = Net(tok, strict=False)
                lo, hi = net.network_address, net.broadcast_address
            elif "-" in tok:
                a, b = tok.split("-", 1)
                lo = Addr(a)
                if not v6 and "." not in b:  # 198.18.0.1-20 shorthand
                    b = a.rsplit(".", 1)[0] + "." + b
                hi = Addr(b)
            else:
                lo = hi = Addr(tok)
        except ValueError as e:
            die("bad target %r: %s" % (tok, e))
        if lo > hi:
            die("bad target range %r" % tok)
        lab = LAB6 if v6 else LAB
        if lo not in lab or hi not in lab:
            die("target %r is outside %s" % (tok, lab))
        spans.append((int(lo), int(hi)))
    if not spans:
        die("no targets")
    spans.sort()
    merged = [list(spans[0])]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    family = families.pop()
    if family == 6 and sum(hi - lo + 1 for lo, hi in merged) > MAX6:
        die("more than %d IPv6 targets" % MAX6)
    return family, merged


def parse_ports(arg):
    ports = set()
    for tok in arg.replace(",", " ").split():
        try:
            if "-" in tok:
                a, b = tok.split("-", 1)
                lo, hi = int(a), int(b)
            else:
                lo = hi = int(tok)
        except ValueError:
            die("bad port %r" % tok)
        if not (1 <= lo <= hi <= 65535):
            die("bad port range %r" % tok)
        ports.update(range(lo, hi + 1))
    if not ports:
        die("no ports")
    return sorted(ports)


UDP = sys.argv[1] == "udp"
family, spans = parse_targets(sys.argv[2])
Addr = ipaddress.IPv6Address if family == 6 else ipaddress.IPv4Address
ports = parse_ports(sys.argv[3])
want = [s.strip() for s in sys.argv[4].split(",") if s.strip()]
if want == ["all"]:
    want = list(ALL)
for s in want:
    if s not in ALL:
        die("bad status %r (use %s)" % (s, ",".join(ALL)))
if not want:
    die("no status")
want = set(want)
verbose = len(want) > 1
special = [p for p in ports if p in (UDP_SERVICES if UDP else LISTEN)]

out = sys.stdout
try:
    for lo, hi in spans:
        for a in range(lo, hi + 1):
            addr = Addr(a)
            # status of a port outside 22/80/443 (UDP: the service ports) for this address
            default = status(addr, 1)
            plist = ports if default in want else special
            ip = str(addr)
            for p in plist:
                st = status(addr, p)
                if st in want:
                    out.write("%s %d %s\n" % (ip, p, st) if verbose else "%s %d\n" % (ip, p))
    out.flush()
except BrokenPipeError:
    sys.stderr.close()
    sys.exit(0)
EOF
}

do_env() {
    cat <<EOF
LAB_PREFIX=$P
LAB_SCAN_NS=$NS_SCAN
LAB_TGT_NS=$NS_TGT
LAB_IFACE=$IF_SCAN
LAB_SRC_IP=$SRC_IP
LAB_GW_IP=$GW_IP
LAB_TGT_IFACE=$IF_TGT
LAB_TAP=$IF_TAP
LAB_TGT_NET=$TGT_NET
LAB_SRC_IP6=$SRC_IP6
LAB_GW_IP6=$GW_IP6
LAB_TGT_NET6=$TGT_NET6
LAB_UDP_DNS=$(IFS=,; echo "${DNS_ADDRS[*]}")
LAB_UDP_NTP=$(IFS=,; echo "${NTP_ADDRS[*]}")
LAB_UDP_SNMP=$(IFS=,; echo "${SNMP_ADDRS[*]}")
LAB_UDP_MEMCACHED=$(IFS=,; echo "${MEMCACHED_ADDRS[*]}")
LAB_DNS_NAME=$DNS_NAME
EOF
}

case $CMD in
    up) [[ $# -eq 0 ]] || usage; do_up ;;
    down) [[ $# -eq 0 ]] || usage; need_root; do_down ;;
    truth|truth6) do_truth "$@" ;;
    env) [[ $# -eq 0 ]] || usage; do_env ;;
    *) echo "$PROG: unknown command '$CMD'" >&2; usage ;;
esac
