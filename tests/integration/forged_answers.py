#!/usr/bin/env /usr/bin/python3
"""Answers nobody can forge: in the lab, while dpscan is in its cooldown, the target side
injects hand-made frames (scapy) addressed to the scanner, built with the scan's real cookie
key (read from the checkpoint dpscan writes when sending ends) so that each is wrong in
exactly one way. dpscan must reject and count each under the right reason, and accept the
one correct forgery as a control. The Linux kernel's own SYN-ACKs, RSTs and ICMP port and
host unreachables must be classified exactly as the lab's truth says.

Counters agree everywhere: DPDK telemetry (/dpscan/stats, read through its socket once the
counters have settled in the cooldown), the final ndjson status record and the summary give
the same figure for every counter, and the drop reasons sum to dropped_total.

TCP checksums: a forged SYN-ACK whose checksum field holds the partial (pseudo-header) sum
a stack leaves for offload is accepted when its cookie is right (and counted in
rx_csum_partial), dropped as bad_cookie when it is not; one whose checksum is neither
correct nor that partial value is dropped as tcp_checksum.

Usage: forged_answers.py [--offloads on|off]   (the lab's veth offloads; default on)"""
import csv
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from golden_frames import expected_cookie  # noqa: E402  (the Python SipHash reference)

HERE = os.path.dirname(os.path.abspath(__file__))
DPSCAN = os.environ.get("DPSCAN", os.path.join(HERE, "../../build/src/dpscan"))
LAB = os.environ.get("LAB", os.path.join(HERE, "../../scripts/lab.sh"))
TARGETS, PORTS = "198.18.0.0/24", "22,80,443"
SRC = "198.19.255.2"

INJECT = r'''
import sys
from scapy.all import Ether, IP, TCP, ICMP, sendp, raw
iface, dst_mac, k = sys.argv[1], sys.argv[2], eval(sys.argv[3])
frames = []
def synack(src, dst, sport, dport, ack, chksum=None):
    t = TCP(sport=sport, dport=dport, flags="SA", seq=12345, ack=ack & 0xffffffff, window=29200)
    if chksum is not None: t.chksum = chksum
    return Ether(dst=dst_mac) / IP(src=src, dst=dst, ttl=61) / t
def partial(src, dst, tcp_len):
    # the folded, uncomplemented pseudo-header sum (Linux: __tcp_v4_send_check)
    words = [int(x) for x in src.split(".")] + [int(x) for x in dst.split(".")]
    s = (words[0] << 8 | words[1]) + (words[2] << 8 | words[3]) + (words[4] << 8 | words[5]) \
        + (words[6] << 8 | words[7]) + 6 + tcp_len
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
for f in k["partial_good"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 1, chksum=partial(f[0], f[1], 20)))
for f in k["partial_bad_ack"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 2, chksum=partial(f[0], f[1], 20)))
for f in k["partial_off"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 1, chksum=partial(f[0], f[1], 20) ^ 1))
for f in k["bad_ack"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 2))
for f in k["bad_port"]: frames.append(synack(f[0], f[1], f[2], f[3] ^ 1, f[4] + 1))
for f in k["bad_rst"]:
    frames.append(Ether(dst=dst_mac) / IP(src=f[0], dst=f[1]) / TCP(sport=f[2], dport=f[3], flags="RA", seq=0, ack=(f[4] + 7) & 0xffffffff))
for f in k["not_us"]: frames.append(synack(f[0], "198.19.255.9", f[2], f[3], f[4] + 1))
for f in k["bad_csum"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 1, chksum=0x1234))
for f in k["bad_icmp"]:
    quoted = IP(src=f[1], dst=f[0], ttl=64) / TCP(sport=f[3], dport=f[2], flags="S", seq=(f[4] + 1) & 0xffffffff)
    frames.append(Ether(dst=dst_mac) / IP(src="198.19.255.1", dst=f[1]) / ICMP(type=3, code=1) / raw(quoted)[:28])
for f in k["good"]: frames.append(synack(f[0], f[1], f[2], f[3], f[4] + 1))
sendp(frames, iface=iface, verbose=False)
print(len(frames))
'''


def telemetry(pid, command="/dpscan/stats"):
    """One DPDK telemetry request over the process's socket (what dpdk-telemetry.py does)."""
    path = f"/var/run/dpdk/dpscan-{pid}/dpdk_telemetry.v2"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(2)
        s.connect(path)
        json.loads(s.recv(16384).decode())  # the greeting
        s.send(command.encode())
        return json.loads(s.recv(1 << 20).decode())[command]


def settled_telemetry(pid, deadline):
    """The counters once two reads half a second apart agree (nothing more arriving)."""
    last = None
    while time.time() < deadline:
        now = telemetry(pid)
        if now == last:
            return now
        last = now
        time.sleep(0.5)
    return None


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def main():
    if os.geteuid() != 0:
        print("forged_answers: needs root")
        return 77
    prefix = "fa" + "%06x" % random.randrange(1 << 24)
    offloads = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--offloads" else "on"
    failures = []
    work = tempfile.mkdtemp(prefix="dpscan-forged.")
    try:
        sh(LAB, "--prefix", prefix, "--offloads", offloads, "up")
        env = dict(l.split("=", 1) for l in sh(LAB, "--prefix", prefix, "env").split())
        scan_ns, tgt_ns, iface = env["LAB_SCAN_NS"], env["LAB_TGT_NS"], env["LAB_IFACE"]
        mac = sh("ip", "netns", "exec", scan_ns, "cat", f"/sys/class/net/{iface}/address").strip()
        # The target knows the scanner's MAC for good: no ARP revalidation (a unicast request
        # some seconds into the cooldown) changes the counters between the telemetry read and
        # the end. dpscan still resolves the gateway and answers ARP in every other lab test.
        sh("ip", "-n", tgt_ns, "neigh", "replace", SRC, "lladdr", mac, "dev", env["LAB_TGT_IFACE"],
           "nud", "permanent")
        ck, summary, out = (os.path.join(work, n) for n in ("ck", "summary.json", "results.csv"))
        scan = subprocess.Popen(
            ["ip", "netns", "exec", scan_ns, DPSCAN, "-q", "--no-default-blocklist", TARGETS, "-p", PORTS,
             "--device", f"net_af_packet0,iface={iface}", "--source-ip", SRC, "--gateway-ip", env["LAB_GW_IP"],
             "--rate", "20000", "--cooldown", "8", "--checkpoint", ck, "--report", "open,closed,unreachable",
             "--status-format", "ndjson", "--summary", summary, "-o", out],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while not os.path.exists(ck) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # sending is over once the final checkpoint exists; we are in the cooldown
        lines = open(ck).read().splitlines()
        key = [l for l in lines if l.startswith("key ")][0].split()
        k0, k1 = int(key[1], 16), int(key[2], 16)
        algo = [l for l in lines if l.startswith("cookie ")][0].split()[1]

        def probe(addr, port):
            seq, sport, _ = expected_cookie(k0, k1, SRC, addr, port, 32768, 32768, algo)
            return (addr, SRC, port, sport, seq)

        # Pairs the truth says are filtered (silent), so nothing real competes with the forgeries.
        filtered = [l.split() for l in sh(LAB, "--prefix", prefix, "truth", TARGETS, PORTS, "filtered").splitlines()]
        random.shuffle(filtered)
        pool = [probe(a, int(p)) for a, p in filtered]
        n = 8
        kinds = {"bad_ack": pool[0:n], "bad_port": pool[n:2 * n], "bad_rst": pool[2 * n:3 * n],
                 "not_us": pool[3 * n:4 * n], "bad_csum": pool[4 * n:5 * n], "bad_icmp": pool[5 * n:6 * n],
                 "partial_bad_ack": pool[6 * n:7 * n], "partial_off": pool[7 * n:8 * n],
                 "good": pool[8 * n:8 * n + 3], "partial_good": pool[8 * n + 3:8 * n + 6]}
        sent = sh("ip", "netns", "exec", tgt_ns, "/usr/bin/python3", "-c", INJECT, env["LAB_TGT_IFACE"], mac,
                  repr(kinds)).strip()
        tele = settled_telemetry(scan.pid, time.time() + 5)
        stdout, stderr = scan.communicate(timeout=60)
        if scan.returncode != 0:
            failures.append(f"dpscan exited {scan.returncode}: {stderr.strip()}")
            raise SystemExit
        s = json.load(open(summary))
        d = s["dropped"]
        # One counter table: telemetry, the final status record and the summary agree.
        status = [json.loads(l) for l in stderr.splitlines() if l.startswith("{")]
        final = status[-1] if status and status[-1].get("final") else None
        flat = {k: v for k, v in s.items() if isinstance(v, int) and not isinstance(v, bool)}
        flat.update(d)
        if final is None:
            failures.append("no final status record")
        elif tele is None:
            failures.append("telemetry counters did not settle in the cooldown")
        else:
            for name, value in final["counters"].items():
                if not (value == flat.get(name) == tele.get(name)):
                    failures.append(f"counter {name}: final status {value}, summary {flat.get(name)}, "
                                    f"telemetry {tele.get(name)}")
            if not (sum(d.values()) == s["dropped_total"] == final["drops"] == tele["dropped"]):
                failures.append(f"drops: sum of reasons {sum(d.values())}, summary {s['dropped_total']}, "
                                f"status {final['drops']}, telemetry {tele['dropped']}")
            print(f"forged_answers: {len(final['counters'])} counters equal in telemetry, the final status "
                  f"record and the summary (dropped_total {s['dropped_total']} = sum of reasons)")
        want = {"bad_cookie": 5 * n, "not_for_us": n, "tcp_checksum": 2 * n}
        for reason, count in want.items():
            if d[reason] != count:
                failures.append(f"dropped.{reason} = {d[reason]}, want {count} (injected {sent} frames)")
        rows = list(csv.DictReader(open(out)))
        got = {(r["ip"], r["port"], r["status"]) for r in rows}
        truth = {tuple(l.split()) for l in
                 sh(LAB, "--prefix", prefix, "truth", TARGETS, PORTS, "open,closed,unreachable").splitlines()}
        forged_good = {(f[0], str(f[2]), "open") for f in kinds["good"] + kinds["partial_good"]}
        # The kernel's own SYN-ACKs are partial too when the lab's offloads are on.
        if s["rx_csum_partial"] < 3 or (offloads == "off" and s["rx_csum_partial"] != 3):
            failures.append(f"rx_csum_partial = {s['rx_csum_partial']} (3 forged partial SYN-ACKs, "
                            f"offloads {offloads})")
        if got != truth | forged_good:
            failures.append(f"results differ from truth + the 6 valid forgeries: missing {sorted(truth - got)[:5]}, "
                            f"extra {sorted(got - truth - forged_good)[:5]}, forgeries found {len(got & forged_good)}")
        kinds_found = {st for _, _, st in got}
        if kinds_found != {"open", "closed", "unreachable"}:
            failures.append(f"statuses seen {kinds_found}")
        print(f"forged_answers (offloads {offloads}): injected {sent} frames; dropped "
              f"{json.dumps({k: d[k] for k in want})}; rx_csum_partial {s['rx_csum_partial']}; "
              f"{len(rows)} results ({len(truth)} true + {len(forged_good)} valid forgeries)")
    except SystemExit:
        pass
    finally:
        subprocess.run([LAB, "--prefix", prefix, "down"], capture_output=True)
        subprocess.run(["rm", "-rf", work])
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
