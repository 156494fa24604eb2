"""reflect_common.py - dpscan against dpscan-reflect, for reflect_*.py (not a test itself).

- Reflector: dpscan-reflect in a network namespace (memif, vhost-user or af_packet), started
  and stopped here (SIGINT, then its --answered log and --summary are read);
- Hugepages: 2 MB hugepages reserved and a hugetlbfs mounted for virtio-user (whose vhost-user
  peer maps its memory), given back at the end, also on failure;
- scan(): one dpscan run (--lcores 1) with its results and summary;
- truth() and answered(): what a perfect scanner reports, and the answers that actually left,
  as sets of (ip, port, status).
Each program is pinned to its own CPU (taskset): the reflector on CPU 0, dpscan on CPU 1.
Safety: everything runs inside namespaces made here, on 198.18.0.0/15 addresses.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Failure, check, run, show  # noqa: E402

REFLECT = os.environ.get("REFLECT") or os.path.join(os.path.dirname(DPSCAN), "dpscan-reflect")
SRC, GW = "198.19.255.2", "198.19.255.1"
SRC6, GW6 = "2001:db8:ffff::2", "2001:db8:ffff::1"
HUGE = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def triples(rs):
    return {(r["ip"], int(r["port"]), r["status"]) for r in rs}


def truth(world_args, targets, ports):
    p = run([REFLECT] + world_args + ["--truth", targets, "-p", ports], timeout=60, check_rc=0)
    return triples(csv.DictReader(p.stdout.splitlines()))


class Reflector:
    """dpscan-reflect in namespace `ns` on `device`; answered() and summary after stop()."""

    def __init__(self, ns, work, device, world_args, eal_args="", cpu=0, ready=None, gw=GW):
        self.ns, self.work, self.device = ns, work, device
        self.answered_path = os.path.join(work, "answered.csv")
        self.summary_path = os.path.join(work, "reflect.json")
        self.log_path = os.path.join(work, "reflect.log")
        self.cmd = ["ip", "netns", "exec", ns, "taskset", "-c", str(cpu), REFLECT, "--device", device,
                    "--gateway-ip", gw, "--answered", self.answered_path, "--summary",
                    self.summary_path, "--status-format", "ndjson"] + world_args
        if eal_args:
            self.cmd += ["--eal-args", eal_args]
        self.ready = ready  # a path that exists once it listens (a socket), or None
        self.proc = None

    def __enter__(self):
        for p in (self.answered_path, self.summary_path):
            if os.path.exists(p):
                os.remove(p)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"dpscan-reflect exited {self.proc.returncode}: {show(self.cmd)}\n"
                              f"{open(self.log_path).read()[-2000:]}")
            if "answering" in open(self.log_path).read() and (not self.ready or os.path.exists(self.ready)):
                return self
            time.sleep(0.1)
        raise Failure(f"dpscan-reflect did not come up: {open(self.log_path).read()[-2000:]}")

    def stop(self):
        # After the scanner has gone: its disconnect (handled by DPDK in the background) is
        # over before the reflector closes its port.
        time.sleep(0.5)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("dpscan-reflect did not stop after SIGINT")
        check(self.proc.returncode == 0,
              f"dpscan-reflect exited {self.proc.returncode}: {open(self.log_path).read()[-2000:]}")
        self.summary = json.load(open(self.summary_path))
        return self.summary

    def answered(self):
        return rows(self.answered_path)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return False


class Hugepages:
    """`pages` 2 MB hugepages and a hugetlbfs at `mount`, given back on exit."""

    def __init__(self, pages, mount):
        self.pages, self.mount = pages, mount
        self.before = None
        self.mounted = False

    def __enter__(self):
        self.before = int(open(HUGE).read())
        with open(HUGE, "w") as f:
            f.write(str(self.before + self.pages))
        got = int(open(HUGE).read())
        if got < self.before + self.pages:
            self.__exit__()
            raise Failure(f"could reserve only {got - self.before} of {self.pages} hugepages")
        os.makedirs(self.mount, exist_ok=True)
        run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", self.mount], check_rc=0)
        self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            subprocess.run(["umount", self.mount], capture_output=True)
            self.mounted = False
        if self.before is not None:
            with open(HUGE, "w") as f:
                f.write(str(self.before))
        return False


def scan_cmd(ns, out, summary, device, targets, ports, rate, cooldown=3, eal_args="", cpu=1,
             extra=(), src=SRC, gw=GW):
    """The command line of one dpscan run (--lcores 1) writing `out` and `summary`."""
    cmd = ["ip", "netns", "exec", ns, "taskset", "-c", str(cpu), DPSCAN, "--device", device,
           "--no-default-blocklist", targets, "-p", ports, "--source-ip", src, "--gateway-ip", gw,
           "--rate", str(rate), "--lcores", "1", "--cooldown", str(cooldown),
           "--report", "open,closed,unreachable", "-o", out, "--summary", summary,
           "--status-format", "none"] + list(extra)
    if eal_args:
        cmd += ["--eal-args", eal_args]
    return cmd


def scan(ns, work, name, device, targets, ports, rate, cooldown=3, eal_args="", cpu=1, extra=(),
         src=SRC, gw=GW):
    """One dpscan run (--lcores 1); returns (results as rows, summary)."""
    out, summary = os.path.join(work, name + ".csv"), os.path.join(work, name + ".json")
    cmd = scan_cmd(ns, out, summary, device, targets, ports, rate, cooldown, eal_args, cpu, extra,
                   src, gw)
    run(cmd, timeout=180, check_rc=0)
    return rows(out), json.load(open(summary))


def compare(what, want, got_rows, summary, errors, reflect=None):
    """dpscan's results against `want`: nothing missing, nothing extra, no pair twice."""
    got = triples(got_rows)
    twice = len(got_rows) - len(got)
    missing, extra = want - got, got - want
    line = (f"{what}: sent {summary['sent']} at {summary['send_rate_pps'] / 1e6:.3f} Mpps; "
            f"{len(got)} results, {len(want)} expected, {len(missing)} missing, {len(extra)} extra, "
            f"{twice} twice; dpscan duplicates {summary['duplicates']}, dropped {summary['dropped_total']}")
    if reflect:
        line += (f"; reflector probes {reflect['probes']}, answers sent "
                 f"{reflect['sent_synack'] + reflect['sent_rst'] + reflect['sent_icmp']}")
    print(line, flush=True)
    if missing or extra or twice:
        errors.append(f"{what}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} "
                      f"extra (e.g. {sorted(extra)[:3]}), {twice} reported twice")


def veth_pair(scan_ns, tgt_ns, stem):
    """A veth pair from `scan_ns` to `tgt_ns`, both ends up; (scanner end, reflector end,
    their MACs). masscan loses answers with the scanner-side offloads on (formats_lab.py):
    they are off there, as masscan's and ZMap's users run them; the reflector's end keeps
    Linux's defaults."""
    a, b = f"{stem}s{os.getpid() % 10000}", f"{stem}t{os.getpid() % 10000}"
    run(["ip", "-n", scan_ns.name, "link", "add", a, "type", "veth", "peer", "name", b,
         "netns", tgt_ns.name], check_rc=0)
    for f in ("tx", "rx", "tso", "gso", "gro"):
        scan_ns.exec(["ethtool", "-K", a, f, "off"])
    scan_ns.exec(["ip", "link", "set", a, "up"], check_rc=0)
    tgt_ns.exec(["ip", "link", "set", b, "up"], check_rc=0)
    mac_a = scan_ns.exec(["cat", f"/sys/class/net/{a}/address"], check_rc=0).stdout.strip()
    mac_b = tgt_ns.exec(["cat", f"/sys/class/net/{b}/address"], check_rc=0).stdout.strip()
    return a, b, mac_a, mac_b


WAKER = r'''
import sys, time
from scapy.all import Ether, ARP, sendp
iface, ip, gw = sys.argv[1:4]
while True:
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=gw, pdst=ip), iface=iface, verbose=False)
    time.sleep(1)
'''


def wait_or_wake(proc, ns, iface, limit):
    """Waits for masscan, which can stay blocked in pcap after its --wait until a frame
    arrives: after `limit` seconds, ARP requests on `iface` wake its receive thread.
    Returns its exit code."""
    waker = None
    try:
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            waker = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", WAKER,
                                      iface, SRC, GW], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            proc.wait(timeout=60)
    finally:
        for p in (proc, waker):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    return proc.returncode
