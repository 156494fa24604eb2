#!/usr/bin/python3
"""lab_udp_selftest.py - the lab's UDP side (scripts/lab.sh: dnsmasq, chronyd, snmpd and
memcached in the target namespace, bound to a few addresses each) behaves as
`lab.sh truth --udp` says, checked without dpscan.

Brings up a lab with a unique prefix and, in the scanner namespace, works the raw veth
end (${P}s, no kernel address, as dpscan does through af_packet) with scapy: answers the
target's ARP for 198.19.255.2 and NDP for 2001:db8:ff::2 from its capture thread and
sends, from those addresses, real requests of each protocol to every service address
and to closed ports on lab addresses, both families:
  DNS   53     standard query, A for www.lab.test (and CHAOS TXT version.bind)
  NTP   123    NTPv4 client request (mode 3)
  SNMP  161    v2c get-request sysDescr.0, community public
  memcached 11211  8-byte UDP frame header + "version\\r\\n"
Each answer must come from the probed address and port and be the protocol's
response (scapy's DNS/NTP/SNMP layers; memcached "VERSION ..." with the request's
frame header); a closed port must give ICMP port unreachable (IPv4 type 3 code 3,
IPv6 type 1 code 4, quoting the probe); nothing (after one retry) is filtered. The
observed statuses must equal `lab.sh truth --udp` exactly. Also checks that the
scanner namespace's kernel sent nothing, that every UDP socket of the target is bound
to a service address (none to a wildcard), and that TCP 53 of the DNS addresses
(dnsmasq listens there too) still gives what `lab.sh truth` says for TCP (RST: closed).
The lab is always taken down at the end (also on failure).

Exit 0 pass, 1 fail, 77 skip (not root, no scapy in /usr/bin/python3, no IPv6, a
daemon missing).
Usage: lab_udp_selftest.py [--probe IFACE MAC JOBS RESULT]   ($LAB overrides scripts/lab.sh)
"""
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.environ.get("LAB") or os.path.join(HERE, "..", "..", "scripts", "lab.sh")
PY = "/usr/bin/python3"
NAME = "lab_udp_selftest"

SRC_IP = "198.19.255.2"
SRC_IP6 = "2001:db8:ff::2"
PORTS = "53,123,161,11211,7"
# service addresses, their neighbours, a few other lab addresses, the gateway,
# non-local addresses (filtered)
TARGETS4 = ("198.18.0.53 198.18.1.53 198.18.0.123 198.18.1.123 198.18.0.161 198.18.1.161 "
            "198.18.0.211 198.18.1.211 198.18.0.52 198.18.2.53 198.18.0.1 198.18.255.254 "
            "198.19.255.1 198.19.7.9")
TARGETS6 = ("2001:db8:1::53 2001:db8:1::123 2001:db8:1::161 2001:db8:1::211 "
            "2001:db8:1::52 2001:db8:1::1 2001:db8:1:0:ffff::53 2001:db8:ff::1 2001:db8:2::53")
DNS4, DNS6 = "198.18.0.53,198.18.1.53", "2001:db8:1::53"
SPORT_BASE = 41000
WAIT = 1.5  # seconds for answers after each round
KINDS = {53: "dns", 123: "ntp", 161: "snmp", 11211: "memcached", 7: "dns"}


def log(msg):
    print(f"{NAME}: {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------
# probe: runs inside the scanner namespace (ip netns exec ... --probe)

def probe(iface, mac_t, jobs_file, result_file):
    import logging
    import socket
    import struct
    import threading
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import (ARP, DNS, DNSQR, Ether, ICMP, IP, IPerror, IPerror6, IPv6, NTP, SNMP,
                           SNMPget, SNMPresponse, SNMPvarbind, TCP, UDP, UDPerror, ASN1_OID,
                           ICMPv6DestUnreach, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                           conf)
    conf.verb = 0

    ETH_P_ALL, SOL_PACKET, PACKET_STATISTICS, SO_RCVBUFFORCE = 3, 263, 6, 33
    PACKET_OUTGOING = 4
    SYSDESCR = "1.3.6.1.2.1.1.1.0"
    mac_s = open(f"/sys/class/net/{iface}/address").read().strip()
    jobs = [(ip, int(port), kind) for ip, port, kind in json.load(open(jobs_file))]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    sock.bind((iface, ETH_P_ALL))
    sock.settimeout(0.05)
    frames = []
    stats = {"arp_answered": 0, "na_sent": 0, "kernel_out": [], "capture_drops": 0}

    def send(pkt):
        sock.send(bytes(pkt))

    def on_frame(raw, pkttype):
        p = Ether(raw)
        if pkttype == PACKET_OUTGOING:
            stats["kernel_out"].append(p.summary())
            return
        if p.haslayer(ARP) and p[ARP].op == 1 and p[ARP].pdst == SRC_IP:
            send(Ether(src=mac_s, dst=p[ARP].hwsrc) /
                 ARP(op=2, hwsrc=mac_s, psrc=SRC_IP, hwdst=p[ARP].hwsrc, pdst=p[ARP].psrc))
            stats["arp_answered"] += 1
            return
        if p.haslayer(ICMPv6ND_NS) and p[ICMPv6ND_NS].tgt == SRC_IP6:
            src = p[IPv6].src
            dst = src if src != "::" else "ff02::1"
            send(Ether(src=mac_s, dst=p[Ether].src if src != "::" else "33:33:00:00:00:01") /
                 IPv6(src=SRC_IP6, dst=dst, hlim=255) /
                 ICMPv6ND_NA(tgt=SRC_IP6, R=0, S=1 if src != "::" else 0, O=1) /
                 ICMPv6NDOptDstLLAddr(lladdr=mac_s))
            stats["na_sent"] += 1
            return
        frames.append(p)

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

    def payload(i, kind):
        # the request for kind; i makes it recognisable in the answer
        if kind == "dns":
            return DNS(id=i, rd=1, qd=DNSQR(qname="www.lab.test", qtype="A"))
        if kind == "dns-chaos":
            return DNS(id=i, rd=0, qd=DNSQR(qname="version.bind", qtype="TXT", qclass="CH"))
        if kind == "ntp":
            # transmit timestamp = i: a server copies it into the origin timestamp
            return NTP(version=4, mode=3, sent=3900000000 + i)
        if kind == "snmp":
            return SNMP(version=1, community="public",
                        PDU=SNMPget(id=i, varbindlist=[SNMPvarbind(oid=ASN1_OID(SYSDESCR))]))
        if kind == "memcached":
            return struct.pack("!HHHH", i & 0xFFFF, 0, 1, 0) + b"version\r\n"
        raise ValueError(kind)

    def check_answer(i, kind, data):
        # (ok, text): is data kind's answer to request i?
        try:
            if kind in ("dns", "dns-chaos"):
                d = DNS(data)
                if d.id != i or d.qr != 1:
                    return False, f"dns id {d.id} qr {d.qr}"
                an = []
                for k in range(d.ancount):
                    rr = d.an[k]
                    an.append(f"{rr.rrname.decode()} {rr.type} {rr.rdata!r}")
                return True, f"dns rcode {d.rcode} answers {an}"
            if kind == "ntp":
                n = NTP(data)
                ok = n.mode == 4 and int(n.orig) == 3900000000 + i
                return ok, f"ntp mode {n.mode} stratum {n.stratum} leap {n.leap} orig_ok {ok}"
            if kind == "snmp":
                s = SNMP(data)
                if not isinstance(s.PDU, SNMPresponse) or s.PDU.id.val != i:
                    return False, f"snmp {s.PDU.__class__.__name__}"
                vb = s.PDU.varbindlist[0]
                return (vb.oid.val == SYSDESCR and s.PDU.error.val == 0,
                        f"snmp version field {s.version.val} {vb.oid.val} = {vb.value.val!r}")
            if kind == "memcached":
                rid, seq, total, _ = struct.unpack("!HHHH", data[:8])
                body = data[8:]
                return (rid == i & 0xFFFF and seq == 0 and total == 1 and body.startswith(b"VERSION "),
                        f"memcached {body.strip()!r}")
        except Exception as e:  # noqa: BLE001 - any parse error is a wrong answer
            return False, f"unparsable {kind} answer: {e!r} {data[:40]!r}"
        return False, "?"

    answers = {}

    def classify():
        for p in list(frames):
            v6 = p.haslayer(IPv6)
            if v6:
                if p[IPv6].dst != SRC_IP6:
                    continue
                src = p[IPv6].src
            elif p.haslayer(IP):
                if p[IP].dst != SRC_IP:
                    continue
                src = p[IP].src
            else:
                continue
            if p.haslayer(UDPerror):
                q = p[UDPerror]
                i = q.sport - SPORT_BASE
                if not (0 <= i < len(jobs)):
                    continue
                ip, port, kind = jobs[i]
                qdst = p[IPerror6].dst if v6 else p[IPerror].dst
                if ipaddress.ip_address(qdst) != ipaddress.ip_address(ip) or q.dport != port:
                    continue
                if v6:
                    t, c = p[ICMPv6DestUnreach].type, p[ICMPv6DestUnreach].code
                else:
                    t, c = p[ICMP].type, p[ICMP].code
                port_unreach = (t, c) == ((1, 4) if v6 else (3, 3))
                answers.setdefault(i, ("closed" if port_unreach else "unreachable",
                                       {"icmp": [t, c], "from": src}))
            elif p.haslayer(TCP) and not p.haslayer(IPerror) and not p.haslayer(IPerror6):
                t = p[TCP]
                i = t.dport - SPORT_BASE
                if not (0 <= i < len(jobs)) or jobs[i][2] != "tcp" or t.sport != jobs[i][1]:
                    continue
                fl = int(t.flags)
                answers.setdefault(i, ("open" if fl & 0x12 == 0x12 else "closed" if fl & 4 else
                                       "odd-tcp-flags-%#x" % fl, {"from": src, "tcp": fl}))
            elif p.haslayer(UDP):
                u = p[UDP]
                i = u.dport - SPORT_BASE
                if not (0 <= i < len(jobs)):
                    continue
                ip, port, kind = jobs[i]
                ok, text = check_answer(i, kind, bytes(u.payload))
                same = ipaddress.ip_address(src) == ipaddress.ip_address(ip) and u.sport == port
                answers.setdefault(i, ("open" if ok and same else "wrong-answer",
                                       {"from": src, "sport": u.sport, "ok": ok, "text": text}))

    for _ in range(2):
        for i in [i for i in range(len(jobs)) if i not in answers]:
            ip, port, kind = jobs[i]
            net = IPv6(src=SRC_IP6, dst=ip, hlim=64) if ":" in ip else IP(src=SRC_IP, dst=ip, ttl=64)
            if kind == "tcp":
                send(Ether(src=mac_s, dst=mac_t) / net /
                     TCP(sport=SPORT_BASE + i, dport=port, flags="S", seq=i))
                continue
            send(Ether(src=mac_s, dst=mac_t) / net / UDP(sport=SPORT_BASE + i, dport=port) /
                 payload(i, kind))
        time.sleep(WAIT)
        classify()
    stop.set()
    catcher.join()
    stats["capture_drops"] = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
    classify()
    res = []
    for i, (ip, port, kind) in enumerate(jobs):
        st, d = answers.get(i, ("filtered", {}))
        res.append([ip, port, kind, st, d])
    json.dump({"results": res, "stats": stats}, open(result_file, "w"))
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
        p = "lu" + "".join(rnd.choice(alphabet) for _ in range(6))
        if f"{p}-scan" not in used and f"{p}-tgt" not in used and not os.path.exists(f"/tmp/{p}-lab"):
            return p
    raise Failure("no free lab prefix")


def truth(prefix, targets):
    r = run([LAB, "--prefix", prefix, "truth", "--udp", targets, PORTS, "all"])
    check(r.returncode == 0, f"lab.sh truth --udp {targets} failed ({r.returncode}): {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        ip, port, st = line.split()
        out[(str(ipaddress.ip_address(ip)), int(port))] = st
    return out


def truth_tcp53(prefix):
    # TCP 53 of the DNS addresses (dnsmasq listens there too): the TCP pattern's status
    out = {}
    for targets in (DNS4, DNS6):
        r = run([LAB, "--prefix", prefix, "truth", targets, "53", "all"])
        check(r.returncode == 0, f"lab.sh truth {targets} 53 failed: {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            ip, port, st = line.split()
            out[(str(ipaddress.ip_address(ip)), int(port))] = st
    return out


def main(argv):
    if argv:
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
    missing = [d for d in ("dnsmasq", "chronyd", "snmpd", "memcached")
               if not shutil.which(d, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")]
    if missing:
        log(f"SKIP (missing {', '.join(missing)}; scripts/install-deps.sh installs them)")
        return 77

    prefix = free_prefix()
    ns_scan, ns_tgt, if_scan, if_tgt = f"{prefix}-scan", f"{prefix}-tgt", f"{prefix}s", f"{prefix}t"
    work = tempfile.mkdtemp(prefix="lab_udp_selftest.")
    t0 = time.time()
    rc = 1
    try:
        r = run([LAB, "--prefix", prefix, "up"])
        check(r.returncode == 0, f"lab.sh up failed ({r.returncode}): {(r.stdout + r.stderr).strip()[-1500:]}")
        t_up = time.time() - t0
        nse = ["ip", "netns", "exec"]
        # every UDP socket in the target namespace is bound to a lab service address
        ss = run(nse + [ns_tgt, "ss", "-Hlun"]).stdout
        for line in ss.splitlines():
            local = line.split()[3]
            check(not local.startswith(("0.0.0.0:", "*:", "[::]:")), f"wildcard UDP socket: {line}")
        tcp = run(nse + [ns_tgt, "ss", "-Hltn"]).stdout
        expected = truth(prefix, TARGETS4)
        expected.update(truth(prefix, TARGETS6))
        jobs = []
        for (ip, port) in sorted(expected, key=lambda k: (ipaddress.ip_address(k[0]).version,
                                                          ipaddress.ip_address(k[0]), k[1])):
            jobs.append([ip, port, KINDS[port]])
            if port == 53:
                jobs.append([ip, port, "dns-chaos"])
        expected_tcp = truth_tcp53(prefix)
        check(len(expected_tcp) == 3, f"TCP truth for the DNS addresses: {expected_tcp}")
        jobs += [[ip, port, "tcp"] for ip, port in sorted(expected_tcp)]
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
        if st["capture_drops"]:
            errs.append(f"the capture socket dropped {st['capture_drops']} frames")
        if st["kernel_out"]:
            errs.append(f"the scanner namespace's kernel sent {len(st['kernel_out'])} frames: "
                        f"{st['kernel_out'][:5]}")
        counts, icmp_from, seen = {}, set(), {}
        mism = 0
        for ip, port, kind, obs, d in res["results"]:
            want = (expected_tcp if kind == "tcp" else expected)[(ip, port)]
            counts[obs] = counts.get(obs, 0) + 1
            if obs != want:
                mism += 1
                errs.append(f"MISMATCH {ip} {port} ({kind}) expected={want} observed={obs} {d}")
            if "icmp" in d:
                icmp_from.add("probed address" if d["from"] == ip else d["from"])
            if obs == "open":
                seen.setdefault(kind, d["text"])
        log("TCP 53 of the DNS addresses: " + ", ".join(
            f"{ip} {obs}" for ip, _, kind, obs, _ in res["results"] if kind == "tcp"))
        for kind in ("dns", "dns-chaos", "ntp", "snmp", "memcached"):
            if kind not in seen:
                errs.append(f"no {kind} answer at all")
            else:
                log(f"{kind}: {seen[kind]}")
        # the DNS answers carry what dnsmasq was configured with
        if "dns" in seen and "198.18.0.80" not in seen["dns"]:
            errs.append(f"A www.lab.test: {seen['dns']}")
        if "dns-chaos" in seen and "dnsmasq" not in seen["dns-chaos"]:
            errs.append(f"CHAOS TXT version.bind: {seen['dns-chaos']}")
        log(f"prefix {prefix}, up in {t_up:.1f} s, {len(res['results'])} probes, observed {counts}; "
            f"ARP answered {st['arp_answered']}, NA sent {st['na_sent']}; ICMP errors from {sorted(icmp_from)}")
        log("target UDP sockets: " + " ".join(sorted(l.split()[3] for l in ss.splitlines())))
        log("target TCP sockets: " + " ".join(sorted(l.split()[3] for l in tcp.splitlines())))
        for e in errs:
            print(e, file=sys.stderr)
        log(f"{len(res['results'])} probes checked, {mism} mismatches, {len(errs)} errors, "
            f"{time.time() - t0:.1f} s")
        rc = 0 if not errs else 1
    except (Failure, subprocess.TimeoutExpired) as e:
        log(f"FAIL: {e}")
        rc = 1
    finally:
        r = run([LAB, "--prefix", prefix, "down"])
        if r.returncode != 0:
            log(f"lab.sh down failed: {r.stderr.strip()}")
            rc = 1
        shutil.rmtree(work, ignore_errors=True)
    log("PASS" if rc == 0 else "FAIL")
    return rc


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        sys.exit(probe(*sys.argv[2:6]))
    sys.exit(main(sys.argv[1:]))
