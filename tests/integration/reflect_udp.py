#!/usr/bin/env /usr/bin/python3
"""dpscan's UDP and ICMP echo modules against dpscan-reflect over net_memif (each program on
its own CPU, dpscan with --lcores 1), in a UDP world this test writes: /24s (IPv4) or /120s
(IPv6) of hosts running DNS, NTP, SNMP and memcached (each open on 30% of hosts), whose other
UDP ports answer ICMP port unreachable (half the hosts) under Linux's per-destination limit
(one a second, a burst of 6), 70% answering echo; empty networks; networks behind a router
that answers ICMP unreachable (1000 a second, a burst of 50, per router).

  - UDP, IPv4: 198.18.0.0/15 x 1-30,53,123,161,11211 (4.5 M probes), asked 3 Mpps (the
    rate reached is printed, not asserted): dpscan's results equal the reflector's
    --answered log exactly (protocol, address, port, status); every answer dpscan's own
    payload check validated (no bad_echo, no bad_cookie); and every pair of --truth (the
    world with nothing limited) missing from --answered is one the reflector counted as
    rate-limited (host_suppressed, suppressed) or a probe it never received;
  - ICMP echo, IPv4: 198.18.0.0/16 at 1 Mpps, the same (status up or unreachable, port 0);
  - UDP, IPv6: 2001:db8:1::/112 (65,536 addresses in 256 /120 networks) x the four
    services and 7, at 1 Mpps, the same; and ICMPv6 echo to the same addresses.
  reflect_udp.py [LABEL]   only the cases whose label contains LABEL ("UDP", "IPv6", ...)
The reflector's answers are dpscan's checks' to judge: an answer whose echoed field were
wrong would be dropped as bad_echo, not reported.
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, REFLECT (default: next to dpscan).
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Netns, main, run  # noqa: E402
from reflect_common import GW, GW6, REFLECT, SRC, SRC6, Reflector  # noqa: E402

WORLD = """world: udp-test
{family}
stacks:
  - {{name: linux, weight: 2, ttl: 64}}
  - {{name: windows, weight: 1, ttl: 128, window: 65535, options: windows}}
networks:
  - kind: hosts
    weight: 80
    hosts: 0.5
    udp_open: {{53: 0.3, 123: 0.3, 161: 0.3, 11211: 0.3}}
    udp_closed_icmp: 0.5
    echo: 0.7
  - {{kind: empty, weight: 10}}
  - {{kind: unreachable, weight: 10, codes: {codes}}}
impairments:
  host_icmp_rate: 1
  host_icmp_burst: 6
  icmp_rate: 1000
  icmp_burst: 50
"""

CASES = [
    # (label, family, module, targets, ports, rate)
    ("UDP IPv4", 4, "udp", "198.18.0.0/15", "1-30,53,123,161,11211", 3000000),
    ("ICMP echo IPv4", 4, "icmp-echo", "198.18.0.0/16", "", 1000000),
    ("UDP IPv6", 6, "udp", "2001:db8:1::/112", "7,53,123,161,11211", 1000000),
    ("ICMP echo IPv6", 6, "icmp-echo", "2001:db8:1::/112", "", 1000000),
]


def world_file(work, family):
    path = os.path.join(work, f"udp{family}.yaml")
    with open(path, "w") as f:
        f.write(WORLD.format(family="family: ipv6\nnetwork_prefix: 120" if family == 6 else "",
                             codes="{1: 1, 3: 1}" if family == 6 else "{1: 1, 13: 1}"))
    return path


def keyed(rows):
    """{(proto, ip, port, status)}: the comparison key, and how many rows repeated one."""
    got = {(r["proto"], r["ip"], int(r["port"]), r["status"]) for r in rows}
    return got, len(rows) - len(got)


def csv_rows(text):
    import csv
    return list(csv.DictReader(text.splitlines()))


def one_case(ns, work, label, family, module, targets, ports, rate, errors):
    world = ["--world", world_file(work, family)]
    # The truth is the world with nothing limited or lost.
    truth_cmd = [REFLECT] + world + ["--truth", targets, "-M", module]
    if ports:
        truth_cmd += ["-p", ports]
    truth, _ = keyed(csv_rows(run(truth_cmd, timeout=120, check_rc=0).stdout))
    sock = os.path.join(work, f"memif{family}{module}.sock")
    out, summary = os.path.join(work, "scan.ndjson"), os.path.join(work, "scan.json")
    src, gw = (SRC6, GW6) if family == 6 else (SRC, GW)
    cmd = ["ip", "netns", "exec", ns, "taskset", "-c", "1", DPSCAN, "--device",
           f"net_memif0,role=client,socket={sock}", "--no-default-blocklist", targets,
           "-M", module, "--source-ip", src, "--gateway-ip", gw, "--rate", str(rate),
           "--lcores", "1", "--cooldown", "2", "--report",
           "up,unreachable" if module == "icmp-echo" else "open,closed,unreachable",
           "--output-format", "ndjson", "-o", out, "--summary", summary,
           "--status-format", "none"]
    if ports:
        cmd += ["-p", ports]
    with Reflector(ns, work, f"net_memif0,role=server,socket={sock}", world, gw=gw) as r:
        run(cmd, timeout=300, check_rc=0)
        rs = r.stop()
        answered, twice_a = keyed(r.answered())
    rows = [json.loads(line) for line in open(out)]
    got, twice = keyed([{**x, "port": x.get("port", 0)} for x in rows])
    s = json.load(open(summary))
    dropped = s.get("dropped", {})
    proto = "udp" if module == "udp" else "icmp"
    probes = rs["udp_probes"] if module == "udp" else rs["echo_requests"]
    never_received = s["sent"] - probes
    missing, extra = answered - got, got - answered
    limited = rs["host_suppressed"] + rs["suppressed"]
    # Pairs the truth has and no answer left for: rate limits, probes the reflector never saw.
    unanswered = truth - answered
    print(f"{label}: asked {rate / 1e6:g} Mpps, sent {s['sent']} at {s['send_rate_pps'] / 1e6:.3f} "
          f"Mpps; results {len(got)}, answered {len(answered)}, truth {len(truth)}; missing "
          f"{len(missing)}, extra {len(extra)}, twice {twice}; reflector probes {probes} "
          f"(never received {never_received}), sent udp {rs['sent_udp']} echo {rs['sent_echo']} "
          f"icmp {rs['sent_icmp']}, host_suppressed {rs['host_suppressed']}, suppressed "
          f"{rs['suppressed']}, unanswerable {rs['unanswerable']}, device_imissed "
          f"{rs['device_imissed']}, queue_full {rs['queue_full']}; dpscan dropped "
          f"{s['dropped_total']} (bad_echo {dropped.get('bad_echo', 0)}, bad_cookie "
          f"{dropped.get('bad_cookie', 0)})", flush=True)
    by_status = {}
    for p, _, _, st in got:
        by_status[st] = by_status.get(st, 0) + 1
    print(f"{label}: results by status {by_status}", flush=True)
    if any(p != proto for p, _, _, _ in got | answered):
        errors.append(f"{label}: a result or answer of another protocol")
    if missing or extra or twice or twice_a:
        errors.append(f"{label}: results against --answered: {len(missing)} missing (e.g. "
                      f"{sorted(missing)[:3]}), {len(extra)} extra (e.g. {sorted(extra)[:3]}), "
                      f"{twice} twice")
    if dropped.get("bad_echo", 0) or dropped.get("bad_cookie", 0):
        errors.append(f"{label}: dpscan refused answers: {dropped}")
    if answered - truth:
        errors.append(f"{label}: answers the truth does not have: {sorted(answered - truth)[:3]}")
    # Every pair of the truth that no answer left for is counted by the reflector: rate
    # limited, or its probe never arrived (then it is counted nowhere but in dpscan's sent).
    if not limited <= len(unanswered) <= limited + never_received:
        errors.append(f"{label}: {len(unanswered)} pairs of the truth unanswered, but the "
                      f"reflector limited {limited} and {never_received} probes never arrived")
    if rs["unanswerable"] or rs["queue_full"] or rs["no_buffer"] or rs["not_sent"]:
        errors.append(f"{label}: reflector counters {rs}")
    if module == "udp" and family == 4 and not rs["host_suppressed"]:
        errors.append(f"{label}: the per-host limit held nothing back (hosts with 30 closed ports)")
    if len(truth) < 1000 or not (by_status.get("open") or by_status.get("up")):
        errors.append(f"{label}: a world too thin to test ({len(truth)} answers)")


def body():
    work = tempfile.mkdtemp(prefix="dpscan-reflect-udp.")
    errors = []
    try:
        with Netns("rfu") as ns:
            only = sys.argv[1] if len(sys.argv) > 1 else None
            for case in CASES:
                if only and only not in case[0]:
                    continue
                one_case(ns.name, work, *case, errors)
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", work])
    return errors


if __name__ == "__main__":
    main("reflect_udp", body)
