#!/usr/bin/python3
"""lab6_selftest.py - the IPv6 side of the netns lab (scripts/lab.sh) behaves as
`lab.sh truth` says, checked without dpscan.

Brings up a lab with a unique prefix and, in the scanner namespace, works the raw
veth end (${P}s, whose kernel has IPv6 off, as dpscan does through af_packet) with
scapy: resolves the gateway 2001:db8:ff::1 by a neighbour solicitation, answers the
target's solicitations for 2001:db8:ff::2 from its capture thread, sends TCP SYNs from
2001:db8:ff::2 to 2001:db8:1::/122 x {22,80,443,8080} (and to a few addresses elsewhere:
the gateway, the top of the AnyIP /64, the rest of 2001:db8::/32) and compares what
comes back with `lab.sh truth`:
  SYN-ACK -> open, RST -> closed, ICMPv6 destination unreachable -> unreachable,
  nothing (after one retry) -> filtered.
Also checks that the scanner namespace's kernel sent nothing, and prints what it saw
(answers' source addresses, NDP, partial TCP checksums from the veth's offloads).
The lab is always taken down at the end (also on failure).

Exit 0 pass, 1 fail, 77 skip (not root, no scapy in /usr/bin/python3, no IPv6).
Usage: lab6_selftest.py [--offloads on|off]   ($LAB overrides scripts/lab.sh)
"""
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.environ.get("LAB") or os.path.join(HERE, "..", "..", "scripts", "lab.sh")
PY = "/usr/bin/python3"
NAME = "lab6_selftest"

SRC_IP6 = "2001:db8:ff::2"
GW_IP6 = "2001:db8:ff::1"
PORTS = "22,80,443,8080"
MAIN_TARGETS = "2001:db8:1::/122"
# elsewhere: the gateway, the top of the AnyIP /64 (pattern on the low bits),
# the on-link /64 (no forwarding) and the rest of 2001:db8::/32 (blackhole)
EXTRA_TARGETS = ("2001:db8:ff::1 2001:db8:1:0:ffff:ffff:ffff:fff1-2001:db8:1:0:ffff:ffff:ffff:fff4 "
                 "2001:db8:1:0:1234::13 2001:db8:ff::7 2001:db8:2::1 2001:db8:ffff::14")
SPORT_BASE = 40000
WAIT = 1.5  # seconds for answers after each round


def log(msg):
    print(f"{NAME}: {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------
# probe: runs inside the scanner namespace (ip netns exec ... lab6_selftest.py --probe)

def probe(iface, mac_t_sysfs, jobs_file, result_file):
    import logging
    import socket
    import struct
    import threading
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import (Ether, IPv6, TCP, ICMPv6DestUnreach, ICMPv6ND_NA, ICMPv6ND_NS,
                           ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPerror6, TCPerror,
                           in6_getnsma, in6_getnsmac, inet_pton, inet_ntop)
    from scapy.layers.inet6 import in6_chksum

    ETH_P_ALL, SOL_PACKET, PACKET_STATISTICS, SO_RCVBUFFORCE = 3, 263, 6, 33
    PACKET_OUTGOING = 4
    mac_s = open(f"/sys/class/net/{iface}/address").read().strip()
    jobs = [(ip, int(port)) for ip, port in json.load(open(jobs_file))]
    # One raw socket with a large buffer, to send and to capture (a packet socket
    # does not see its own frames: an outgoing frame captured here was sent by
    # someone else, i.e. the scanner namespace's kernel).
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    sock.bind((iface, ETH_P_ALL))
    sock.settimeout(0.05)
    frames = []      # incoming frames (scapy Ether)
    stats = {"ns_for_src": [], "na_sent": 0, "gw_na": [], "kernel_out": [], "capture_drops": 0}

    def send(pkt):
        sock.send(bytes(pkt))

    def na_for(ns):
        # solicited NA for SRC_IP6 (override; to the solicitor, or all-nodes if DAD)
        src = ns[IPv6].src
        dst = src if src != "::" else "ff02::1"
        flags = dict(R=0, S=1 if src != "::" else 0, O=1)
        return (Ether(src=mac_s, dst=ns[Ether].src if src != "::" else "33:33:00:00:00:01") /
                IPv6(src=SRC_IP6, dst=dst, hlim=255) /
                ICMPv6ND_NA(tgt=SRC_IP6, **flags) / ICMPv6NDOptDstLLAddr(lladdr=mac_s))

    def on_frame(raw, pkttype):
        p = Ether(raw)
        if pkttype == PACKET_OUTGOING:
            stats["kernel_out"].append(p.summary())
            return
        frames.append(p)
        if p.haslayer(ICMPv6ND_NS) and p[ICMPv6ND_NS].tgt == SRC_IP6:
            stats["ns_for_src"].append({"src": p[IPv6].src, "dst": p[IPv6].dst,
                                        "sllao": p.haslayer(ICMPv6NDOptSrcLLAddr)})
            send(na_for(p))
            stats["na_sent"] += 1
        elif p.haslayer(ICMPv6ND_NA) and p[ICMPv6ND_NA].tgt == GW_IP6:
            ll = p[ICMPv6NDOptDstLLAddr].lladdr if p.haslayer(ICMPv6NDOptDstLLAddr) else None
            stats["gw_na"].append({"src": p[IPv6].src, "lladdr": ll,
                                   "flags": str(p[ICMPv6ND_NA].sprintf("R=%R% S=%S% O=%O%"))})

    stop = threading.Event()

    def capture():
        while not stop.is_set():
            try:
                raw, addr = sock.recvfrom(65535)
            except socket.timeout:
                continue
            on_frame(raw, addr[2])

    catcher = threading.Thread(target=capture, daemon=True)
    catcher.start()

    # SYNs first, to the veth end's MAC (from sysfs): the target has to solicit
    # 2001:db8:ff::2 and queue its answers until on_frame advertises us.
    # sport identifies the job; two rounds (the second for the unanswered)
    seq0 = random.randrange(1 << 32)
    answers = {}  # job index -> (status, details)

    def classify():
        for p in list(frames):
            if not p.haslayer(IPv6) or p[IPv6].dst != SRC_IP6:
                continue
            if p.haslayer(ICMPv6DestUnreach) and p.haslayer(IPerror6) and p.haslayer(TCPerror):
                i = p[TCPerror].sport - SPORT_BASE
                if 0 <= i < len(jobs) and p[IPerror6].src == SRC_IP6 and \
                        ipaddress.ip_address(p[IPerror6].dst) == ipaddress.ip_address(jobs[i][0]) and \
                        p[TCPerror].dport == jobs[i][1]:
                    answers.setdefault(i, ("unreachable", {
                        "code": p[ICMPv6DestUnreach].code, "from": p[IPv6].src}))
            elif p.haslayer(TCP) and not p.haslayer(IPerror6):
                i = p[TCP].dport - SPORT_BASE
                if not (0 <= i < len(jobs)) or p[TCP].sport != jobs[i][1]:
                    continue
                fl = int(p[TCP].flags)
                if fl & 0x12 == 0x12:
                    st = "open"
                elif fl & 0x04:
                    st = "closed"
                else:
                    st = "odd-tcp-flags-%#x" % fl
                t = p[TCP]
                raw = bytes(t)
                csum_ok = in6_chksum(6, p[IPv6], raw[:16] + b"\0\0" + raw[18:]) == t.chksum
                answers.setdefault(i, (st, {
                    "from": p[IPv6].src, "ack_ok": t.ack == (seq0 + i + 1) & 0xFFFFFFFF,
                    "csum_ok": csum_ok}))

    for _ in range(2):
        todo = [i for i in range(len(jobs)) if i not in answers]
        for i in todo:
            ip, port = jobs[i]
            send(Ether(src=mac_s, dst=mac_t_sysfs) / IPv6(src=SRC_IP6, dst=ip, hlim=64) /
                 TCP(sport=SPORT_BASE + i, dport=port, flags="S",
                     seq=(seq0 + i) & 0xFFFFFFFF, window=1024))
        time.sleep(WAIT)
        classify()
    # Then resolve the gateway as dpscan does: NS to its solicited-node group, with
    # our link-layer address. (Done first, it would leave a STALE entry for us in
    # the target, which then answers the SYNs without soliciting us.)
    gw_ns = (Ether(src=mac_s, dst=in6_getnsmac(inet_pton(socket.AF_INET6, GW_IP6))) /
             IPv6(src=SRC_IP6, dst=inet_ntop(socket.AF_INET6,
                                             in6_getnsma(inet_pton(socket.AF_INET6, GW_IP6))),
                  hlim=255) /
             ICMPv6ND_NS(tgt=GW_IP6) / ICMPv6NDOptSrcLLAddr(lladdr=mac_s))
    mac_t = None
    for _ in range(10):
        send(gw_ns)
        time.sleep(0.2)
        if stats["gw_na"]:
            mac_t = stats["gw_na"][0]["lladdr"]
            break

    time.sleep(0.2)
    stop.set()
    catcher.join()
    stats["capture_drops"] = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
    classify()

    observed = {}
    details = {}
    for i, (ip, port) in enumerate(jobs):
        st, d = answers.get(i, ("filtered", {}))
        observed[f"{ip} {port}"] = st
        details[f"{ip} {port}"] = d
    json.dump({"mac_t": mac_t, "observed": observed,
               "details": details, "stats": stats}, open(result_file, "w"))
    return 0


# ---------------------------------------------------------------------------
# driver

class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_prefix():
    used = set(run(["ip", "netns", "list"]).stdout.split())
    rnd = random.Random(os.getpid() ^ int(time.time() * 1e6))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(50):
        p = "l6" + "".join(rnd.choice(alphabet) for _ in range(6))
        if f"{p}-scan" not in used and f"{p}-tgt" not in used and not os.path.exists(f"/tmp/{p}-lab"):
            return p
    raise Failure("no free lab prefix")


def truth(prefix, targets):
    r = run([LAB, "--prefix", prefix, "truth", targets, PORTS, "all"])
    check(r.returncode == 0, f"lab.sh truth {targets} failed ({r.returncode}): {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        ip, port, st = line.split()
        check(str(ipaddress.IPv6Address(ip)) == ip, f"truth prints {ip!r}, not Python's compressed form")
        out[f"{ip} {port}"] = st
    return out


def main(argv):
    offloads = []
    if argv[:1] == ["--offloads"] and len(argv) == 2:
        offloads = argv
    elif argv:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        log("SKIP (needs root)")
        return 77
    if run([PY, "-c", "import scapy.all"]).returncode != 0:
        log(f"SKIP ({PY} has no scapy; apt-get install python3-scapy)")
        return 77
    if not os.path.isdir("/proc/sys/net/ipv6"):
        log("SKIP (kernel without IPv6)")
        return 77

    prefix = free_prefix()
    ns_scan, ns_tgt, if_scan, if_tgt = f"{prefix}-scan", f"{prefix}-tgt", f"{prefix}s", f"{prefix}t"
    work = tempfile.mkdtemp(prefix="lab6_selftest.")
    t0 = time.time()
    rc = 1
    try:
        r = run([LAB, "--prefix", prefix, *offloads, "up"])
        check(r.returncode == 0, f"lab.sh up failed ({r.returncode}): {r.stderr.strip()[-1500:]}")
        env = dict(line.split("=", 1) for line in run([LAB, "--prefix", prefix, "env"]).stdout.split())
        for k, v in (("LAB_SRC_IP6", SRC_IP6), ("LAB_GW_IP6", GW_IP6), ("LAB_TGT_NET6", "2001:db8:1::/64")):
            check(env.get(k) == v, f"lab.sh env: {k}={env.get(k)!r}, expected {v}")

        # structure: nothing in the root ns, scanner side without IPv6, target side as described
        for dev in (if_scan, if_tgt):
            check(run(["ip", "link", "show", dev]).returncode != 0, f"{dev} visible in the root netns")
        nse = ["ip", "netns", "exec"]
        check(run(nse + [ns_scan, "cat", f"/proc/sys/net/ipv6/conf/{if_scan}/disable_ipv6"]).stdout.strip() == "1",
              f"IPv6 not disabled on {if_scan}")
        check(run(["ip", "-n", ns_scan, "-6", "-o", "addr"]).stdout.strip() == "",
              "the scanner namespace has IPv6 addresses")
        addrs = run(["ip", "-n", ns_tgt, "-6", "-o", "addr", "show", "dev", if_tgt]).stdout
        check("2001:db8:ff::1/64" in addrs and "tentative" not in addrs,
              f"{if_tgt}: no usable 2001:db8:ff::1/64: {addrs.strip()}")
        for key, want in ((f"conf/{if_tgt}/accept_dad", "0"), ("conf/all/forwarding", "0"),
                          ("conf/default/disable_ipv6", "1")):
            got = run(nse + [ns_tgt, "cat", f"/proc/sys/net/ipv6/{key}"]).stdout.strip()
            check(got == want, f"target ns: net.ipv6.{key} = {got!r}, expected {want}")
        loc = run(["ip", "-n", ns_tgt, "-6", "route", "show", "table", "local", "2001:db8:1::/64"]).stdout
        check("local 2001:db8:1::/64 dev lo" in loc, f"no AnyIP route for 2001:db8:1::/64: {loc!r}")
        rt = run(["ip", "-n", ns_tgt, "-6", "route", "get", SRC_IP6, "from", "2001:db8:1::5"]).stdout
        check(f"dev {if_tgt}" in rt and " via " not in rt, f"replies to {SRC_IP6} not on-link via {if_tgt}: {rt!r}")
        ss = run(nse + [ns_tgt, "ss", "-Hltn"]).stdout
        for p in (22, 80, 443):
            check(f"[::]:{p} " in ss, f"no IPv6 listener on port {p}")

        expected = truth(prefix, MAIN_TARGETS)
        check(len(expected) == 64 * 4, f"truth {MAIN_TARGETS}: {len(expected)} lines, expected 256")
        expected.update(truth(prefix, EXTRA_TARGETS))
        # same truth through the truth6 alias
        r6 = run([LAB, "--prefix", prefix, "truth6", MAIN_TARGETS, PORTS, "all"])
        check(r6.returncode == 0 and len(r6.stdout.splitlines()) == 256, "lab.sh truth6 differs")

        jobs = sorted(((k.split()[0], int(k.split()[1])) for k in expected),
                      key=lambda j: (ipaddress.IPv6Address(j[0]), j[1]))
        jobs_file, result_file = os.path.join(work, "jobs.json"), os.path.join(work, "result.json")
        json.dump(jobs, open(jobs_file, "w"))
        mac_t = run(nse + [ns_tgt, "cat", f"/sys/class/net/{if_tgt}/address"]).stdout.strip()
        r = run(nse + [ns_scan, PY, os.path.abspath(__file__), "--probe", if_scan, mac_t, jobs_file,
                       result_file], timeout=120)
        check(r.returncode == 0 and os.path.exists(result_file),
              f"probe failed ({r.returncode}): {(r.stdout + r.stderr).strip()[-2000:]}")
        res = json.load(open(result_file))
        st = res["stats"]

        errs = []
        if not st["gw_na"]:
            errs.append(f"no neighbour advertisement for {GW_IP6}")
        elif res["mac_t"] != mac_t:
            errs.append(f"{GW_IP6} advertised at {res['mac_t']}, {if_tgt} is {mac_t}")
        if not st["ns_for_src"] or not st["na_sent"]:
            errs.append(f"the target never solicited {SRC_IP6} (or it was not answered)")
        if st["capture_drops"]:
            errs.append(f"the capture socket dropped {st['capture_drops']} frames")
        if st["kernel_out"]:
            errs.append(f"the scanner namespace's kernel sent {len(st['kernel_out'])} frames: "
                        f"{st['kernel_out'][:5]}")
        mism = 0
        for key in sorted(expected, key=lambda k: (ipaddress.IPv6Address(k.split()[0]), int(k.split()[1]))):
            obs = res["observed"].get(key, "missing")
            if obs != expected[key]:
                mism += 1
                errs.append(f"MISMATCH {key} expected={expected[key]} observed={obs} {res['details'].get(key)}")
        det = [(k, d) for k, d in res["details"].items() if d]
        for k, d in det:
            ip = k.split()[0]
            if "ack_ok" in d and not d["ack_ok"]:
                errs.append(f"{k}: answer's ack does not match the SYN's seq")
            if res["observed"][k] in ("open", "closed") and d["from"] != ip:
                errs.append(f"{k}: TCP answer from {d['from']}")

        # what was seen (for the report; not failures)
        counts = {}
        for s in expected.values():
            counts[s] = counts.get(s, 0) + 1
        tcp = [d for _, d in det if "csum_ok" in d]
        partial = {}  # kind -> [partial, all]; REJECT's RSTs vs the kernel's own
        for k, d in det:
            if "csum_ok" in d:
                ip, port = k.split()
                st_ = res["observed"][k]
                kind = ("syn-ack" if st_ == "open" else
                        "rst(REJECT)" if port in ("22", "443", "80") and
                        ipaddress.IPv6Address(ip) in ipaddress.IPv6Network("2001:db8:1::/64")
                        else "rst(kernel)")
                c = partial.setdefault(kind, [0, 0])
                c[0] += not d["csum_ok"]
                c[1] += 1
        icmp = [(k, d) for k, d in det if "code" in d]
        icmp_from = sorted({("probed address" if d["from"] == k.split()[0] else d["from"]) for k, d in icmp})
        icmp_codes = sorted({d["code"] for _, d in icmp})
        ns_src = sorted({n["src"] for n in st["ns_for_src"]})
        ns_dst = sorted({n["dst"] for n in st["ns_for_src"]})
        log(f"prefix {prefix}{' offloads ' + offloads[1] if offloads else ''}, {len(expected)} pairs, "
            f"expected mix {counts}")
        log(f"NDP: {GW_IP6} answered {st['gw_na'][:1]}; the target solicited {SRC_IP6} "
            f"{len(st['ns_for_src'])} times (from {ns_src} to {ns_dst}), {st['na_sent']} NAs sent")
        log(f"TCP answers: {len(tcp)}, partial/bad TCP checksums: {sum(not d['csum_ok'] for d in tcp)} "
            f"({', '.join(f'{k} {v[0]}/{v[1]}' for k, v in sorted(partial.items()))}); "
            f"ICMPv6 unreachable: {len(icmp)} (codes {icmp_codes}, from {icmp_from})")
        for e in errs:
            print(e, file=sys.stderr)
        log(f"{len(expected)} pairs checked, {mism} mismatches, {len(errs)} errors, {time.time() - t0:.1f} s")
        rc = 0 if not errs else 1
    except (Failure, subprocess.TimeoutExpired) as e:
        log(f"FAIL: {e}")
        rc = 1
    finally:
        r = run([LAB, "--prefix", prefix, "down"])
        if r.returncode != 0:
            log(f"lab.sh down failed: {r.stderr.strip()}")
            rc = 1
        for f in os.listdir(work):
            os.unlink(os.path.join(work, f))
        os.rmdir(work)
    log("PASS" if rc == 0 else "FAIL")
    return rc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        sys.exit(probe(*sys.argv[2:6]))
    sys.exit(main(sys.argv[1:]))
