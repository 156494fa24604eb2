#!/usr/bin/env /usr/bin/python3
"""--tx-cpus/--rx-cpus pin the worker lcores: while dpscan runs on net_null, the kernel's
view of each lcore thread (/proc/PID/task/TID: comm "rte-worker-N", Cpus_allowed_list)
shows worker lcores 1..T (TX, in --tx-cpus order) and T+1..T+R (RX, in --rx-cpus order) on
exactly the CPUs named. Placements are chosen against dpscan's default spread (which puts
TX on the second CPU). Runs in a network namespace of its own (net_null sends nothing)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Netns, Skip, main  # noqa: E402  (namespace, exit codes)


def lcore_cpus(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            status = open(f"/proc/{pid}/task/{tid}/status").read()
        except OSError:
            continue
        if comm.startswith(("rte-worker-", "lcore-worker-")):
            allowed = [l.split(":")[1].strip() for l in status.splitlines() if l.startswith("Cpus_allowed_list")][0]
            out[int(comm.rsplit("-", 1)[1])] = allowed
    return out


def body():
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise Skip("needs two CPUs")
    a, b = cpus[0], cpus[1]
    cases = [
        (["--tx-cpus", str(a), "--rx-cpus", str(b)], {1: str(a), 2: str(b)}),
        (["--tx-cpus", f"{b},{a}", "--rx-cpus", str(b)], {1: str(b), 2: str(a), 3: str(b)}),
        (["--rx-cpus", f"{a},{b}"], {2: str(a), 3: str(b)}),  # TX spread as usual, RX pinned
    ]
    failures = []
    with Netns("dpscpu") as ns:
        for args, want in cases:
            p = subprocess.Popen(
                ["ip", "netns", "exec", ns.name, DPSCAN, "-q", "--no-default-blocklist", "198.18.0.0/16",
                 "-p", "80", "--device", "net_null0,no-rx=1", "--source-ip", "198.19.255.2", "--gateway-mac",
                 "02:00:00:00:00:01", "--rate", "1000", "--max-runtime", "3", "--cooldown", "0", "-o", os.devnull,
                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            got = {}
            deadline = time.time() + 10
            while time.time() < deadline and p.poll() is None:
                got = lcore_cpus(p.pid)  # ip netns exec execs dpscan: the same process
                if len(got) >= len(want) + (0 if 1 in want else 1):
                    break
                time.sleep(0.1)
            _, err = p.communicate(timeout=30)
            print(f"tx_cpus: {' '.join(args)}: lcore -> CPUs {got}; exit {p.returncode}")
            if p.returncode != 0:
                failures.append(f"{args}: exit {p.returncode}: {err.strip()}")
            for lcore, cpu in want.items():
                if got.get(lcore) != cpu:
                    failures.append(f"{args}: lcore {lcore} allowed on {got.get(lcore)}, want {cpu}")
    return failures


if __name__ == "__main__":
    main("tx_cpus", body)
