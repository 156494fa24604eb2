#!/usr/bin/env /usr/bin/python3
"""dpscan against dpscan-reflect in an IPv6 world, over net_memif (each program on its own
CPU, dpscan with --lcores 1; dpscan resolves the gateway 2001:db8:ffff::1 by a neighbour
solicitation to its solicited-node group, which the reflector answers):

  - impairments off (--world internet6 --ideal): one address (::1) in each /64 of
    2001:db8:100::/46 (a prefix generator, 262,144 targets) x 22,80,443 at 1 Mpps: the
    results equal the reflector's --truth exactly (nothing missing, nothing extra, no pair
    twice), open ports of aliased /64s and every ICMPv6 unreachable code included;
  - the internet6 world (loss, delays up to 250 ms, jitter, reordering, duplicates, ICMPv6
    rate limits, SYN-ACK retransmissions, noise), the same targets at 1 Mpps: the results
    equal the reflector's --answered log (the first answer per pair while dpscan listened).

  reflect6_scan.py [RATE [TARGETS [PORTS [answered]]]]   another rate and targets (the
      measurement: the highest rate at which the results still equal --answered; with
      `answered`, only the internet6 world's run)
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, REFLECT (default: next to dpscan).
"""
import collections
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Netns, main  # noqa: E402
from reflect_common import GW6, SRC6, Reflector, compare, scan, triples, truth  # noqa: E402

IDEAL6 = ["--world", "internet6", "--ideal"]
INTERNET6 = ["--world", "internet6", "--seed", "7"]
EDGE_S = 0.05  # answers this close to dpscan's end may still have been on their way


def ideal_run(ns, work, dev_r, dev_s, targets, ports, rate, errors):
    want = truth(IDEAL6, targets, ports)
    by_status = collections.Counter(st for _, _, st in want)
    print(f"truth: {len(want)} answers {dict(by_status)}", flush=True)
    if not all(by_status[k] for k in ("open", "closed", "unreachable")):
        errors.append(f"the truth lacks a status: {dict(by_status)}")
    with Reflector(ns, work, dev_r, IDEAL6, gw=GW6) as r:
        got, s = scan(ns, work, "ideal6", dev_s, targets, ports, rate, cooldown=2, src=SRC6, gw=GW6)
        rs = r.stop()
    compare(f"IPv6 memif, ideal, {rate / 1e6:g} Mpps, against --truth", want, got, s, errors, rs)
    if rs["ndp_solicits"] < 1 or rs["ndp_adverts"] < 1:
        errors.append(f"the reflector answered no neighbour solicitation: {rs}")


def internet_run(ns, work, dev_r, dev_s, targets, ports, rate, errors):
    with Reflector(ns, work, dev_r, INTERNET6, gw=GW6) as r:
        got, s = scan(ns, work, "internet6", dev_s, targets, ports, rate, cooldown=3, src=SRC6,
                      gw=GW6)
        rs = r.stop()
        end = s["end_time"] - EDGE_S
        rows = r.answered()
    early = triples([x for x in rows if float(x["timestamp"]) < end])
    late = {(x["ip"], int(x["port"])) for x in rows if float(x["timestamp"]) >= end}
    got = [g for g in got if (g["ip"], int(g["port"])) not in late]
    print(f"internet6: {len(late)} answers left after dpscan stopped listening; reflector: {rs}",
          flush=True)
    compare(f"IPv6 memif, internet6 world, {rate / 1e6:g} Mpps, against --answered", early, got, s,
            errors, rs)


def body():
    rate = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1000000
    targets = sys.argv[2] if len(sys.argv) > 2 else "2001:db8:100::/46-64"
    ports = sys.argv[3] if len(sys.argv) > 3 else "22,80,443"
    answered_only = len(sys.argv) > 4 and sys.argv[4] == "answered"
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-reflect6.")
    try:
        with Netns("r6") as ns:
            sock = os.path.join(work, "memif.sock")
            dev_r = f"net_memif0,role=server,socket={sock}"
            dev_s = f"net_memif0,role=client,socket={sock}"
            if not answered_only:
                ideal_run(ns.name, work, dev_r, dev_s, targets, ports, rate, errors)
            internet_run(ns.name, work, dev_r, dev_s, targets, ports, rate, errors)
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", work])
    return errors


if __name__ == "__main__":
    main("reflect6_scan", body)
