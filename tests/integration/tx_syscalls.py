#!/usr/bin/env /usr/bin/python3
"""No system call per packet: `strace -f -c` of dpscan sending 1 million and 20 million
probes to net_null at full speed counts the same system calls within start-up noise. The
main lcore's 5 ms tick adds ~200 a second, so the allowance is 2,000 calls: a per-packet or
per-burst system call would add 19 million or ~600,000."""
import os
import re
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DPSCAN = os.environ.get("DPSCAN", os.path.join(HERE, "../../build/src/dpscan"))
ALLOWANCE = 2000


def count(ns, probes, work):
    out = os.path.join(work, f"strace-{probes}.txt")
    r = subprocess.run(
        ["ip", "netns", "exec", ns, "strace", "-f", "-c", "-o", out, DPSCAN, "-q", "--no-default-blocklist",
         "0.0.0.0/0", "-p", "80", "--device", "net_null0,no-rx=1", "--source-ip", "198.19.255.2",
         "--gateway-mac", "02:00:00:00:00:01", "--rate", "0", "--max-targets", str(probes), "--cooldown", "0",
         "-o", os.devnull], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"tx_syscalls: dpscan exited {r.returncode}: {r.stderr.strip()}")
    total = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)", open(out).read(), re.M)
    return int(total.group(1))


def main():
    if os.geteuid() != 0:
        print("tx_syscalls: needs root")
        return 77
    ns = f"dpssys-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        with tempfile.TemporaryDirectory(prefix="dpscan-strace.") as work:
            small, large = count(ns, 1_000_000, work), count(ns, 20_000_000, work)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    print(f"tx_syscalls: 1M probes: {small} system calls; 20M probes: {large} ({large - small:+d})")
    if abs(large - small) > ALLOWANCE:
        print(f"FAIL: the difference is more than {ALLOWANCE}: something makes system calls per packet")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
