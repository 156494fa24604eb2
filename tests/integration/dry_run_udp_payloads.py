#!/usr/bin/python3
"""dry_run_udp_payloads.py - dpscan's UDP payload library (include/dpscan/udp_payload.hpp)
against scapy, an independent implementation of the protocols, through udp_payload_tool.

Probes: the built-in payloads written for a random cookie are dissected by scapy (DNS, NTP,
SNMP, STUN, CoAP, IKEv2, NetBIOS) or by hand (SSDP, memcached), and every field that carries
the cookie must hold the cookie's bytes where docs/udp-payloads.md says: DNS ID and 0x20 case,
NTP transmit timestamp, SNMP request-id (31 bits), STUN transaction ID, CoAP message ID and
token, IKEv2 initiator SPI, memcached request ID, NetBIOS transaction ID.
Answers: responses built by scapy for each probe are accepted with the documented number of
cookie bits, and the same responses with the echoed field changed are refused.
Users' payloads: a DNS query written as PORT:hex: with {cookie16} and {dst} dissects with the
cookie in its ID; errors name the problem.
nmap: where /usr/share/nmap/nmap-payloads exists, the payloads dpscan loads from it for each
port equal those this script reads from it (Python's own unescaping).
Dry run (dpscan itself): the log and --summary count 4 ports and 5 probe slots apart, and each
csv/ndjson probe record names its payload, as the slots are picked per port.
Env: UDP_PAYLOAD_TOOL, DPSCAN. Exit 0 pass, 1 fail.
"""
import os
import random
import struct
import subprocess
import sys

from scapy.all import raw  # noqa: E402
from scapy.asn1.asn1 import ASN1_OID, ASN1_STRING
from scapy.contrib.coap import CoAP
from scapy.contrib.ikev2 import IKEv2, IKEv2_payload_KE, IKEv2_payload_Nonce, IKEv2_payload_Notify, IKEv2_payload_SA
from scapy.contrib.stun import STUN, STUNXorMappedAddress
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.netbios import NBNSHeader, NBNSNodeStatusRequest
from scapy.layers.ntp import NTPHeader
from scapy.layers.snmp import SNMP, SNMPget, SNMPresponse, SNMPvarbind

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.environ.get("UDP_PAYLOAD_TOOL") or os.path.join(HERE, "../../build/tests/udp_payload_tool")
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def tool(*args, stdin=None):
    return subprocess.run([TOOL, *args], input=stdin, capture_output=True, text=True,
                          check=True).stdout


def builtins(cookie):
    out = {}
    for line in tool("write", cookie.hex()).splitlines():
        name, port, hexdata = line.split()
        out[name] = (int(port), bytes.fromhex(hexdata))
    return out


def check(name, cookie, answers):
    lines = tool("check", name, cookie.hex(), stdin="".join(a.hex() + "\n" for a in answers))
    return lines.splitlines()


def flip(data, at):
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def probes(cookie, p):
    """Dissects each built-in probe; returns what the answers need."""
    c = cookie
    expect(sorted(p) == ["coap", "dns", "ike", "memcached", "nbns", "ntp", "snmp", "ssdp", "stun"],
           f"built-in names {sorted(p)}")

    port, data = p["dns"]
    d = DNS(data)
    expect(port == 53 and d.id == int.from_bytes(c[0:2], "big") and d.qr == 0 and d.rd == 1,
           f"dns header {d.summary()}")
    q = d.qd[0] if hasattr(d.qd, "__getitem__") else d.qd
    expect(q.qtype == 16 and q.qclass == 3, f"dns question type/class {q.qtype} {q.qclass}")
    name = q.qname.decode()
    expect(name.lower() == "version.bind.", f"dns qname {name}")
    letters = [ch for ch in name if ch.isalpha()]
    want = [((c[2] >> i) & 1) for i in range(7)] + [((c[3] >> i) & 1) for i in range(4)]
    expect([int(ch.isupper()) for ch in letters] == want, f"dns 0x20 case {name} vs {want}")

    port, data = p["ntp"]
    n = NTPHeader(data)
    expect(port == 123 and n.version == 4 and n.mode == 3, f"ntp {n.version} {n.mode}")
    expect(raw(n)[40:48] == c[0:8] and len(data) == 48, "ntp transmit timestamp is the cookie")

    port, data = p["snmp"]
    s = SNMP(data)
    expect(port == 161 and s.version.val == 1 and s.community.val == b"public", "snmp v2c public")
    expect(isinstance(s.PDU, SNMPget), f"snmp pdu {type(s.PDU).__name__}")
    expect(s.PDU.id.val == int.from_bytes(c[0:4], "big") & 0x7FFFFFFF, f"snmp request-id {s.PDU.id.val}")
    expect(s.PDU.varbindlist[0].oid.val == "1.3.6.1.2.1.1.1.0", "snmp sysDescr.0")
    expect(data[15:17] == b"\x02\x04", "snmp request-id encoded in 4 bytes (a fixed size)")

    port, data = p["stun"]
    st = STUN(data)
    expect(port == 3478 and st.stun_message_type == 0x0001 and st.magic_cookie == 0x2112A442 and
           st.length == 0, "stun binding request")
    expect(st.transaction_id == int.from_bytes(c[0:12], "big"), "stun transaction id")

    port, data = p["coap"]
    co = CoAP(data)
    expect(port == 5683 and co.ver == 1 and co.type == 0 and co.code == 1, f"coap CON GET {co.summary()}")
    expect(co.msg_id == int.from_bytes(c[0:2], "big") and co.token == c[2:10], "coap message id and token")
    paths = [v for k, v in co.options if k == "Uri-Path"]
    expect(paths == [b".well-known", b"core"], f"coap uri {co.options}")

    port, data = p["ike"]
    ike = IKEv2(data)
    expect(port == 500 and ike.init_SPI == c[0:8] and ike.exch_type == 34 and ike.id == 0 and
           ike.length == len(data), f"ike header {ike.summary()}")
    sa, ke, nonce = ike.getlayer(IKEv2_payload_SA), ike.getlayer(IKEv2_payload_KE), ike.getlayer(IKEv2_payload_Nonce)
    expect(sa is not None and ke is not None and nonce is not None, "ike SA, KE, Nonce payloads")
    if sa is not None and ke is not None and nonce is not None:
        prop = sa.prop
        ttypes = []
        t = prop.trans
        while t is not None and t.__class__.__name__ == "IKEv2_payload_Transform":
            ttypes.append((t.transform_type, t.transform_id))
            t = t.payload if t.next_payload else None
        expect(prop.proto == 1 and ttypes == [(1, 12), (2, 5), (3, 12), (4, 14)], f"ike transforms {ttypes}")
        expect(ke.group == 14 and len(ke.load) == 256, "ike KE group 14, 256 bytes")
        expect(len(nonce.load) == 32, "ike nonce 32 bytes")

    port, data = p["nbns"]
    nb = NBNSHeader(data)
    expect(port == 137 and nb.NAME_TRN_ID == int.from_bytes(c[0:2], "big") and nb.QDCOUNT == 1,
           "nbns header")
    req = nb.getlayer(NBNSNodeStatusRequest)
    expect(req is not None and req.QUESTION_NAME.rstrip(b" \x00") == b"*" and req.QUESTION_TYPE == 0x21,
           f"nbns node status request {req.summary() if req else None}")

    port, data = p["ssdp"]
    expect(port == 1900 and data.startswith(b"M-SEARCH * HTTP/1.1\r\n") and b"\r\nST: ssdp:all\r\n" in data
           and b'\r\nMAN: "ssdp:discover"\r\n' in data and data.endswith(b"\r\n\r\n"), "ssdp M-SEARCH")

    port, data = p["memcached"]
    expect(port == 11211 and data == c[0:2] + b"\x00\x00\x00\x01\x00\x00version\r\n", "memcached")


def answers(cookie, p):
    c = cookie
    d = DNS(p["dns"][1])
    q = d.qd[0] if hasattr(d.qd, "__getitem__") else d.qd
    good = raw(DNS(id=d.id, qr=1, rd=1, ra=1, qd=DNSQR(qname=q.qname, qtype=16, qclass=3),
                   an=DNSRR(rrname=q.qname, type=16, rclass=3, rdata=[b"dnsmasq-2.89"])))
    lower = raw(DNS(id=d.id, qr=1, qd=DNSQR(qname=q.qname.lower(), qtype=16, qclass=3)))
    refused = raw(DNS(id=d.id, qr=1, rcode=5, qd=None))
    other_q = raw(DNS(id=d.id, qr=1, rcode=5, qd=DNSQR(qname="www.example.com")))
    got = check("dns", c, [good, flip(good, 1), lower, refused, other_q])
    expect(got == ["ok 27", "bad", "bad" if q.qname != q.qname.lower() else "ok 27", "ok 16", "bad"],
           f"dns answers {got}")

    ntp = bytearray(raw(NTPHeader(version=4, mode=4, stratum=2)))
    ntp[24:32] = p["ntp"][1][40:48]
    got = check("ntp", c, [bytes(ntp), flip(ntp, 30)])
    expect(got == ["ok 64", "bad"], f"ntp answers {got}")

    rid = int.from_bytes(c[0:4], "big") & 0x7FFFFFFF
    def snmp(i, pdu=SNMPresponse):
        return raw(SNMP(version=1, community=b"public", PDU=pdu(id=i, varbindlist=[
            SNMPvarbind(oid=ASN1_OID("1.3.6.1.2.1.1.1.0"), value=ASN1_STRING(b"Linux lab"))])))
    got = check("snmp", c, [snmp(rid), snmp(rid ^ 1), snmp(rid, SNMPget), snmp(rid)[:-1]])
    expect(got == ["ok 31", "bad", "bad", "bad"], f"snmp answers {got}")

    tid = int.from_bytes(c[0:12], "big")
    def stun(t):
        # scapy 2.5 cannot build STUN (its post_build fails), so the answer is made here and
        # dissected by scapy: a Binding success with an XOR-MAPPED-ADDRESS of 198.18.0.9:4660.
        xaddr = struct.pack(">HH4s", 1, 0x1234 ^ 0x2112, bytes(a ^ b for a, b in zip(
            bytes([198, 18, 0, 9]), bytes.fromhex("2112a442"))))
        data = struct.pack(">HHI", 0x0101, 12, 0x2112A442) + t.to_bytes(12, "big") + \
            struct.pack(">HH", 0x0020, 8) + xaddr
        st = STUN(data)
        x = st.attributes[0]
        expect(st.stun_message_type == 0x0101 and st.transaction_id == t and
               isinstance(x, STUNXorMappedAddress) and x.xip == "198.18.0.9" and x.xport == 0x1234,
               f"the STUN answer made here, as scapy reads it: {st.summary()}")
        return data
    got = check("stun", c, [stun(tid), stun(tid ^ 1)])
    expect(got == ["ok 96", "bad"], f"stun answers {got}")

    mid, tok = int.from_bytes(c[0:2], "big"), c[2:10]
    ack = raw(CoAP(type=2, code=69, msg_id=mid, token=tok, paymark=b"\xff") / b"</>")
    sep = raw(CoAP(type=0, code=69, msg_id=mid ^ 0x5555, token=tok, paymark=b"\xff") / b"</>")
    empty = raw(CoAP(type=2, code=0, msg_id=mid))
    bad_tok = raw(CoAP(type=2, code=69, msg_id=mid, token=flip(tok, 7), paymark=b"\xff") / b"</>")
    got = check("coap", c, [ack, sep, empty, bad_tok])
    expect(got == ["ok 80", "ok 64", "ok 16", "bad"], f"coap answers {got}")

    def ike(spi, flags="Response"):
        return raw(IKEv2(init_SPI=spi, resp_SPI=b"\x11" * 8, exch_type=34, flags=flags, id=0) /
                   IKEv2_payload_Notify(type=17, load=b"\x00\x0e"))
    got = check("ike", c, [ike(c[0:8]), ike(flip(c[0:8], 3)), ike(c[0:8], "Initiator")])
    expect(got == ["ok 64", "bad", "bad"], f"ike answers {got}")


def user_payloads(cookie):
    dns = DNS(id=0, rd=1, qd=DNSQR(qname="lab.example", qtype="A"))
    body = raw(dns)[2:].hex()
    out = tool("spec", cookie.hex(), "c6120007", "1472", "53:hex:{cookie16}" + body + "{dst}").split()
    expect(out[:2] == ["hex", "53"], f"user payload {out}")
    data = bytes.fromhex(out[2])
    expect(DNS(data[:-4]).id == int.from_bytes(cookie[0:2], "big") and data[-4:] == bytes([198, 18, 0, 7]),
           "user payload: cookie in the DNS ID, the destination at the end")
    out = tool("spec", cookie.hex(), "c6120007", "1472", "53:text:{cookie9}")
    expect(out.startswith("error udp payload '53:text:{cookie9}': unknown field {cookie9}"), f"error {out}")
    out = tool("spec", cookie.hex(), "20010db8000000000000000000000009", "1232", "9:hex:{dst}")
    expect(out.split() == ["hex", "9", "20010db8000000000000000000000009"], f"{{dst}} in IPv6 {out}")


def nmap_payloads():
    """nmap-payloads read here: [(ports predicate, bytes)], by a tokenizer of its own."""
    import ast
    import re
    path = "/usr/share/nmap/nmap-payloads"
    if not os.path.exists(path):
        print("no nmap-payloads: the nmap check is skipped")
        return
    text = open(path, encoding="latin-1").read()
    tokens = re.findall(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"|[^\s"#]+', text)
    entries, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        if t == "udp":
            ports, data = tokens[i + 1], b""
            i += 2
            while i < len(tokens) and (tokens[i].startswith('"') or tokens[i].startswith("#")):
                if tokens[i].startswith('"'):
                    data += ast.literal_eval("b" + tokens[i])
                i += 1
            entries.append((ports, data))
        else:
            i += 1

    def holds(ports, port):
        for item in ports.split(","):
            lo, _, hi = item.partition("-")
            if int(lo) <= port <= int(hi or lo):
                return True
        return False
    ports = sorted({int(p.partition("-")[0]) for ps, _ in entries for p in ps.split(",")} | {40000})
    expect(len(ports) > 40, f"nmap-payloads: {len(entries)} entries")
    for port in ports:
        want = [d for ps, d in entries if holds(ps, port)]
        got = [bytes.fromhex(line.split()[2]) if line.split()[2] != "-" else b""
               for line in tool("nmap", path, str(port)).splitlines()]
        expect(got == want, f"nmap payloads for port {port}: {len(got)} vs {len(want)}")


def dry_run_slots():
    """dpscan --dry-run -M udp: the log and the summary count ports and probe slots apart, and
    each probe record names its payload (csv column after ip,port; ndjson key), as the module
    picks them: the user's for 123 (two), the built-ins for 53 and 161, an empty one for 9999."""
    import collections
    import json
    import tempfile
    dpscan = os.environ.get("DPSCAN") or os.path.join(HERE, "../../build/src/dpscan")
    want_names = {53: ["dns"], 123: ["hex", "text"], 161: ["snmp"], 9999: ["hex"]}
    addrs = [f"198.18.0.{i}" for i in range(8, 12)]
    want = collections.Counter((a, p, n) for a in addrs for p, ns in want_names.items() for n in ns)
    with tempfile.TemporaryDirectory(prefix="dpscan-udp-dry.") as work:
        for fmt in ("csv", "ndjson"):
            out, summ = os.path.join(work, "out." + fmt), os.path.join(work, "summary.json")
            r = subprocess.run([dpscan, "--no-default-blocklist", "198.18.0.8/30", "-M", "udp",
                                "-p", "53,123,161,9999", "--udp-payload", "123:hex:e3{cookie64}",
                                "--udp-payload", "123:text:x", "--dry-run", "-o", out,
                                "--output-format", fmt, "--summary", summ],
                               capture_output=True, text=True, timeout=60)
            expect(r.returncode == 0, f"dry run exited {r.returncode}: {r.stderr[-300:]}")
            if r.returncode:
                continue
            expect("dry run: 4 addresses x 4 ports, 5 probe slots = 20 targets, 20 probes" in r.stderr,
                   f"dry run log: {r.stderr.strip()[:300]}")
            sm = json.load(open(summ))
            expect((sm["addresses"], sm["ports"], sm["probe_slots"], sm["probes"]) == (4, 4, 5, 20),
                   f"summary addresses/ports/probe_slots/probes {sm['addresses']} {sm['ports']} "
                   f"{sm.get('probe_slots')} {sm['probes']}")
            got = collections.Counter()
            lines = open(out).read().splitlines()
            if fmt == "csv":
                expect(lines[0] == "ip,port,payload", f"dry-run csv header {lines[0]!r}")
                for l in lines[1:]:
                    ip, port, name = l.split(",")
                    got[(ip, int(port), name)] += 1
            else:
                for l in lines:
                    o = json.loads(l)
                    expect(list(o) == ["ip", "port", "payload"], f"dry-run ndjson keys {list(o)}")
                    got[(o["ip"], o["port"], o["payload"])] += 1
            expect(got == want, f"dry-run {fmt} records: extra {list((got - want).items())[:4]}, "
                   f"missing {list((want - got).items())[:4]}")
    # TCP's dry run keeps its two columns, and its count of ports
    r = subprocess.run([dpscan, "--no-default-blocklist", "198.18.0.8/30", "-p", "22,80",
                        "--dry-run", "-o", "-"], capture_output=True, text=True, timeout=60)
    expect(r.stdout.splitlines()[:1] == ["ip,port"] and
           "4 addresses x 2 ports = 8 targets" in r.stderr, f"tcp dry run {r.stdout[:40]!r} {r.stderr[:200]}")


def main():
    rng = random.Random(int(os.environ.get("SEED", "0")) or None)
    for _ in range(8):
        cookie = bytes(rng.randrange(256) for _ in range(16))
        p = builtins(cookie)
        probes(cookie, p)
        answers(cookie, p)
    user_payloads(bytes(range(0xA0, 0xB0)))
    nmap_payloads()
    dry_run_slots()
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("dry_run_udp_payloads: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
