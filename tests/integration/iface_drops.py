#!/usr/bin/env /usr/bin/python3
"""What the kernel drops under a driver that sits on a kernel interface is counted
(iface_dropped), not lost silently: DPDK 22.11's net_af_xdp and net_af_packet leave it out
of imissed. dpscan scans a little of the lab and is frozen (SIGSTOP) while the target
namespace sends it FRAMES junk frames (ARP ethertype, all zeros) as fast as a raw socket
can; more than the RX rings can hold, so the kernel drops the rest. After SIGCONT dpscan
drains its rings and must account for every frame: arp_other (taken and dropped by dpscan)
plus iface_dropped (dropped by the kernel) covers all the junk frames, at most the answers
to its probes besides, and iface_dropped > 0. With net_af_xdp, iface_dropped (the sockets' full
rings) plus rx_missed (their empty fill rings) equals the scanner veth end's rx_dropped,
where a veth in native XDP counts every failed redirect; with net_af_packet the sockets'
ring drops (PACKET_STATISTICS, which reset when read) count besides the veth's.

Usage: iface_drops.py af_xdp|af_packet|tap"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Lab, check, main, run  # noqa: E402

FRAMES, PROBES = 60000, 256
DRIVERS = {"af_xdp": "net_af_xdp", "af_packet": "net_af_packet", "tap": "net_tap"}
SENDER = """import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
f = bytes.fromhex(sys.argv[2])
for _ in range(int(sys.argv[3])):
    s.send(f)
"""


def body():
    driver = sys.argv[1] if len(sys.argv) > 1 else "af_xdp"
    check(driver in DRIVERS, f"unknown driver {driver!r}")
    errors = []
    with tempfile.TemporaryDirectory(prefix="iface_drops.") as work, \
            Lab("id", tap=driver == "tap") as lab:
        iface = lab.env["LAB_TAP"] if driver == "tap" else lab.env["LAB_IFACE"]
        summary, log = os.path.join(work, "s.json"), os.path.join(work, "stderr")
        before = lab.drop_counters()
        # ip netns exec execs dpscan (no -all, no batch): p.pid is dpscan's pid.
        p = subprocess.Popen(lab.scan_cmd(
            "--no-default-blocklist", "198.18.0.0/24", "-p", "22", "--rate", 100,
            "--cooldown", 1, "--device", f"{DRIVERS[driver]}0,iface={iface}",
            "--source-ip", lab.env["LAB_SRC_IP"], "--gateway-ip", lab.env["LAB_GW_IP"],
            "--status-format", "none", "-o", os.path.join(work, "out.csv"),
            "--summary", summary), stderr=open(log, "w"))
        try:
            # Frozen once it sends (its sockets and rings are there): 100 pps for 2.56 s.
            t_end = time.monotonic() + 60
            while "scanning" not in open(log).read() and p.poll() is None:
                check(time.monotonic() < t_end, "dpscan did not start scanning in 60 s")
                time.sleep(0.05)
            time.sleep(0.3)
            os.kill(p.pid, signal.SIGSTOP)
            frame = (lab.mac("scan").replace(":", "") + lab.mac("tgt").replace(":", "") +
                     "0806" + "00" * 46)
            run(["ip", "netns", "exec", lab.env["LAB_TGT_NS"], "/usr/bin/python3", "-c",
                 SENDER, lab.env["LAB_TGT_IFACE"], frame, str(FRAMES)], check_rc=0)
            time.sleep(0.2)
        finally:
            os.kill(p.pid, signal.SIGCONT)
        p.wait(timeout=120)
        err = open(log).read()
        check(p.returncode == 0, f"dpscan exit {p.returncode}: {err[-1000:]}")
        kernel = {k: v - before[k] for k, v in lab.drop_counters().items() if v != before[k]}
        s = json.load(open(summary))
        d = s["dropped"]
        print(f"{driver}: {FRAMES} junk frames while frozen: arp_other {d['arp_other']}, "
              f"iface_dropped {d['iface_dropped']}, rx_missed {d['rx_missed']}, "
              f"dropped_total {s['dropped_total']}; kernel counters {kernel}")
        accounted = d["arp_other"] + d["iface_dropped"] + d["rx_missed"]
        if not FRAMES <= accounted <= FRAMES + PROBES:
            errors.append(f"{FRAMES} frames sent, {accounted} accounted for "
                          f"(arp_other + iface_dropped + rx_missed)")
        if not d["iface_dropped"]:
            errors.append("nothing dropped by the kernel: the test did not fill the rings")
        # A veth in native XDP counts every failed redirect to the socket: a full ring
        # (iface_dropped) or an empty fill ring (the PMD's imissed, rx_missed).
        veth = kernel.get("scan_rx_dropped", 0)
        if driver == "af_xdp" and d["iface_dropped"] + d["rx_missed"] != veth:
            errors.append(f"iface_dropped {d['iface_dropped']} + rx_missed {d['rx_missed']} "
                          f"!= the veth's rx_dropped {veth}")
    return errors


if __name__ == "__main__":
    main("iface_drops", body)
