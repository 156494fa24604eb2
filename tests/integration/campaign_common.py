"""campaign_common.py - helpers shared by campaign_*.py and formats_*.py (not a test itself).

- paths: DPSCAN, LAB, SRCDIR from the environment (meson sets them), else this checkout;
- Failure/check and main(): exit 0 pass, 1 fail (with the reason), 77 skip;
- SIGTERM/SIGINT (meson's timeout) become an exception, so every `finally` cleans up;
- Lab / Netns: a lab (scripts/lab.sh with a unique prefix) or a throwaway network namespace,
  removed on exit, also on failure;
- readers of dpscan's outputs (csv, ndjson, list, xml) into comparable records, and a set
  comparison that prints the first differences.
Safety: a real scan only ever runs inside a lab or a namespace made here, on 198.18.0.0/15.
"""
import csv
import io
import ipaddress
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import token_interval  # noqa: E402  (the shared ipaddress model)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")
LAB = os.environ.get("LAB") or os.path.join(SRCDIR, "scripts", "lab.sh")
PY = "/usr/bin/python3"
LAB_NET = ipaddress.ip_network("198.18.0.0/15")
MAX_DIFF = 10


class Failure(Exception):
    pass


class Skip(Exception):
    pass


class Terminated(BaseException):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def _on_signal(signum, _frame):
    raise Terminated(f"signal {signum}")


def main(name, body, needs_root=True):
    """Runs body(); prints PASS/FAIL/SKIP; exit 0 / 1 / 77. Failures are collected by body
    through check() (first failure ends the test) or returned as a list of strings."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if needs_root and os.geteuid() != 0:
        print(f"{name}: SKIP (needs root)")
        sys.exit(77)
    if not os.access(DPSCAN, os.X_OK):
        print(f"{name}: FAIL: dpscan binary not found at {DPSCAN}", file=sys.stderr)
        sys.exit(1)
    t0 = time.monotonic()
    try:
        errors = body() or []
    except Skip as e:
        print(f"{name}: SKIP: {e}")
        sys.exit(77)
    except Failure as e:
        errors = [str(e)]
    except Terminated as e:
        errors = [f"terminated by {e} (timeout?)"]
    for e in errors:
        print(f"{name}: FAIL: {e}", file=sys.stderr, flush=True)
    dt = time.monotonic() - t0
    if errors:
        print(f"{name}: FAIL ({len(errors)} problem(s)) after {dt:.1f} s", flush=True)
        sys.exit(1)
    print(f"{name}: PASS in {dt:.1f} s", flush=True)
    sys.exit(0)


def show(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)


def run(cmd, timeout=120, cwd=None, check_rc=None, input=None):
    """Runs cmd; returns CompletedProcess (text). check_rc: expected exit code or None."""
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                           cwd=cwd, input=input)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"timed out after {timeout} s: {show(cmd)}\n  stderr: {e.stderr!r}")
    if check_rc is not None and p.returncode != check_rc:
        raise Failure(f"exit {p.returncode} (expected {check_rc}): {show(cmd)}\n"
                      f"  stderr: {p.stderr.strip()[-2000:]}")
    return p


def crash_text(stderr):
    for pat in ("Segmentation", "Aborted", "PANIC", "Backtrace", "AddressSanitizer",
                "runtime error:", "LeakSanitizer"):
        if pat in stderr:
            return pat
    return None


def unique(prefix):
    return prefix + "%06x" % random.SystemRandom().randrange(1 << 24)


# ---------------------------------------------------------------- namespaces and the lab

def netns_list():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {l.split()[0] for l in out.splitlines() if l.strip()}


class Netns:
    """A throwaway network namespace (IPv6 off, lo up), deleted on exit."""

    def __init__(self, stem):
        for _ in range(8):
            self.name = unique(stem)
            if self.name not in netns_list():
                break
        self.created = False

    def __enter__(self):
        run(["ip", "netns", "add", self.name], check_rc=0)
        self.created = True
        for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
            self.exec(["sysctl", "-q", "-w", f"{key}=1"])
        self.exec(["ip", "link", "set", "lo", "up"], check_rc=0)
        return self

    def exec(self, cmd, **kw):
        return run(["ip", "netns", "exec", self.name] + list(cmd), **kw)

    def __exit__(self, *exc):
        if self.created:
            pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            if self.name in netns_list():
                print(f"warning: netns {self.name} still present", file=sys.stderr)
        return False


class Lab:
    """scripts/lab.sh with a unique prefix; `down` on exit (also on failure)."""

    def __init__(self, stem, offloads="on", tap=False):
        for _ in range(8):
            self.prefix = unique(stem)
            if not ({self.prefix + "-scan", self.prefix + "-tgt"} & netns_list()) and \
                    not os.path.exists(f"/tmp/{self.prefix}-lab"):
                break
        self.started = False
        self.env = {}
        self.options = ["--offloads", offloads] + (["--tap"] if tap else [])

    def __enter__(self):
        self.started = True
        p = run([LAB, "--prefix", self.prefix] + self.options + ["up"], timeout=120)
        if p.returncode != 0:
            raise Failure(f"lab.sh up failed ({p.returncode}): {p.stderr.strip()[-1500:]}")
        out = run([LAB, "--prefix", self.prefix, "env"], check_rc=0).stdout
        self.env = dict(l.split("=", 1) for l in out.split())
        for k in ("LAB_SCAN_NS", "LAB_TGT_NS", "LAB_IFACE", "LAB_SRC_IP", "LAB_GW_IP",
                  "LAB_TGT_IFACE"):
            check(k in self.env, f"lab.sh env gave no {k}")
        check(self.env["LAB_SCAN_NS"] == self.prefix + "-scan", "unexpected lab namespace")
        return self

    def __exit__(self, *exc):
        if self.started:
            subprocess.run([LAB, "--prefix", self.prefix, "down"], capture_output=True)
            left = {self.prefix + "-scan", self.prefix + "-tgt"} & netns_list()
            if left:
                print(f"warning: lab namespaces {left} still present", file=sys.stderr)
        return False

    def device(self):
        return f"net_af_packet0,iface={self.env['LAB_IFACE']}"

    def mac(self, side):
        ns, iface = ((self.env["LAB_SCAN_NS"], self.env["LAB_IFACE"]) if side == "scan" else
                     (self.env["LAB_TGT_NS"], self.env["LAB_TGT_IFACE"]))
        return run(["ip", "netns", "exec", ns, "cat", f"/sys/class/net/{iface}/address"],
                   check_rc=0).stdout.strip()

    def drop_counters(self):
        """Where the kernel drops frames between the two namespaces: the veth ends' own
        counters (a veth with XDP drops when its ring is full or a redirect to an AF_XDP
        socket fails), the target namespace's TCP drops, and the host's backlog drops
        (/proc/net/softnet_stat, shared by every namespace). Compare two readings."""
        c = {}
        for side, ns, iface in (("scan", self.env["LAB_SCAN_NS"], self.env["LAB_IFACE"]),
                                ("tgt", self.env["LAB_TGT_NS"], self.env["LAB_TGT_IFACE"])):
            out = run(["ip", "netns", "exec", ns, "sh", "-c",
                       f"cd /sys/class/net/{iface}/statistics && cat rx_dropped tx_dropped"],
                      check_rc=0).stdout.split()
            c[f"{side}_rx_dropped"], c[f"{side}_tx_dropped"] = int(out[0]), int(out[1])
        out = run(["ip", "netns", "exec", self.env["LAB_TGT_NS"], "cat", "/proc/net/netstat"],
                  check_rc=0).stdout.splitlines()
        for names, values in zip(out[::2], out[1::2]):
            for n, v in zip(names.split()[1:], values.split()[1:]):
                if n in ("ListenDrops", "TCPBacklogDrop", "TCPReqQFullDrop", "PFMemallocDrop"):
                    c["tgt_" + n] = int(v)
        with open("/proc/net/softnet_stat") as f:
            c["host_backlog_dropped"] = sum(int(l.split()[1], 16) for l in f if l.strip())
        return c

    def truth(self, targets, ports, statuses):
        """{(ip, port): status} for the statuses asked (lab.sh truth, an independent model)."""
        out = run([LAB, "--prefix", self.prefix, "truth", targets, ports, "all"], check_rc=0).stdout
        want = set(statuses.split(","))
        t = {}
        for line in out.splitlines():
            ip, port, st = line.split()
            if st in want:
                t[(ip, int(port))] = st
        return t

    def scan_cmd(self, *args):
        """dpscan inside the lab's scanner namespace (the only place a lab scan runs)."""
        return ["ip", "netns", "exec", self.env["LAB_SCAN_NS"], DPSCAN] + [str(a) for a in args]


# ---------------------------------------------------------------- outputs

def ipkey(ip):
    return int(ipaddress.IPv4Address(ip))


def diff_sets(what, want, got, fmt=lambda t: " ".join(str(x) for x in t)):
    """[] if equal, else lines describing up to MAX_DIFF missing and unexpected items."""
    if want == got:
        return []
    missing = sorted(want - got, key=str)
    extra = sorted(got - want, key=str)
    out = [f"{what}: {len(want)} expected, {len(got)} found, {len(missing)} missing, "
           f"{len(extra)} unexpected"]
    out += ["  missing    " + fmt(t) for t in missing[:MAX_DIFF]]
    out += ["  unexpected " + fmt(t) for t in extra[:MAX_DIFF]]
    return ["\n".join(out)]


def read_csv(path):
    """(header list, list of dict rows) parsed by Python's csv module."""
    with open(path, newline="") as f:
        text = f.read()
    r = csv.reader(io.StringIO(text))
    rows = list(r)
    if not rows:
        return [], []
    header = rows[0]
    return header, [dict(zip(header, row)) if len(row) == len(header) else {"_bad": row}
                    for row in rows[1:]]


def read_ndjson(path):
    """List of objects; a line that is not a JSON object raises Failure."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                raise Failure(f"{path}:{n}: empty line in ndjson")
            try:
                o = json.loads(line)
            except ValueError as e:
                raise Failure(f"{path}:{n}: not JSON ({e}): {line!r}")
            if not isinstance(o, dict):
                raise Failure(f"{path}:{n}: not a JSON object: {line!r}")
            out.append(o)
    return out


LIST_LINE = re.compile(r"^(open|closed|probe) tcp (\d+) (\d+\.\d+\.\d+\.\d+) (\d+)$")


def read_list(path):
    """masscan -oL: ('#masscan', [(state, port, ip, ts)], '# end'); structure errors raise."""
    with open(path, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n"), f"{path}: does not end with a newline")
    lines = data.decode().split("\n")[:-1]
    check(len(lines) >= 2, f"{path}: {len(lines)} lines, expected at least a header and footer")
    body = []
    for n, line in enumerate(lines[1:-1], 2):
        m = LIST_LINE.match(line)
        check(m, f"{path}:{n}: not a masscan -oL line: {line!r}")
        body.append((m.group(1), int(m.group(2)), m.group(3), int(m.group(4))))
    return lines[0], body, lines[-1]


def read_xml(path):
    """nmap XML -> ({(ip, port): (state, reason)}, [addresses in <host> order], root)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise Failure(f"{path}: not well-formed XML: {e}")
    check(root.tag == "nmaprun", f"{path}: root element <{root.tag}>, expected <nmaprun>")
    ports, hosts = {}, []
    for host in root.iter("host"):
        addrs = [a.get("addr") for a in host.findall("address") if a.get("addrtype") == "ipv4"]
        check(len(addrs) == 1, f"{path}: a <host> with {len(addrs)} ipv4 addresses")
        ip = addrs[0]
        hosts.append(ip)
        for p in host.iter("port"):
            st = p.find("state")
            check(st is not None, f"{path}: <port> of {ip} without <state>")
            check(p.get("protocol") == "tcp", f"{path}: port protocol {p.get('protocol')!r}")
            key = (ip, int(p.get("portid")))
            check(key not in ports, f"{path}: {key} listed twice")
            ports[key] = (st.get("state"), st.get("reason"))
    return ports, hosts, root


def reason_of(ip, port, status):
    """The reason the lab's answer must carry (lab.sh: REJECT --reject-with ...)."""
    if status == "open":
        return "syn-ack"
    if status == "closed":
        return "reset"
    if status == "unreachable":
        low = ipkey(ip) & 31
        if port == 443 and low == 19:
            return "port-unreach"
        if port == 443 and low == 20:
            return "host-unreach"
    return None


def model_addresses(target_tokens, exclude_tokens=()):
    """Addresses of targets minus exclusions, computed with ipaddress (no blocklist)."""
    addrs = set()
    for t in target_tokens:
        lo, hi = token_interval(t)
        addrs.update(range(lo, hi + 1))
    for t in exclude_tokens:
        lo, hi = token_interval(t)
        addrs.difference_update(range(lo, hi + 1))
    return {str(ipaddress.IPv4Address(a)) for a in addrs}


def model_ports(spec):
    ports = set()
    for item in str(spec).replace(" ", "").split(","):
        if "-" in item:
            a, b = item.split("-")
            ports.update(range(int(a), int(b) + 1))
        else:
            ports.add(int(item))
    return ports
