#!/usr/bin/env /usr/bin/python3
"""Golden frames: the probes dpscan writes through DPDK's net_pcap driver, dissected by
scapy and by tshark (independent of dpscan's own code):
  - valid IPv4 and TCP checksums (scapy recomputes them; tshark verifies them too),
  - the exact TCP option layout of each --probe-options profile,
  - sequence number, source port and IP ID equal to the cookie recomputed here in Python
    (SipHash-2-4 over src|dst|dport with the scan's key, read from its checkpoint),
  - TTL, window, SYN flag, addresses, one frame per (address, port) of the plan;
  - and the same over IPv6: the TCP checksum over IPv6's pseudo-header, the cookie over the
    128-bit addresses (SipHash of 34 bytes, or AES as a CBC-MAC of three blocks), hop limit,
    one flow label for the whole scan, no extension headers.
Runs dpscan in a network namespace of its own; nothing is sent anywhere (net_pcap writes a
file)."""
import os
import struct
import subprocess
import sys
import tempfile
import uuid

from scapy.all import IP, TCP, Ether, IPv6, rdpcap
from scapy.utils import PcapWriter

DPSCAN = os.environ.get("DPSCAN", os.path.join(os.path.dirname(__file__), "../../build/src/dpscan"))

# The option bytes of each profile (RFC 793 MSS, RFC 7323 window scale and timestamps,
# RFC 2018 SACK-permitted), and what scapy's dissector must make of them.
MSS, NOP, EOL, SACKOK = bytes([2, 4, 0x05, 0xB4]), b"\x01", b"\x00", bytes([4, 2])
def WS(n): return bytes([3, 3, n])
TS = bytes([8, 10]) + (1).to_bytes(4, "big") + (0).to_bytes(4, "big")
PROFILES = {
    "none": b"",
    "mss": MSS,
    "windows": MSS + NOP + WS(8) + NOP + NOP + SACKOK,
    "linux": MSS + SACKOK + TS + NOP + WS(7),
    "bsd": MSS + NOP + WS(6) + NOP + NOP + TS + SACKOK + EOL + EOL,
}
SCAPY_VIEW = {
    "none": [],
    "mss": [("MSS", 1460)],
    "windows": [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None), ("SAckOK", b"")],
    "linux": [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)],
    # scapy stops at the first end-of-option-list
    "bsd": [("MSS", 1460), ("NOP", None), ("WScale", 6), ("NOP", None), ("NOP", None), ("Timestamp", (1, 0)),
            ("SAckOK", b""), ("EOL", None)],
}
FRAME_LEN = {"none": 54, "mss": 58, "windows": 66, "linux": 74, "bsd": 78}


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & 0xFFFFFFFFFFFFFFFF


def siphash24(k0, k1, msg):
    """Reference SipHash-2-4 (Aumasson & Bernstein), written from the paper."""
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    mask = 0xFFFFFFFFFFFFFFFF

    def rnd():
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & mask; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 = (v2 + v3) & mask; v3 = rotl(v3, 16); v3 ^= v2
        v0 = (v0 + v3) & mask; v3 = rotl(v3, 21); v3 ^= v0
        v2 = (v2 + v1) & mask; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)

    n = len(msg)
    blocks = n // 8
    for i in range(blocks):
        m = struct.unpack_from("<Q", msg, i * 8)[0]
        v3 ^= m; rnd(); rnd(); v0 ^= m
    last = (n & 0xFF) << 56
    for i, b in enumerate(msg[blocks * 8:]):
        last |= b << (8 * i)
    v3 ^= last; rnd(); rnd(); v0 ^= last
    v2 ^= 0xFF
    for _ in range(4):
        rnd()
    return v0 ^ v1 ^ v2 ^ v3


def check_vectors():
    key = bytes(range(16))
    k0, k1 = struct.unpack("<QQ", key)
    assert siphash24(k0, k1, bytes(range(15))) == 0xA129CA6149BE45E5, "SipHash reference vector"


def ip2int(s):
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def aes_prf(k0, k1, block):
    """AES-128 of one block with the key k0|k1 (little-endian bytes), by Python's cryptography
    package (OpenSSL): h = the first 8 bytes of the ciphertext, little-endian."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    enc = Cipher(algorithms.AES(struct.pack("<QQ", k0, k1)), modes.ECB()).encryptor()
    return struct.unpack("<Q", (enc.update(block) + enc.finalize())[:8])[0]


def expected_cookie(k0, k1, src, dst, dport, sport_first, sport_count, algo="siphash"):
    msg = struct.pack(">IIH", ip2int(src), ip2int(dst), dport)
    h = aes_prf(k0, k1, msg + bytes(6)) if algo == "aes" else siphash24(k0, k1, msg)
    seq = h & 0xFFFFFFFF
    sport = sport_first + ((((h >> 32) & 0xFFFF) * sport_count) >> 16)
    ip_id = h >> 48
    return seq, sport, ip_id


def aes_mac6(k0, k1, src, dst, dport):
    """The IPv6 AES cookie: a CBC-MAC of src | dst | dport + 14 zero bytes, by OpenSSL."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    enc = Cipher(algorithms.AES(struct.pack("<QQ", k0, k1)), modes.ECB()).encryptor()
    x = enc.update(src)
    x = enc.update(bytes(a ^ b for a, b in zip(x, dst)))
    x = enc.update(bytes(a ^ b for a, b in zip(x, struct.pack(">H", dport) + bytes(14))))
    return struct.unpack("<Q", x[:8])[0]


def run_ipv6(profile, ns, work, failures, algo):
    import ipaddress
    out = os.path.join(work, f"v6-{profile}-{algo}.pcap")
    ck = os.path.join(work, f"v6-{profile}-{algo}.ck")
    empty = os.path.join(work, "empty.pcap")
    srcs = ("2001:db8:ff::2", "2001:db8:ff::3")
    cmd = ["ip", "netns", "exec", ns, DPSCAN, "-q", "--no-default-blocklist", "2001:db8:1::/124,2001:db8:2::7",
           "-p", "22,80,65535", "--device", f"net_pcap0,rx_pcap={empty},tx_pcap={out}",
           "--source-ip", f"{srcs[0]}-{srcs[1]}", "--gateway-mac", "02:00:00:00:00:01", "--probe-options", profile,
           "--ttl", "77", "--window", "29200", "--source-port", "40000-40999", "--cookie", algo, "--cooldown", "0",
           "--checkpoint", ck, "-o", os.devnull]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        failures.append(f"IPv6 {profile}: dpscan exited {r.returncode}: {r.stderr.strip()}")
        return
    key_line = [l for l in open(ck).read().splitlines() if l.startswith("key ")][0]
    k0, k1 = (int(x, 16) for x in key_line.split()[1:3])
    frames = rdpcap(out)
    want = {(str(ipaddress.IPv6Address(f"2001:db8:1::{i:x}")), p) for i in range(16) for p in (22, 80, 65535)}
    want |= {("2001:db8:2::7", p) for p in (22, 80, 65535)}
    seen, labels = set(), set()
    for f in frames:
        raw = bytes(f)
        if IPv6 not in f or TCP not in f:
            failures.append(f"IPv6 {profile}: a frame that is not IPv6/TCP: {f.summary()}")
            continue
        ip, tcp = f[IPv6], f[TCP]
        tag = f"IPv6 {profile} [{ip.dst}]:{tcp.dport}"
        if len(raw) != FRAME_LEN[profile] + 20:
            failures.append(f"{tag}: frame is {len(raw)} bytes, want {FRAME_LEN[profile] + 20}")
        fresh = Ether(raw)
        del fresh[TCP].chksum
        fresh = Ether(bytes(fresh))
        if fresh[TCP].chksum != tcp.chksum:
            failures.append(f"{tag}: TCP checksum {tcp.chksum:#06x}, scapy computes {fresh[TCP].chksum:#06x}")
        # The MSS an IPv6 stack announces on a 1500-byte link: 1500 - 40 - 20 (RFC 8200, 9293).
        want_opts = PROFILES[profile].replace(MSS, bytes([2, 4, 0x05, 0xA0]))
        if raw[54 + 20:54 + tcp.dataofs * 4] != want_opts:
            failures.append(f"{tag}: option bytes {raw[74:54 + tcp.dataofs * 4].hex()}")
        if ip.src not in srcs:
            failures.append(f"{tag}: source {ip.src} not one of {srcs}")
        sb, db = ipaddress.IPv6Address(ip.src).packed, ipaddress.IPv6Address(ip.dst).packed
        h = aes_mac6(k0, k1, sb, db, tcp.dport) if algo == "aes" else \
            siphash24(k0, k1, sb + db + struct.pack(">H", tcp.dport))
        seq, sport = h & 0xFFFFFFFF, 40000 + ((((h >> 32) & 0xFFFF) * 1000) >> 16)
        if (tcp.seq, tcp.sport) != (seq, sport):
            failures.append(f"{tag}: seq/sport {tcp.seq}/{tcp.sport}, cookie says {seq}/{sport}")
        if tcp.flags != "S" or tcp.ack != 0 or tcp.window != 29200 or ip.hlim != 77 or ip.nh != 6 \
                or ip.plen != len(raw) - 54 or ip.tc != 0:
            failures.append(f"{tag}: header fields flags={tcp.flags} win={tcp.window} hlim={ip.hlim} "
                            f"nh={ip.nh} plen={ip.plen} tc={ip.tc}")
        labels.add(ip.fl)
        if (ip.dst, tcp.dport) in seen:
            failures.append(f"{tag}: sent twice")
        seen.add((ip.dst, tcp.dport))
    if len(labels) != 1:
        failures.append(f"IPv6 {profile}: {len(labels)} flow labels in one scan, want one")
    if seen != want:
        failures.append(f"IPv6 {profile}: probed {len(seen)} pairs, want {len(want)}; "
                        f"missing {sorted(want - seen)[:5]}, unexpected {sorted(seen - want)[:5]}")
    t = subprocess.run(["tshark", "-r", out, "-o", "tcp.check_checksum:TRUE", "-T", "fields",
                        "-e", "tcp.checksum.status"], capture_output=True, text=True, timeout=60)
    good = sum(1 for l in t.stdout.splitlines() if l.strip() == "1")
    if t.returncode != 0 or good != len(frames):
        failures.append(f"IPv6 {profile}: tshark says {good} of {len(frames)} frames have good TCP checksums")
    print(f"golden_frames: IPv6 {profile}, {algo} cookie: {len(frames)} frames checked")


def run_profile(profile, ns, work, failures, algo):
    out = os.path.join(work, f"{profile}-{algo}.pcap")
    ck = os.path.join(work, f"{profile}-{algo}.ck")
    empty = os.path.join(work, "empty.pcap")
    if not os.path.exists(empty):
        w = PcapWriter(empty, linktype=1)
        w._write_header(None)
        w.close()
    sources = "198.19.255.2-198.19.255.3"
    cmd = ["ip", "netns", "exec", ns, DPSCAN, "-q", "--no-default-blocklist", "198.18.0.0/28,198.18.1.7",
           "-p", "22,80,65535", "--device", f"net_pcap0,rx_pcap={empty},tx_pcap={out}",
           "--source-ip", sources, "--gateway-mac", "02:00:00:00:00:01", "--probe-options", profile,
           "--ttl", "77", "--window", "29200", "--source-port", "40000-40999", "--cookie", algo, "--cooldown", "0", "--checkpoint", ck, "-o", os.devnull]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        failures.append(f"{profile}: dpscan exited {r.returncode}: {r.stderr.strip()}")
        return
    lines = open(ck).read().splitlines()
    key_line = [l for l in lines if l.startswith("key ")][0]
    k0, k1 = (int(x, 16) for x in key_line.split()[1:3])
    if f"cookie {algo}" not in lines:
        failures.append(f"{profile}: checkpoint does not record 'cookie {algo}'")

    frames = rdpcap(out)
    want = {(f"198.18.0.{i}", p) for i in range(16) for p in (22, 80, 65535)} | {("198.18.1.7", p) for p in (22, 80, 65535)}
    seen = set()
    for f in frames:
        raw = bytes(f)
        tag = f"{profile} {f[IP].dst}:{f[TCP].dport}" if IP in f and TCP in f else profile
        if len(raw) != FRAME_LEN[profile]:
            failures.append(f"{tag}: frame is {len(raw)} bytes, want {FRAME_LEN[profile]}")
        ip, tcp = f[IP], f[TCP]
        # Checksums: let scapy recompute them from scratch and compare.
        fresh = Ether(raw)
        del fresh[IP].chksum
        del fresh[TCP].chksum
        fresh = Ether(bytes(fresh))
        if fresh[IP].chksum != ip.chksum:
            failures.append(f"{tag}: IPv4 checksum {ip.chksum:#06x}, scapy computes {fresh[IP].chksum:#06x}")
        if fresh[TCP].chksum != tcp.chksum:
            failures.append(f"{tag}: TCP checksum {tcp.chksum:#06x}, scapy computes {fresh[TCP].chksum:#06x}")
        opt_bytes = raw[34 + 20:34 + tcp.dataofs * 4]
        if opt_bytes != PROFILES[profile]:
            failures.append(f"{tag}: option bytes {opt_bytes.hex()}, want {PROFILES[profile].hex()}")
        opts = [(k, None if k in ("NOP", "EOL") else v) for k, v in tcp.options]
        if opts != SCAPY_VIEW[profile]:
            failures.append(f"{tag}: scapy reads options {tcp.options}, want {SCAPY_VIEW[profile]}")
        if ip.src not in ("198.19.255.2", "198.19.255.3"):
            failures.append(f"{tag}: source {ip.src} not one of {sources}")
        seq, sport, ip_id = expected_cookie(k0, k1, ip.src, ip.dst, tcp.dport, 40000, 1000, algo)
        if (tcp.seq, tcp.sport, ip.id) != (seq, sport, ip_id):
            failures.append(f"{tag}: seq/sport/id {tcp.seq}/{tcp.sport}/{ip.id}, cookie says {seq}/{sport}/{ip_id}")
        if tcp.flags != "S" or tcp.ack != 0 or tcp.window != 29200 or ip.ttl != 77 or ip.version != 4 or ip.ihl != 5:
            failures.append(f"{tag}: header fields flags={tcp.flags} ack={tcp.ack} win={tcp.window} ttl={ip.ttl}")
        if f[Ether].dst != "02:00:00:00:00:01":
            failures.append(f"{tag}: Ethernet destination {f[Ether].dst}")
        if (ip.dst, tcp.dport) in seen:
            failures.append(f"{tag}: sent twice")
        seen.add((ip.dst, tcp.dport))
    if seen != want:
        failures.append(f"{profile}: probed {len(seen)} pairs, want {len(want)}; missing {sorted(want - seen)[:5]}")

    # tshark, a second dissector, with checksum verification on.
    t = subprocess.run(["tshark", "-r", out, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                        "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status"],
                       capture_output=True, text=True, timeout=60)
    statuses = [l.split("\t") for l in t.stdout.splitlines() if l.strip()]
    good = sum(1 for s in statuses if s == ["1", "1"])  # 1 = PROTO_CHECKSUM_E_GOOD in tshark's fields
    if t.returncode != 0 or good != len(frames):
        failures.append(f"{profile}: tshark says {good} of {len(frames)} frames have good IPv4 and TCP checksums")
    print(f"golden_frames: {profile}, {algo} cookie: {len(frames)} frames checked")


def main():
    if os.geteuid() != 0:
        print("golden_frames: needs root (network namespace)")
        return 77
    check_vectors()
    ns = f"dpsgf-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    failures = []
    try:
        with tempfile.TemporaryDirectory(prefix="dpscan-golden.") as work:
            algos = ["siphash"]
            if "aes" in open("/proc/cpuinfo").read().split():
                algos.append("aes")
            for algo in algos:
                for profile in PROFILES:
                    run_profile(profile, ns, work, failures, algo)
                    run_ipv6(profile, ns, work, failures, algo)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    for f in failures[:40]:
        print("FAIL", f)
    print(f"golden_frames: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
