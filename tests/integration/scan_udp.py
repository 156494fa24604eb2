#!/usr/bin/env /usr/bin/python3
"""A UDP scan (--probe-module udp, the built-in payloads) of the lab's real daemons (dnsmasq,
chronyd, snmpd and memcached in the target namespace, bound to a few lab addresses each) and
of closed ports, through net_af_packet at default offloads, both families:
  IPv4  198.18.0.0/24 + 198.18.1.0/24 x 53,123,161,11211,7
  IPv6  2001:db8:1::/116 x 53,123,161,11211,7
The results (open, closed = an ICMP port unreachable quoting a validated probe, unreachable)
must equal `lab.sh truth --udp` exactly (a model written from the daemons' configuration).
Every open answer was validated beyond its source port: the echoed field carried the cookie
(DNS transaction ID and 0x20 case, NTP origin timestamp, SNMP request-id, memcached request
ID), so validation_bits exceeds the source port's share; the results carry the payload's
name, the answer's length, the amplification and (--udp-response-bytes) its first bytes.
No answer is dropped as bad_echo or udp_sport."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Lab, diff_sets, main, run  # noqa: E402

PORTS = "53,123,161,11211,7"
CASES = {
    4: ("198.18.0.0/24,198.18.1.0/24", "LAB_SRC_IP", "LAB_GW_IP"),
    6: ("2001:db8:1::/116", "LAB_SRC_IP6", "LAB_GW_IP6"),
}
NAMES = {53: "dns", 123: "ntp", 161: "snmp", 11211: "memcached"}


def body():
    errors = []
    work = os.path.join("/tmp", f"scan_udp.{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    try:
        with Lab("su") as lab:
            for family, (targets, src_key, gw_key) in CASES.items():
                out, summary = os.path.join(work, f"{family}.json"), os.path.join(work, f"{family}.summary")
                run(lab.scan_cmd("--no-default-blocklist", "-M", "udp", targets, "-p", PORTS, "--rate", 20000,
                                 "--cooldown", 3, "--device", f"net_af_packet0,iface={lab.env['LAB_IFACE']}",
                                 "--source-ip", lab.env[src_key], "--gateway-ip", lab.env[gw_key],
                                 "--report", "open,closed,unreachable", "--udp-response-bytes", 16,
                                 "--status-format", "none", "--output-format", "ndjson", "-o", out,
                                 "--summary", summary),
                    timeout=120, check_rc=0)
                rows = [json.loads(line) for line in open(out)]
                got = {(r["ip"], r["port"], r["status"]) for r in rows}
                truth_out = run([os.environ.get("LAB", "scripts/lab.sh"), "--prefix", lab.prefix, "truth", "--udp",
                                 targets, PORTS, "open,closed,unreachable"], check_rc=0).stdout
                want = {(ip, int(port), st) for ip, port, st in (l.split() for l in truth_out.splitlines())}
                if len(got) != len(rows):
                    errors.append(f"IPv{family}: {len(rows) - len(got)} results reported twice")
                errors += diff_sets(f"IPv{family} udp", want, got)
                s = json.load(open(summary))
                sport_bits = 15  # 32768 source ports
                for r in rows:
                    if r["proto"] != "udp":
                        errors.append(f"IPv{family}: proto {r['proto']!r}")
                        break
                    if r["status"] != "open":
                        continue
                    name = NAMES.get(r["port"])
                    if r.get("payload") != name or r["validation_bits"] <= sport_bits or not r.get("data") \
                            or r["resp_len"] <= 0 or abs(r["amplification"] - r["resp_len"] / r["probe_len"]) > 0.01:
                        errors.append(f"IPv{family}: open result {r}")
                        break
                for drop in ("bad_echo", "udp_sport", "udp_checksum", "bad_cookie"):
                    if s["dropped"][drop]:
                        errors.append(f"IPv{family}: dropped {drop} = {s['dropped'][drop]}")
                opened = sorted({(r["port"], r["validation_bits"]) for r in rows if r["status"] == "open"})
                print(f"IPv{family} udp: {len(got)} results = truth {len(want)} "
                      f"({sum(1 for t in want if t[2] == 'open')} open); validation bits by port {opened}; "
                      f"sent {s['sent']}, received {s['received']}")
    finally:
        run(["rm", "-rf", work])
    return errors


if __name__ == "__main__":
    main("scan_udp", body)
