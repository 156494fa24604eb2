#!/usr/bin/env bash
# bad_input.sh CASE - dpscan must refuse bad input cleanly.
#
# Runs dpscan once with one problem (everything else valid) and checks:
#   - it ends within 30 s (timeout), with the expected exit code (2 usage
#     error, 1 run-time failure), never a signal (exit >= 128);
#   - stderr has exactly one line "dpscan: error: ..." and it names the
#     problem (a key word, case-insensitive regex); usage errors add the line
#     "Try 'dpscan --help' for more information." and write nothing on stdout;
#   - no "Segmentation", "Aborted", "PANIC", "Backtrace" in the output;
#   - no control byte (but newline) in stderr: quoted input is escaped.
# Non-device cases use --dry-run (nothing can be sent). Device cases run
# inside a throwaway network namespace with a veth pair (both ends in it) and
# need root (else exit 77); the netns is removed on exit.
# `bad_input.sh` (no CASE, or "all") runs every case; `--list` lists them.
# Env: DPSCAN, SRCDIR (default: this checkout). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$HERE/../.." && pwd)}
DPSCAN=${DPSCAN:-$SRCDIR/build/src/dpscan}
export SRCDIR DPSCAN

CASES=(
    unknown_flag target_octet target_prefix target_range
    port_zero port_reversed port_text port_too_big
    no_targets no_ports
    targets_file_missing targets_file_unreadable targets_file_directory targets_file_binary
    exclude_file_missing exclude_bad all_excluded all_blocklisted
    bad_output_format bad_report rx_checksum
    device_no_iface device_no_driver gateway_silent
    cpus_syntax cpus_disagree cpus_not_allowed
    module_unknown udp_payload_field udp_payload_oversize udp_payload_file udp_payload_hex
    udp_payload_port icmp_echo_ports family_mix hitlist_bad_line generator_too_big
)

if [[ ${1:-all} == --list ]]; then
    printf '%s\n' "${CASES[@]}"
    exit 0
fi
if [[ ${1:-all} == all ]]; then
    failed=()
    for c in "${CASES[@]}"; do
        rc=0
        "$0" "$c" || rc=$?
        [[ $rc -eq 0 || $rc -eq 77 ]] || failed+=("$c")
    done
    if [[ ${#failed[@]} -gt 0 ]]; then
        echo "bad_input: FAIL: ${failed[*]}" >&2
        exit 1
    fi
    echo "bad_input: all ${#CASES[@]} cases passed (or skipped)"
    exit 0
fi

CASE=$1
NAME="bad_input[$CASE]"
[[ -x $DPSCAN ]] || { echo "$NAME: FAIL: dpscan binary '$DPSCAN' not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/bad_input.XXXXXX)
chmod 755 "$WORK"
NS=
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n $NS ]] && ip netns list | awk '{print $1}' | grep -qxF "$NS"; then
        local pids
        pids=$(ip netns pids "$NS" 2>/dev/null)
        # shellcheck disable=SC2086
        [[ -z $pids ]] || kill -KILL $pids 2>/dev/null
        ip netns del "$NS" || { echo "$NAME: could not delete netns $NS" >&2; rc=1; }
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "$NAME: SKIP ($*)"; exit 77; }

# make_netns: a fresh netns with a veth pair, both ends inside, up, no addresses
VETH_A=
make_netns() {
    [[ $EUID -eq 0 ]] || skip "device cases need root"
    local tag
    tag=$(printf '%06x' $(((($$ << 12) ^ (RANDOM << 8) ^ RANDOM) & 0xffffff)))
    NS="dpsbi-$tag"
    ! ip netns list | awk '{print $1}' | grep -qxF "$NS" || fail "netns $NS already exists"
    ip netns add "$NS" || { NS=; fail "ip netns add failed"; }
    VETH_A="bi${tag}a"
    ip -n "$NS" link set lo up
    ip -n "$NS" link add "$VETH_A" type veth peer name "bi${tag}b" || fail "veth creation failed"
    ip -n "$NS" link set "$VETH_A" up
    ip -n "$NS" link set "bi${tag}b" up
    if ip netns exec "$NS" test -d /proc/sys/net/ipv6; then
        ip netns exec "$NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
    fi
}

# Valid base arguments; each case adds exactly one problem.
DRY=(--dry-run --no-default-blocklist)
T=198.18.0.0/30
P=(-p 80)
# a device run: targets in the lab range, low rate, nothing reachable
DEV_BASE=(--no-default-blocklist "$T" -p 80 --source-ip 198.19.255.2 --rate 100 --cooldown 0)
PREFIX=()        # command prefix (netns, setpriv)
ARGS=()
RC=2
KEY=

case $CASE in
    unknown_flag) ARGS=("${DRY[@]}" "$T" "${P[@]}" --bogus); KEY=bogus ;;
    target_octet) ARGS=("${DRY[@]}" 198.18.0.300 "${P[@]}"); KEY='198\.18\.0\.300' ;;
    target_prefix) ARGS=("${DRY[@]}" 198.18.0.0/33 "${P[@]}"); KEY='198\.18\.0\.0/33' ;;
    target_range) ARGS=("${DRY[@]}" 198.18.0.9-198.18.0.1 "${P[@]}"); KEY='198\.18\.0\.9-198\.18\.0\.1' ;;
    port_zero) ARGS=("${DRY[@]}" "$T" -p 0); KEY="port" ;;
    port_reversed) ARGS=("${DRY[@]}" "$T" -p 80-70); KEY='80-70' ;;
    port_text) ARGS=("${DRY[@]}" "$T" -p abc); KEY='abc' ;;
    port_too_big) ARGS=("${DRY[@]}" "$T" -p 70000); KEY='70000' ;;
    no_targets) ARGS=("${DRY[@]}" "${P[@]}"); KEY='target' ;;
    no_ports) ARGS=("${DRY[@]}" "$T"); KEY='port' ;;
    targets_file_missing)
        ARGS=("${DRY[@]}" --targets-file "$WORK/no-such-targets.txt" "${P[@]}"); KEY='no-such-targets\.txt' ;;
    targets_file_unreadable)
        echo "$T" >"$WORK/secret-targets.txt"
        chmod 000 "$WORK/secret-targets.txt"
        if [[ $EUID -eq 0 ]]; then
            # root reads anything: drop to nobody for this run
            command -v setpriv >/dev/null || skip "needs setpriv to drop root"
            PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
            # a copy nobody can run, wherever the build is (/root/... is not readable)
            cp "$DPSCAN" "$WORK/dpscan" && chmod 755 "$WORK/dpscan" && DPSCAN=$WORK/dpscan
            setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -x "$DPSCAN" ||
                skip "user nobody cannot execute $DPSCAN"
        fi
        ARGS=("${DRY[@]}" --targets-file "$WORK/secret-targets.txt" "${P[@]}"); KEY='secret-targets\.txt' ;;
    targets_file_directory)
        mkdir "$WORK/targets-dir"
        ARGS=("${DRY[@]}" --targets-file "$WORK/targets-dir" "${P[@]}"); KEY='targets-dir' ;;
    targets_file_binary)
        # a binary file: the error quotes its first "line", escaped (\x7fELF...)
        cp /bin/ls "$WORK/ls.bin"
        ARGS=("${DRY[@]}" --targets-file "$WORK/ls.bin" "${P[@]}"); KEY='ls\.bin:1: .*\\x7fELF' ;;
    rx_checksum) ARGS=("${DRY[@]}" "$T" "${P[@]}" --rx-checksum sometimes); KEY='rx-checksum.*sometimes' ;;
    module_unknown) ARGS=("${DRY[@]}" "$T" "${P[@]}" -M udp-syn); KEY="'udp-syn' is not one of" ;;
    udp_payload_field)
        ARGS=("${DRY[@]}" "$T" -p 53 -M udp --udp-payload '53:text:x{cookie99}'); KEY='unknown field \{cookie99\}' ;;
    udp_payload_oversize)
        ARGS=("${DRY[@]}" 2001:db8::1 -p 53 -M udp --udp-payload "53:hex:$(printf '00%.0s' $(seq 1233))"); KEY='1232' ;;
    udp_payload_file)
        ARGS=("${DRY[@]}" "$T" -p 53 -M udp --udp-payload "53:$WORK/no-such-payload.bin"); KEY='no-such-payload\.bin' ;;
    udp_payload_hex) ARGS=("${DRY[@]}" "$T" -p 53 -M udp --udp-payload '53:hex:0g'); KEY='hex' ;;
    udp_payload_port) ARGS=("${DRY[@]}" "$T" -p 53 -M udp --udp-payload '54:hex:00'); KEY='port 54 is not scanned' ;;
    icmp_echo_ports) ARGS=("${DRY[@]}" "$T" -p 80 -M icmp-echo); KEY='leave out -p' ;;
    family_mix) ARGS=("${DRY[@]}" "$T" 2001:db8::1 "${P[@]}"); KEY='mix IPv4 and IPv6' ;;
    hitlist_bad_line)
        printf '2001:db8::1\n2001:db8::zz\n' >"$WORK/bad-hitlist.txt"
        ARGS=("${DRY[@]}" --hitlist "$WORK/bad-hitlist.txt" "${P[@]}"); KEY='bad-hitlist\.txt:2:' ;;
    generator_too_big) ARGS=("${DRY[@]}" 2001:db8::/32-128 "${P[@]}"); KEY='more than 2\^64' ;;
    exclude_file_missing)
        ARGS=("${DRY[@]}" "$T" --exclude-file "$WORK/no-such-excludes.txt" "${P[@]}"); KEY='no-such-excludes\.txt' ;;
    exclude_bad) ARGS=("${DRY[@]}" "$T" --exclude 198.18.0.0/40 "${P[@]}"); KEY='198\.18\.0\.0/40' ;;
    all_excluded) ARGS=("${DRY[@]}" "$T" --exclude 198.18.0.0/29 "${P[@]}"); KEY='no targets|exclu' ;;
    all_blocklisted) ARGS=(--dry-run "$T" "${P[@]}"); KEY='blocklist' ;;
    bad_output_format) ARGS=("${DRY[@]}" "$T" "${P[@]}" --output-format pdf); KEY='pdf' ;;
    bad_report) ARGS=("${DRY[@]}" "$T" "${P[@]}" --report open,bogus); KEY='bogus' ;;
    cpus_syntax) ARGS=("${DRY[@]}" "$T" "${P[@]}" --tx-cpus 3-1); KEY='tx-cpus.*3-1' ;;
    cpus_disagree) ARGS=("${DRY[@]}" "$T" "${P[@]}" --rx-lcores 2 --rx-cpus 1); KEY='rx-lcores.*rx-cpus' ;;
    cpus_not_allowed)
        make_netns
        PREFIX=(ip netns exec "$NS")
        ARGS=("${DEV_BASE[@]}" --device net_null0,no-rx=1 --gateway-mac 02:00:00:00:00:01 --tx-cpus 1000)
        KEY='CPU 1000' ;;
    device_no_iface)
        make_netns
        PREFIX=(ip netns exec "$NS")
        ARGS=("${DEV_BASE[@]}" --device net_af_packet0,iface=nosuchif0 --gateway-ip 198.19.255.1)
        RC=1 KEY='nosuchif0|net_af_packet0|device' ;;
    device_no_driver)
        make_netns
        PREFIX=(ip netns exec "$NS")
        ARGS=("${DEV_BASE[@]}" --device net_nosuchdriver0 --gateway-ip 198.19.255.1)
        RC=1 KEY='net_nosuchdriver0|device|driver' ;;
    gateway_silent)
        make_netns
        PREFIX=(ip netns exec "$NS")
        ARGS=("${DEV_BASE[@]}" --device "net_af_packet0,iface=$VETH_A" --gateway-ip 198.19.255.77)
        RC=1 KEY='ARP|gateway' ;;
    *) echo "$NAME: unknown case; cases: ${CASES[*]}" >&2; exit 2 ;;
esac

t0=$EPOCHREALTIME
rc=0
timeout -k 5 30 "${PREFIX[@]}" "$DPSCAN" "${ARGS[@]}" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

show() {
    echo "  command: ${PREFIX[*]} $DPSCAN ${ARGS[*]}" >&2
    echo "  exit code: $rc" >&2
    echo "  stderr:" >&2
    sed -n '1,20s/^/    /p' "$WORK/stderr" >&2
    if [[ -s $WORK/stdout ]]; then
        echo "  stdout:" >&2
        sed -n '1,5s/^/    /p' "$WORK/stdout" >&2
    fi
}

problems=()
[[ $rc -ne 124 && $rc -ne 137 ]] || problems+=("did not finish within 30 s (hang)")
[[ $rc -lt 128 ]] || problems+=("killed by a signal (exit $rc)")
[[ $rc -eq $RC ]] || problems+=("exit code $rc, expected $RC")
if grep -qE 'Segmentation|Aborted|PANIC|Backtrace' "$WORK/stdout" "$WORK/stderr"; then
    problems+=("crash message in the output")
fi
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$WORK/stderr" || [[ $(tr -d '\000' <"$WORK/stderr" | wc -c) -ne $(wc -c <"$WORK/stderr") ]]; then
    problems+=("control bytes on stderr (quoted input not escaped)")
fi
nerr=$(grep -c '^dpscan: error: ' "$WORK/stderr" || true)
if [[ $nerr -eq 0 ]]; then
    problems+=("no line starting 'dpscan: error:' on stderr")
else
    [[ $nerr -eq 1 ]] || problems+=("$nerr 'dpscan: error:' lines on stderr, expected one")
    grep '^dpscan: error: ' "$WORK/stderr" | grep -qiE -- "$KEY" ||
        problems+=("the error line does not name the problem (no match for /$KEY/)")
fi
if [[ $RC -eq 2 ]]; then
    grep -qxF "Try 'dpscan --help' for more information." "$WORK/stderr" ||
        problems+=("usage error without the line \"Try 'dpscan --help' for more information.\"")
    [[ ! -s $WORK/stdout ]] || problems+=("usage error but something was written on stdout")
fi

if [[ ${#problems[@]} -gt 0 ]]; then
    for p in "${problems[@]}"; do echo "$NAME: FAIL: $p" >&2; done
    show
    exit 1
fi
echo "$NAME: PASS (exit $rc in ${dt} s: $(grep -m1 '^dpscan: error: ' "$WORK/stderr"))"
