#!/usr/bin/python3
"""classify_scapy.py - dpscan's RX classification of frames built by scapy (an independent
implementation of IPv6, ICMPv6, neighbour discovery, IPv4 and ICMP), through classify_tool.

For each cookie PRF (siphash; aes where the CPU has AES-NI), with the cookie computed here in
Python (golden_frames.py's SipHash-2-4 and OpenSSL's AES):
  IPv6  SYN-ACK open, RST (ack = seq or seq + 1) closed, a partial (offload) checksum
        accepted; behind hop-by-hop, destination-options and routing headers and an atomic
        fragment still open; a fragment, a truncated or too long extension-header chain
        dropped with their reasons; wrong ack, wrong port, another destination, a bad
        checksum dropped; ICMPv6 destination unreachable codes 0-7, packet too big and time
        exceeded quoting the probe (from a router, not the target) unreachable with RFC
        4443's reason each, a quote with a wrong sequence dropped as bad_cookie, a parameter
        problem as icmp_other, a bad ICMPv6 checksum as icmp_checksum; VLAN-tagged answers;
        IPv4 and ARP in an IPv6 scan are other_family.
  NDP   a solicitation for our address, for our link-local address (from the MAC) and a
        duplicate address detection probe are answered with advertisements that scapy
        parses (target, flags, our MAC in the option, checksum); solicitations for another
        address or with a hop limit below 255 are ndp_other.
  echo  ICMP and ICMPv6 echo replies carrying the cookie in identifier, sequence and payload
        up (64 bits); a wrong payload, a reply from another address and an echo request
        dropped; a destination unreachable quoting the request unreachable (ICMPv4 quotes
        identifier and sequence: 32 bits; ICMPv6 the whole request: 64)
  udp   over both families, the DNS payload (udp_payload_tool writes it with the cookie
        bytes computed here): a response echoing its ID and question is open with 15 + 27
        bits; a changed ID or case is bad_echo; from another port udp_sport; to another
        source port bad_cookie; an ICMP port unreachable quoting the probe closed, another
        unreachable code unreachable; a bad UDP checksum udp_checksum
  IPv4  the same answers, and ICMP unreachable codes 0-3, 9, 10, 13 with nmap's reasons
        (code 5, source route failed, is not about the target: icmp_other).
An ICMP error proves the quoted sequence and source port: the same bits as a SYN-ACK.
Env: CLASSIFY_TOOL. Exit 0 pass, 1 fail.
"""
import ipaddress
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_frames import aes_mac6, aes_prf, siphash24  # noqa: E402  (the Python references)
from scapy.all import (ARP, Dot1Q, Ether, ICMP, ICMPv6DestUnreach, ICMPv6EchoReply,  # noqa: E402
                       ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, ICMPv6ParamProblem,
                       ICMPv6TimeExceeded, IP, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, TCP, raw)

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.environ.get("CLASSIFY_TOOL") or os.path.join(HERE, "../../build/tests/classify_tool")
PAYLOAD_TOOL = os.environ.get("UDP_PAYLOAD_TOOL") or os.path.join(os.path.dirname(TOOL), "udp_payload_tool")
OUR_MAC, THEIR_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
US6, THEM6, ROUTER6 = "2001:db8:ff::2", "2001:db8:1::17", "2001:db8:ff::1"
US4, THEM4, ROUTER4 = "198.19.255.2", "198.18.0.17", "198.19.255.1"
PORT, SPORT_FIRST, SPORT_COUNT = 443, 32768, 32768
failures = []


def cookie(k0, k1, algo, src, dst, dport):
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    msg = s + d + struct.pack(">H", dport)
    if algo == "aes":
        h = aes_mac6(k0, k1, s, d, dport) if len(s) == 16 else aes_prf(k0, k1, msg + bytes(6))
    else:
        h = siphash24(k0, k1, msg)
    return h & 0xFFFFFFFF, SPORT_FIRST + ((((h >> 32) & 0xFFFF) * SPORT_COUNT) >> 16)


def partial6(src, dst, tcp_len):
    """The folded pseudo-header sum a stack leaves in the checksum field for offload."""
    b = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
    s = sum(struct.unpack(">16H", b)) + tcp_len + 6
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def classify(family, k0, k1, algo, frames, sources):
    data = "".join(raw(f).hex() + "\n" for f in frames)
    p = subprocess.run([TOOL, str(family), f"{k0:x}", f"{k1:x}", algo] + sources, input=data,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"classify_tool exited {p.returncode}: {p.stderr}")
    return p.stdout.splitlines()


def check(cases, got, what):
    for (name, want), line in zip(cases, got):
        ok = line.startswith(want) if want.endswith(" ") or want.startswith("neighbour") else line == want
        if not ok:
            failures.append(f"{what}: {name}: got {line!r}, want {want!r}")
    if len(got) != len(cases):
        failures.append(f"{what}: {len(got)} verdicts for {len(cases)} frames")


def ipv6_cases(k0, k1, algo):
    seq, sport = cookie(k0, k1, algo, US6, THEM6, PORT)
    eth = Ether(src=THEIR_MAC, dst=OUR_MAC)
    bits = 32 + 15  # the sequence and the source port's share of 32768 ports

    def ans(flags="SA", ack=seq + 1, dport=sport, dst=US6, chksum=None, ext=None, hlim=57):
        t = TCP(sport=PORT, dport=dport, flags=flags, seq=999, ack=ack & 0xFFFFFFFF, window=29200)
        if chksum is not None:
            t.chksum = chksum
        ip = IPv6(src=THEM6, dst=dst, hlim=hlim)
        return eth / (ip / ext / t if ext is not None else ip / t)

    probe = IPv6(src=US6, dst=THEM6, hlim=64) / TCP(sport=sport, dport=PORT, flags="S", seq=seq)
    bad_probe = IPv6(src=US6, dst=THEM6, hlim=64) / TCP(sport=sport, dport=PORT, flags="S", seq=seq ^ 1)

    def err(icmp, quote=probe):
        return eth / IPv6(src=ROUTER6, dst=US6) / icmp / raw(quote)

    open_ = f"result open syn-ack {THEM6} {PORT} {bits}"
    cases = [
        ("SYN-ACK", ans(), open_),
        ("RST+ACK ack=seq+1", ans(flags="RA"), f"result closed reset {THEM6} {PORT} {bits - 1}"),
        ("RST ack=seq", ans(flags="R", ack=seq), f"result closed reset {THEM6} {PORT} {bits - 1}"),
        ("partial checksum", ans(chksum=partial6(THEM6, US6, 20)), open_),
        ("hop-by-hop + destination options", ans(ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()), open_),
        ("routing header", ans(ext=IPv6ExtHdrRouting(type=4, segleft=0)), open_),
        ("atomic fragment", ans(ext=IPv6ExtHdrFragment(offset=0, m=0, id=7)), open_),
        ("a first fragment", ans(ext=IPv6ExtHdrFragment(offset=0, m=1, id=7)), "drop fragment"),
        ("nine destination-options headers", ans(ext=IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
                                                 / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
                                                 / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()),
         "drop bad_ext_header"),
        ("wrong ack", ans(ack=seq + 2), "drop bad_cookie"),
        ("wrong port", ans(dport=sport ^ 1), "drop bad_cookie"),
        ("another destination", ans(dst="2001:db8:ff::9"), "drop not_for_us"),
        ("bad checksum", ans(chksum=0x1234), "drop tcp_checksum"),
        ("SYN only", ans(flags="S"), "drop tcp_flags"),
        ("VLAN tag", Ether(src=THEIR_MAC, dst=OUR_MAC) / Dot1Q(vlan=7) / ans()[IPv6], open_),
        ("IPv4 in an IPv6 scan", Ether(src=THEIR_MAC, dst=OUR_MAC) / IP(src=THEM4, dst=US4) / TCP(), "drop other_family"),
        ("ARP in an IPv6 scan", Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=US4), "drop other_family"),
    ]
    for code, reason in enumerate(["no-route", "admin-prohibited", "beyond-scope", "addr-unreach",
                                   "port-unreach", "failed-policy", "reject-route", "unreach"]):
        cases.append((f"destination unreachable code {code}", err(ICMPv6DestUnreach(code=code)),
                      f"result unreachable {reason} {THEM6} {PORT} {bits}"))
    cases += [
        ("packet too big", err(ICMPv6PacketTooBig(mtu=1280)), f"result unreachable packet-too-big {THEM6} {PORT} {bits}"),
        ("time exceeded", err(ICMPv6TimeExceeded(code=0)), f"result unreachable time-exceeded {THEM6} {PORT} {bits}"),
        ("quote with a wrong sequence", err(ICMPv6DestUnreach(code=1), bad_probe), "drop bad_cookie"),
        ("parameter problem", err(ICMPv6ParamProblem(code=0)), "drop icmp_other"),
    ]
    bad = eth / IPv6(src=ROUTER6, dst=US6) / ICMPv6DestUnreach(code=1, cksum=0x4242) / raw(probe)
    cases.append(("bad ICMPv6 checksum", bad, "drop icmp_checksum"))
    # A truncated frame: the payload length says more than there is.
    cut = raw(ans())[:-6]
    cases.append(("cut short", Ether(cut), "drop truncated"))
    got = classify(6, k0, k1, algo, [c[1] for c in cases], [US6])
    check([(c[0], c[2]) for c in cases], got, f"IPv6 {algo}")
    print(f"IPv6 {algo}: {len(cases)} frames classified")


def ndp_cases(k0, k1):
    link_local = "fe80::ff:fe00:1"  # modified EUI-64 of 02:00:00:00:00:01
    gw_ll = "fe80::1"

    def ns(target, src=gw_ll, hlim=255, dst=None):
        dst = dst or str(ipaddress.IPv6Address("ff02::1:ff00:0") + (int(ipaddress.IPv6Address(target)) & 0xFFFFFF))
        f = Ether(src=THEIR_MAC, dst="33:33:ff:00:00:02") / IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_NS(tgt=target)
        if src != "::":
            f = f / ICMPv6NDOptSrcLLAddr(lladdr=THEIR_MAC)
        return f

    frames = [ns(US6), ns(link_local), ns(US6, src="::"), ns("2001:db8:ff::9"), ns(US6, hlim=64)]
    got = classify(6, k0, k1, "siphash", frames, [US6])
    for i, (name, dst, solicited) in enumerate([("our address", gw_ll, True), ("our link-local", gw_ll, True),
                                                ("duplicate address detection", "ff02::1", False)]):
        line = got[i] if i < len(got) else ""
        if not line.startswith("neighbour ") or line == "neighbour -":
            failures.append(f"NDP {name}: {line!r}")
            continue
        reply = Ether(bytes.fromhex(line.split()[1]))
        target = frames[i][ICMPv6ND_NS].tgt
        if ICMPv6ND_NA not in reply:
            failures.append(f"NDP {name}: the reply is not an advertisement: {reply.summary()}")
            continue
        na, ip6 = reply[ICMPv6ND_NA], reply[IPv6]
        fresh = Ether(raw(reply))
        del fresh[ICMPv6ND_NA].cksum
        fresh = Ether(raw(fresh))
        problems = []
        if na.tgt != target or ip6.dst != dst or ip6.hlim != 255 or bool(na.S) != solicited or not na.O or na.R:
            problems.append(f"target {na.tgt} dst {ip6.dst} hlim {ip6.hlim} R{na.R} S{na.S} O{na.O}")
        if ICMPv6NDOptDstLLAddr not in reply or reply[ICMPv6NDOptDstLLAddr].lladdr != OUR_MAC:
            problems.append("no target link-layer option with our MAC")
        if fresh[ICMPv6ND_NA].cksum != na.cksum:
            problems.append(f"checksum {na.cksum:#x}, scapy computes {fresh[ICMPv6ND_NA].cksum:#x}")
        if reply[Ether].src != OUR_MAC:
            problems.append(f"from MAC {reply[Ether].src}")
        if problems:
            failures.append(f"NDP {name}: " + "; ".join(problems))
    for i, name in ((3, "another address"), (4, "hop limit 64")):
        if i >= len(got) or got[i] != "neighbour -ndp_other":
            failures.append(f"NDP {name}: {got[i] if i < len(got) else None!r}, want 'neighbour -ndp_other'")
    print(f"NDP: {len(frames)} solicitations")


def ipv4_cases(k0, k1, algo):
    seq, sport = cookie(k0, k1, algo, US4, THEM4, PORT)
    eth = Ether(src=THEIR_MAC, dst=OUR_MAC)
    bits = 32 + 15
    probe = IP(src=US4, dst=THEM4, ttl=64, id=1) / TCP(sport=sport, dport=PORT, flags="S", seq=seq)
    cases = [
        ("SYN-ACK", eth / IP(src=THEM4, dst=US4) / TCP(sport=PORT, dport=sport, flags="SA", ack=seq + 1),
         f"result open syn-ack {THEM4} {PORT} {bits}"),
        ("RST", eth / IP(src=THEM4, dst=US4) / TCP(sport=PORT, dport=sport, flags="RA", ack=seq + 1),
         f"result closed reset {THEM4} {PORT} {bits - 1}"),
        ("IPv6 in an IPv4 scan", eth / IPv6(src=THEM6, dst=US6) / TCP(), "drop other_family"),
    ]
    for code, reason in [(0, "net-unreach"), (1, "host-unreach"), (2, "proto-unreach"), (3, "port-unreach"),
                         (9, "net-prohibited"), (10, "host-prohibited"), (13, "admin-prohibited"), (5, None)]:
        cases.append((f"ICMP unreachable code {code}",
                      eth / IP(src=ROUTER4, dst=US4) / ICMP(type=3, code=code) / raw(probe)[:28],
                      f"result unreachable {reason} {THEM4} {PORT} {bits}" if reason else "drop icmp_other"))
    got = classify(4, k0, k1, algo, [c[1] for c in cases], [US4])
    check([(c[0], c[2]) for c in cases], got, f"IPv4 {algo}")
    print(f"IPv4 {algo}: {len(cases)} frames classified")


def echo_cases(k0, k1, algo):
    for family, us, them, router in ((6, US6, THEM6, ROUTER6), (4, US4, THEM4, ROUTER4)):
        s, d = ipaddress.ip_address(us).packed, ipaddress.ip_address(them).packed
        if algo == "aes":
            h = aes_mac6(k0, k1, s, d, 0) if family == 6 else aes_prf(k0, k1, s + d + bytes(8))
        else:
            h = siphash24(k0, k1, s + d + bytes(2))
        ident, seq, data = (h >> 32) & 0xFFFF, h >> 48, struct.pack(">I", h & 0xFFFFFFFF) + bytes(4)
        eth = Ether(src=THEIR_MAC, dst=OUR_MAC)
        if family == 6:
            def reply(src=them, payload=data):
                return eth / IPv6(src=src, dst=us) / ICMPv6EchoReply(id=ident, seq=seq, data=payload)
            request = IPv6(src=us, dst=them) / ICMPv6EchoRequest(id=ident, seq=seq, data=data)
            unreach = eth / IPv6(src=router, dst=us) / ICMPv6DestUnreach(code=3) / raw(request)
            asked = eth / IPv6(src=them, dst=us) / ICMPv6EchoRequest(id=ident, seq=seq, data=data)
            quoted_bits, reason = 64, "addr-unreach"
        else:
            def reply(src=them, payload=data):
                return eth / IP(src=src, dst=us) / ICMP(type=0, id=ident, seq=seq) / payload
            request = IP(src=us, dst=them) / ICMP(type=8, id=ident, seq=seq) / data
            unreach = eth / IP(src=router, dst=us) / ICMP(type=3, code=1) / raw(request)[:28]
            asked = eth / IP(src=them, dst=us) / ICMP(type=8, id=ident, seq=seq) / data
            quoted_bits, reason = 32, "host-unreach"
        cases = [
            ("echo reply", reply(), f"result up echo-reply {them} 0 64"),
            ("echo reply, wrong payload", reply(payload=bytes(8)), "drop bad_cookie"),
            ("echo reply from another address", reply(src=router), "drop bad_cookie"),
            ("destination unreachable quoting the request", unreach, f"result unreachable {reason} {them} 0 {quoted_bits}"),
            ("an echo request to us", asked, "drop icmp_other"),
        ]
        got = classify(f"{family}:icmp-echo", k0, k1, algo, [c[1] for c in cases], [us])
        check([(c[0], c[2]) for c in cases], got, f"IPv{family} icmp-echo {algo}")
        print(f"IPv{family} icmp-echo {algo}: {len(cases)} frames classified")


def prf(k0, k1, algo, src, dst, port):
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if algo == "aes":
        return aes_mac6(k0, k1, s, d, port) if len(s) == 16 else aes_prf(k0, k1, s + d + struct.pack(">H", port) + bytes(6))
    return siphash24(k0, k1, s + d + struct.pack(">H", port))


def udp_cases(k0, k1, algo):
    from scapy.all import DNS, UDP, ICMPv6DestUnreach as U6
    for family, us, them, router in ((6, US6, THEM6, ROUTER6), (4, US4, THEM4, ROUTER4)):
        slot = 0  # the DNS payload: the tool's slot 0
        h1, h2 = prf(k0, k1, algo, us, them, slot), prf(k0, k1, algo, them, us, slot)
        sport = SPORT_FIRST + ((((h1 >> 32) & 0xFFFF) * SPORT_COUNT) >> 16)
        cookie = struct.pack(">QQ", h1, h2).hex()
        out = subprocess.run([PAYLOAD_TOOL, "write", cookie], capture_output=True, text=True, check=True).stdout
        query = bytes.fromhex([l.split()[2] for l in out.splitlines() if l.split()[0] == "dns"][0])
        q = DNS(query)
        ok = DNS(id=q.id, qr=1, aa=1, rd=q.rd, qd=q.qd, an=None)
        bad_id = DNS(id=q.id ^ 1, qr=1, qd=q.qd)
        lower = q.qd.copy()
        lower.qname = q.qd.qname.lower() if q.qd.qname != q.qd.qname.lower() else q.qd.qname.upper()
        bad_case = DNS(id=q.id, qr=1, qd=lower)
        eth = Ether(src=THEIR_MAC, dst=OUR_MAC)
        IPX = IPv6 if family == 6 else IP

        def ans(payload, sp=53, dp=sport, chksum=None):
            u = UDP(sport=sp, dport=dp)
            if chksum is not None:
                u.chksum = chksum
            return eth / IPX(src=them, dst=us) / u / payload

        probe = IPX(src=us, dst=them) / UDP(sport=sport, dport=53) / query
        if family == 6:
            closed = eth / IPv6(src=router, dst=us) / U6(code=4) / raw(probe)
            other = eth / IPv6(src=router, dst=us) / U6(code=1) / raw(probe)
            reason = "admin-prohibited"
        else:
            closed = eth / IP(src=them, dst=us) / ICMP(type=3, code=3) / raw(probe)[:28]
            other = eth / IP(src=router, dst=us) / ICMP(type=3, code=1) / raw(probe)[:28]
            reason = "host-unreach"
        cases = [
            ("DNS response", ans(ok), f"result open udp-response {them} 53 42"),
            ("DNS response, another ID", ans(bad_id), "drop bad_echo"),
            ("DNS response, the name's case changed", ans(bad_case), "drop bad_echo"),
            ("from another port", ans(ok, sp=5353), "drop udp_sport"),
            ("to another source port", ans(ok, dp=sport ^ 1), "drop bad_cookie"),
            ("bad UDP checksum", ans(ok, chksum=0x1234), "drop udp_checksum"),
            ("port unreachable quoting the probe", closed, f"result closed port-unreach {them} 53 15"),
            ("another unreachable", other, f"result unreachable {reason} {them} 53 15"),
        ]
        got = classify(f"{family}:udp", k0, k1, algo, [c[1] for c in cases], [us])
        check([(c[0], c[2]) for c in cases], got, f"IPv{family} udp {algo}")
        print(f"IPv{family} udp {algo}: {len(cases)} frames classified")


def main():
    rng = random.Random()
    k0, k1 = rng.getrandbits(64), rng.getrandbits(64)
    algos = ["siphash"] + (["aes"] if "aes" in open("/proc/cpuinfo").read().split() else [])
    for algo in algos:
        ipv6_cases(k0, k1, algo)
        ipv4_cases(k0, k1, algo)
        echo_cases(k0, k1, algo)
        udp_cases(k0, k1, algo)
    ndp_cases(k0, k1)
    for f in failures:
        print("FAIL", f)
    print(f"classify_scapy: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
