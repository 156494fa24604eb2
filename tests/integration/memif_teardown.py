#!/usr/bin/env /usr/bin/python3
"""memif_teardown.py - 50 scanners leave a dpscan-reflect over net_memif, and neither process
crashes (issue 20, item 9).

DPDK 22.11's memif PMD unmaps the shared memory from its interrupt thread when the peer
leaves, while the other process's lcore may be inside a burst on it: dpscan-reflect was seen
to die with "segfault ... in librte_net_memif.so". The fix is a departure handshake over a
unix socket next to the memif socket (src/engine/memif_quiesce.hpp).

One reflector (the internet world: delays up to 250 ms, retransmissions and noise, so it is
still sending when a scanner leaves) in a namespace made here, on CPU 0; then ROUNDS dpscan
runs (--lcores 1, CPU 1) of 198.18.0.0/20 x 1-8 at full speed with --cooldown 0.2, each
leaving while answers are on their way; every fourth run is interrupted (SIGINT) while it
sends instead. A reflector that dies is counted and started again (so that a run on the old
code measures how often it happened). Crashes are seen three ways: the reflector's and
dpscan's exit status (0, or 130 when interrupted), and the kernel log (dmesg lines with "segfault" that name either
program or librte_net_memif, counted before and after). Pass: 0 crashes, every dpscan ends
as asked,
the reflector still up after the last scanner and ending cleanly on SIGINT.

Options: --rounds N (50), --busy (a busy loop on each CPU meanwhile, besides whatever else
runs).
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, REFLECT (default: next to dpscan).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Netns, main  # noqa: E402
from reflect_common import Reflector, scan_cmd  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=50)
ap.add_argument("--busy", action="store_true")
ARGS = ap.parse_args()
WORLD = ["--world", "internet", "--seed", "5"]


def segfault_lines():
    p = subprocess.run(["dmesg"], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    keys = ("dpscan", "librte_net_memif", "eal-intr")
    return [ln for ln in p.stdout.splitlines() if "segfault" in ln and any(k in ln for k in keys)]


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-memif-teardown.")
    busy = []
    before = segfault_lines()
    if before is None:
        errors.append("dmesg cannot be read: the kernel log is part of this test")
        return errors
    try:
        if ARGS.busy:
            for cpu in (0, 1):
                busy.append(subprocess.Popen(["taskset", "-c", str(cpu), "/usr/bin/python3", "-c",
                                              "while True: pass"]))
        with Netns("mt") as ns:
            sock = os.path.join(work, "memif.sock")
            dev_r = f"net_memif0,role=server,socket={sock}"
            dev_s = f"net_memif0,role=client,socket={sock}"
            reflector_crashes, scanner_crashes, scanner_failures = 0, 0, 0
            departures = 0
            r = Reflector(ns.name, work, dev_r, WORLD)
            r.__enter__()
            try:
                for i in range(ARGS.rounds):
                    out, summary = os.path.join(work, "scan.csv"), os.path.join(work, "scan.json")
                    cmd = scan_cmd(ns.name, out, summary, dev_s, "198.18.0.0/20", "1-8", 0,
                                   cooldown=0.2)
                    log = open(os.path.join(work, "dpscan.log"), "w")
                    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
                    if i % 4 == 3:
                        time.sleep(0.8)  # start-up, then a little of the sending
                        p.send_signal(signal.SIGINT)
                    try:
                        rc = p.wait(timeout=120)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        rc = p.wait()
                        errors.append(f"round {i}: dpscan did not end")
                    log.close()
                    if rc == -signal.SIGSEGV or rc == -signal.SIGBUS:
                        scanner_crashes += 1
                    elif rc != (130 if i % 4 == 3 else 0):  # 130: interrupted, as asked
                        scanner_failures += 1
                        errors.append(f"round {i}: dpscan exited {rc}: "
                                      f"{open(os.path.join(work, 'dpscan.log')).read()[-600:]}")
                    time.sleep(0.3)  # the reflector's side of the disconnect
                    if i % 10 == 9:
                        print(f"{i + 1} scanner exits so far", flush=True)
                    if r.proc.poll() is not None:
                        reflector_crashes += 1
                        print(f"round {i}: the reflector died ({r.proc.returncode}): "
                              f"{open(r.log_path).read()[-300:]}", flush=True)
                        r.__exit__(None, None, None)
                        r = Reflector(ns.name, work, dev_r, WORLD)
                        r.__enter__()
                    else:
                        departures = open(r.log_path).read().count("announced its departure")
                alive = r.proc.poll() is None
                if alive:
                    r.proc.send_signal(signal.SIGINT)
                    rc = r.proc.wait(timeout=60)
                    if rc != 0:
                        errors.append(f"the reflector exited {rc} on SIGINT at the end")
                else:
                    reflector_crashes += 1
            finally:
                r.__exit__(None, None, None)
        after = segfault_lines()
        new = after[len(before):] if after is not None else ["dmesg unreadable afterwards"]
        print(f"{ARGS.rounds} scanner exits over memif{' with busy loops on both CPUs' if ARGS.busy else ''}: "
              f"reflector crashes {reflector_crashes}, dpscan crashes {scanner_crashes}, dpscan "
              f"failures {scanner_failures}; departures announced to the last reflector "
              f"{departures}; new kernel segfault lines {len(new)}", flush=True)
        for ln in new:
            print(f"  dmesg: {ln}", flush=True)
        if reflector_crashes or scanner_crashes:
            errors.append(f"{reflector_crashes} reflector and {scanner_crashes} dpscan crash(es) "
                          f"in {ARGS.rounds} scanner exits")
        if new:
            errors.append(f"{len(new)} new segfault line(s) in the kernel log")
    finally:
        for b in busy:
            b.kill()
            b.wait()
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main("memif_teardown", body)
