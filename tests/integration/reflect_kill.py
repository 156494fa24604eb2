#!/usr/bin/env /usr/bin/python3
"""dpscan-reflect's --answered survives the reflector's death (issue 20, item 9): over a
veth pair between two namespaces (net_af_packet at each end: dpscan is unharmed when its
peer dies, where DPDK 22.11's memif client can spin in its receive function for ever),
dpscan scans 198.18.0.0/16 x 1-10 at 50 kpps (the ideal world); once the reflector's
--answered file holds 20,000 answers, the reflector is killed with SIGKILL (no chance to
write anything more), and dpscan finishes its scan. The file must then hold every answer dpscan received
more than a second before the kill (the writer flushes 20 times a second), and no answer
sent more than a second before the kill that dpscan did not receive (a line cut by the kill
is reported, not counted).
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, REFLECT (default: next to dpscan).
"""
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Failure, Netns, main  # noqa: E402
from reflect_common import Reflector, rows, scan_cmd, triples, veth_pair  # noqa: E402

TARGETS, PORTS, RATE = "198.18.0.0/16", "1-10", 50000
KILL_AFTER = 20000  # answers in the file


def read_answered(path):
    """The file's rows and whether its last line was cut."""
    text = open(path).read()
    cut = bool(text) and not text.endswith("\n")
    lines = text.splitlines()
    if cut:
        lines = lines[:-1]
    return list(csv.DictReader(lines)), cut


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-reflect-kill.")
    try:
        with Netns("ks") as scan_ns, Netns("kt") as tgt_ns:
            a, b, _, _ = veth_pair(scan_ns, tgt_ns, "rk")
            with Reflector(tgt_ns.name, work, f"net_af_packet0,iface={b}",
                           ["--world", "internet", "--ideal"]) as r:
                out, summary = os.path.join(work, "scan.csv"), os.path.join(work, "scan.json")
                dp = subprocess.Popen(scan_cmd(scan_ns.name, out, summary,
                                               f"net_af_packet0,iface={a}", TARGETS, PORTS, RATE,
                                               cooldown=2),
                                      stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(work, "dpscan.log"), "w"))
                deadline = time.time() + 60
                while time.time() < deadline:
                    with open(r.answered_path) as f:
                        if sum(1 for _ in f) > KILL_AFTER:
                            break
                    time.sleep(0.02)
                else:
                    dp.kill()
                    raise Failure("the --answered file did not grow while dpscan scanned")
                killed_at = time.time()
                r.proc.send_signal(signal.SIGKILL)
                r.proc.wait()
                try:
                    dp.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    if os.environ.get("DEBUG_BT"):
                        subprocess.run(["gdb", "-batch", "-p", str(dp.pid), "-ex",
                                        "thread apply all bt 12"])
                    dp.kill()
                    dp.wait()
                    raise Failure("dpscan did not end: "
                                  + open(os.path.join(work, "dpscan.log")).read()[-2000:])
            got = rows(out)
            answered, cut = read_answered(r.answered_path)
            have = triples(answered)
            before = triples([g for g in got if float(g["timestamp"]) < killed_at - 1.0])
            missing = before - have
            extra = triples([a for a in answered if float(a["timestamp"]) < killed_at - 1.0]) \
                - triples(got)
            print(f"killed at {killed_at:.3f} with {len(answered)} answers in the file"
                  f"{' (last line cut)' if cut else ''}; dpscan (exit {dp.returncode}) received "
                  f"{len(got)}, {len(before)} more than a second before the kill; missing from "
                  f"the file {len(missing)}, in the file but not received {len(extra)}",
                  flush=True)
            if len(before) < 1000:
                errors.append(f"only {len(before)} answers more than a second before the kill")
            if missing:
                errors.append(f"{len(missing)} answers received more than a second before the "
                              f"kill are not in --answered (e.g. {sorted(missing)[:3]})")
            if extra:
                errors.append(f"{len(extra)} answers in --answered that dpscan did not receive "
                              f"(e.g. {sorted(extra)[:3]})")
            if len(have) != len(answered):
                errors.append(f"{len(answered) - len(have)} pairs twice in --answered")
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", work])
    return errors


if __name__ == "__main__":
    main("reflect_kill", body)
