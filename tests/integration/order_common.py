"""order_common.py - helpers shared by the order_*.py dry-run tests (not a test itself).

An independent model of dpscan's target space built on Python's ipaddress module (target
and exclusion tokens -> integer intervals -> set algebra), the documented default blocklist
(hard-coded, independent of config/blocklist.conf), the tabled primes parsed from
src/target/primes.cpp, dry-run output parsing, and the seed/failure conventions:
every test prints the random seed it uses (TEST_SEED from the environment, else the time)
so a failure reproduces with TEST_SEED=SEED ./order_x.py.
"""
import ipaddress
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")

BLOCKLIST = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32")]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def test_seed(name):
    env = os.environ.get("TEST_SEED")
    seed = int(env) if env else int(time.time() * 1000) % (2**32)
    print(f"{name}: TEST_SEED={seed} (rerun: TEST_SEED={seed} {sys.argv[0]})", flush=True)
    return seed


def main_wrapper(name, body):
    """Runs body(); exit 0 on success, 1 with a clear message on Failure."""
    if not os.access(DPSCAN, os.X_OK):
        print(f"{name}: FAIL: dpscan binary not found at {DPSCAN}", file=sys.stderr)
        sys.exit(1)
    t0 = time.monotonic()
    try:
        body()
    except Failure as e:
        print(f"{name}: FAIL: {e}", file=sys.stderr, flush=True)
        print(f"{name}: FAIL after {time.monotonic() - t0:.1f} s", flush=True)
        sys.exit(1)
    print(f"{name}: PASS in {time.monotonic() - t0:.1f} s", flush=True)
    sys.exit(0)


# ---------------------------------------------------------------- the model

def ip2int(s):
    return int(ipaddress.IPv4Address(s))


def int2ip(n):
    return str(ipaddress.IPv4Address(n))


def token_interval(tok):
    """One CIDR / a-b range / address token -> (first, last) ints, parsed by ipaddress."""
    tok = tok.strip()
    if "/" in tok:
        net = ipaddress.IPv4Network(tok, strict=False)
        return int(net.network_address), int(net.broadcast_address)
    if "-" in tok:
        a, b = tok.split("-", 1)
        lo, hi = ipaddress.IPv4Address(a.strip()), ipaddress.IPv4Address(b.strip())
        assert lo <= hi, tok
        return int(lo), int(hi)
    a = int(ipaddress.IPv4Address(tok))
    return a, a


def tokens(text):
    """Tokens of a command-line spec (comma/space separated) or of a file (# comments)."""
    out = []
    for line in text.splitlines():
        out += line.split("#", 1)[0].replace(",", " ").split()
    return out


def normalize(ivs):
    """Union of (lo, hi) intervals -> sorted disjoint, non-adjacent list."""
    out = []
    for lo, hi in sorted(ivs):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract(ivs, excl):
    ivs, excl = normalize(ivs), normalize(excl)
    out = []
    for lo, hi in ivs:
        cur = lo
        for elo, ehi in excl:
            if ehi < cur or elo > hi:
                continue
            if elo > cur:
                out.append((cur, elo - 1))
            cur = max(cur, ehi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return out


def blocklist_intervals():
    return [(int(n.network_address), int(n.broadcast_address)) for n in BLOCKLIST]


def address_intervals(target_texts, exclude_texts, blocklist):
    """Expected address intervals: union of targets minus exclusions (and the blocklist)."""
    want = [token_interval(t) for text in target_texts for t in tokens(text)]
    excl = [token_interval(t) for text in exclude_texts for t in tokens(text)]
    if blocklist:
        excl += blocklist_intervals()
    return subtract(want, excl)


def count_addresses(ivs):
    return sum(hi - lo + 1 for lo, hi in ivs)


def parse_ports(text):
    ports = set()
    for item in text.split(","):
        if "-" in item:
            a, b = item.split("-")
            ports.update(range(int(a), int(b) + 1))
        else:
            ports.add(int(item))
    return sorted(ports)


def expected_lines(ivs, ports):
    """The expected set of 'ip,port' output lines (small spaces only)."""
    out = set()
    for lo, hi in ivs:
        for a in range(lo, hi + 1):
            s = int2ip(a)
            for p in ports:
                out.add(f"{s},{p}")
    return out


def tabled_primes():
    """The primes of src/target/primes.cpp ('{p, {factors}}' lines)."""
    path = os.path.join(SRCDIR, "src", "target", "primes.cpp")
    with open(path) as f:
        text = f.read()
    primes = [int(m) for m in re.findall(r"\{\s*(\d+)ULL\s*,\s*\{", text)]
    check(len(primes) > 50, f"could not parse the prime table in {path}")
    return primes


# ---------------------------------------------------------------- running dpscan

def run(args, timeout=120, check_rc=0, stdin=None):
    """Runs dpscan; returns (rc, stdout, stderr) as text. check_rc=None: any rc."""
    cmd = [DPSCAN] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s: {cmdline(cmd)}")
    if check_rc is not None and p.returncode != check_rc:
        raise Failure(f"exit {p.returncode} (want {check_rc}): {cmdline(cmd)}\n"
                      f"stderr: {p.stderr.strip()[-2000:]}")
    check_sanitizer(p.stderr, cmd)
    return p.returncode, p.stdout, p.stderr


def check_sanitizer(stderr, cmd):
    """Sanitizer reports (the ASan build) fail the test even where they do not change the
    exit status (UBSan recovers unless UBSAN_OPTIONS=halt_on_error=1)."""
    for marker in ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"):
        if marker in stderr:
            raise Failure(f"sanitizer report from {cmdline(cmd)}:\n{stderr.strip()[-3000:]}")


def cmdline(cmd):
    import shlex
    return " ".join(shlex.quote(c) for c in cmd)


def csv_records(text, what):
    """Dry-run csv output -> list of 'ip,port' lines (header checked)."""
    lines = text.split("\n")
    check(lines and lines[0] == "ip,port",
          f"{what}: first line is {lines[0][:80]!r}, not 'ip,port'")
    check(lines[-1] == "", f"{what}: output does not end with a newline")
    return lines[1:-1]

