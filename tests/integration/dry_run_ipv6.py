#!/usr/bin/python3
"""dry_run_ipv6.py - IPv6 targets in dpscan --dry-run against Python's ipaddress model.

Each case computes the expected (address, port) set with ipaddress (independent of dpscan's
parser, blocklist and generator code) and dpscan's dry-run CSV must hold exactly that set,
each pair once, with the summary's probe count:
  specs      random prefixes, a-b ranges and single addresses inside 2001:db8::/32, positional
             and in a --targets-file, with --exclude; the same --seed twice is byte-identical
  generator  2001:db8::/36-48 with --ipv6-iid ::1, low and random (random: one address in
             each /48, never outside it, the same for the same seed, different for another)
  hitlist    5,000 random addresses, duplicates, prefixes, comments and blank lines, plain,
             .gz, .xz and .zst: sorted, deduplicated, excluded
  blocklist  the default IPv6 blocklist (IANA special-purpose registry, the entries below
             hard-coded from the registry, not read from config/) removes what it covers
  huge       2001:db8::/32-80 x 1-65535 (2^48 prefixes x 65,535 ports, just under 2^64):
             the first 200,000 probes of each of two shards are distinct pairs of that space,
             and the shards share none
  resume     2001:db8::/32-48 x 22,80 with --checkpoint, read slowly through a pipe, SIGINT
             after 3,000 records, then --resume: the two runs hold every pair, and the
             second one only pairs the first did not finish
  errors     a bad hitlist line (file:line and the escaped text), a mix of families, a
             generator of more than 2^64 prefixes, an unreadable hitlist: exit 2, no output
Dry runs send nothing. Env: DPSCAN, SRCDIR; DRY_RUN_SEED fixes the random cases.
"""
import gzip
import ipaddress
import lzma
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")
LAB = ipaddress.ip_network("2001:db8::/32")
MAX_DIFF = 8
errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL: " + msg)


def dpscan(*args):
    return subprocess.run([DPSCAN, "--dry-run", "--status-format", "none"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=300)


def scan_set(what, want, *args):
    """Runs a dry run to stdout; compares its pairs with `want` {(IPv6Address, port)}."""
    p = dpscan("-o", "-", *args)
    if p.returncode != 0:
        fail(f"{what}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
        return None
    lines = p.stdout.splitlines()
    if not lines or lines[0] != "ip,port":
        fail(f"{what}: no CSV header: {lines[:1]}")
        return None
    got = []
    for line in lines[1:]:
        ip, port = line.rsplit(",", 1)
        a = ipaddress.IPv6Address(ip)
        if str(a) != ip:
            fail(f"{what}: {ip!r} is not in RFC 5952 form ({a})")
            return None
        got.append((a, int(port)))
    gs = set(got)
    if len(gs) != len(got):
        fail(f"{what}: {len(got) - len(gs)} pairs written twice")
    if gs != want:
        miss, extra = sorted(want - gs)[:MAX_DIFF], sorted(gs - want)[:MAX_DIFF]
        fail(f"{what}: {len(want - gs)} missing {miss}, {len(gs - want)} unexpected {extra}")
    else:
        print(f"ok: {what}: {len(got)} pairs")
    return p.stdout


def spans_of(spec):
    if "/" in spec:
        n = ipaddress.IPv6Network(spec, strict=False)
        return int(n.network_address), int(n.broadcast_address)
    if "-" in spec:
        a, b = spec.split("-")
        return int(ipaddress.IPv6Address(a)), int(ipaddress.IPv6Address(b))
    return int(ipaddress.IPv6Address(spec)), int(ipaddress.IPv6Address(spec))


def expand(specs, excludes, ports):
    addrs = set()
    for s in specs:
        lo, hi = spans_of(s)
        addrs.update(range(lo, hi + 1))
    for s in excludes:
        lo, hi = spans_of(s)
        addrs = {a for a in addrs if not lo <= a <= hi}
    return {(ipaddress.IPv6Address(a), p) for a in addrs for p in ports}


def rand_addr(rng, net=LAB):
    return ipaddress.IPv6Address(int(net.network_address) + rng.getrandbits(128 - net.prefixlen))


def case_specs(rng, work):
    base = ipaddress.IPv6Network(f"2001:db8:{rng.getrandbits(16):x}::/48")
    specs = []
    for _ in range(rng.randint(2, 6)):
        a = rand_addr(rng, base)
        k = rng.choice(["prefix", "range", "single"])
        if k == "prefix":
            specs.append(f"{a}/{rng.randint(118, 128)}")  # host bits set on purpose
        elif k == "range":
            specs.append(f"{a}-{ipaddress.IPv6Address(int(a) + rng.randint(0, 700))}")
        else:
            specs.append(str(a))
    excludes = [f"{ipaddress.IPv6Address(spans_of(specs[0])[0] + 3)}/126"]
    ports = sorted(rng.sample(range(1, 65536), rng.randint(1, 3)))
    want = expand(specs, excludes, ports)
    pl = ",".join(map(str, ports))
    tf = os.path.join(work, "targets6.txt")
    with open(tf, "w") as f:
        f.write("# IPv6 targets\n\n" + "\n".join(f"{s}\t# t{i}" for i, s in enumerate(specs[1:])) + "\r\n")
    args = ["--no-default-blocklist", specs[0], "--targets-file", tf, "--exclude", excludes[0],
            "-p", pl, "--seed", 99]
    out = scan_set(f"specs {specs} minus {excludes} x {pl}", want, *args)
    again = dpscan("-o", "-", *args).stdout
    if out is not None and again != out:
        fail("specs: the same --seed gave another order")


def case_generator():
    outer = ipaddress.IPv6Network("2001:db8::/36")
    prefixes = list(outer.subnets(new_prefix=48))
    for iid, make in (("::1", lambda n: n.network_address + 1), ("low", lambda n: n.network_address + 1)):
        want = {(make(n), 80) for n in prefixes}
        scan_set(f"generator 2001:db8::/36-48 iid {iid}", want, "--no-default-blocklist",
                 "2001:db8::/36-48", "--ipv6-iid", iid, "-p", 80)
    runs = {}
    for seed in (1, 1, 2):
        p = dpscan("-o", "-", "--no-default-blocklist", "2001:db8::/36-48", "--ipv6-iid", "random",
                   "-p", 80, "--seed", seed)
        addrs = sorted(ipaddress.IPv6Address(line.split(",")[0]) for line in p.stdout.splitlines()[1:])
        nets = {ipaddress.IPv6Network(f"{a}/48", strict=False) for a in addrs}
        if p.returncode != 0 or len(addrs) != len(prefixes) or nets != set(prefixes):
            fail(f"generator iid random seed {seed}: {len(addrs)} addresses in {len(nets)} of the "
                 f"{len(prefixes)} /48s (exit {p.returncode} {p.stderr[-200:]})")
        runs.setdefault(seed, []).append(addrs)
    if runs[1][0] != runs[1][1] or runs[1][0] == runs[2][0]:
        fail("generator iid random: not a function of the seed")
    else:
        print("ok: generator iid random: one address per /48, keyed by the seed")


def case_hitlist(rng, work):
    addrs = [rand_addr(rng) for _ in range(5000)]
    lines = ["# a hitlist", ""] + [str(a) for a in addrs] + [str(a).upper() for a in addrs[:300]]
    lines += ["2001:db8:ffff::/124  # a prefix", "   " + str(addrs[7]) + "   "]
    rng.shuffle(lines)
    text = "\n".join(lines) + "\n"
    want_addrs = set(addrs) | set(ipaddress.IPv6Network("2001:db8:ffff::/124"))
    ex = f"{addrs[0]}/128"
    want_addrs.discard(addrs[0])
    want = {(a, p) for a in want_addrs for p in (22, 443)}
    plain = os.path.join(work, "hit.txt")
    with open(plain, "w") as f:
        f.write(text)
    with gzip.open(plain + ".gz", "wt") as f:
        f.write(text)
    with lzma.open(plain + ".xz", "wt") as f:
        f.write(text)
    zstd = shutil.which("zstd")
    files = [plain, plain + ".gz", plain + ".xz"]
    if zstd:
        subprocess.run([zstd, "-q", "-f", plain, "-o", plain + ".zst"], check=True)
        files.append(plain + ".zst")
    else:
        fail("zstd (Debian's zstd package) is missing: the .zst hitlist is not checked")
    for f in files:
        scan_set(f"hitlist {os.path.basename(f)}", want, "--no-default-blocklist", "--hitlist", f,
                 "--exclude", ex, "-p", "22,443")


def case_blocklist():
    # From IANA's IPv6 special-purpose address registry and RFC 4291 (hard-coded here).
    blocked = [ipaddress.IPv6Network(n) for n in ("fe80::/10", "ff00::/8", "2002::/16", "2001:db8::/32")]
    lo = int(ipaddress.IPv6Address("2001:db7:ffff:ffff:ffff:ffff:ffff:fffd"))
    spec = f"{ipaddress.IPv6Address(lo)}-2001:db8::2"  # three public, three documentation
    want = {(ipaddress.IPv6Address(a), 80) for a in range(lo, lo + 3)}
    assert not any(a in n for a, _ in want for n in blocked)
    scan_set("default blocklist over " + spec, want, spec, "-p", 80)
    p = dpscan("-o", "-", "fe80::1", "ff02::1", "-p", 80)
    if p.returncode != 2 or "blocklist" not in p.stderr:
        fail(f"link-local and multicast targets: exit {p.returncode}, {p.stderr.strip()!r}")


def case_huge():
    seen = {}
    for shard in ("1/2", "2/2"):
        p = dpscan("-o", "-", "--no-default-blocklist", "2001:db8::/32-80", "-p", "1-65535",
                   "--max-targets", 200000, "--shard", shard, "--seed", 3)
        rows = [l.rsplit(",", 1) for l in p.stdout.splitlines()[1:]]
        pairs = {(ipaddress.IPv6Address(a), int(port)) for a, port in rows}
        bad = [(a, port) for a, port in pairs if a not in LAB or int(a) & 0xFFFFFFFFFFFF != 1
               or not 1 <= port <= 65535]
        if p.returncode != 0 or len(rows) != 200000 or len(pairs) != len(rows) or bad:
            fail(f"huge space, shard {shard}: exit {p.returncode}, {len(rows)} rows, {len(pairs)} "
                 f"distinct, outside the space: {bad[:3]} {p.stderr[-200:]}")
        seen[shard] = pairs
    if seen["1/2"] & seen["2/2"]:
        fail(f"huge space: the shards share {len(seen['1/2'] & seen['2/2'])} pairs")
    else:
        print("ok: 2^48 x 65535 (just under 2^64): 2 shards x 200,000 distinct pairs, none shared")


def case_resume(work):
    import signal
    import time
    ck = os.path.join(work, "v6.ck")
    base = [DPSCAN, "--dry-run", "--status-format", "none", "--no-default-blocklist", "2001:db8::/32-48",
            "-p", "22,80", "--ipv6-iid", "random", "--checkpoint", ck, "--checkpoint-interval", "0.05",
            "-o", "-", "--output-format", "ndjson"]
    p = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = []
    for _ in range(3000):
        first.append(p.stdout.readline())
        time.sleep(0.00005)
    p.send_signal(signal.SIGINT)
    rest = p.stdout.read()  # through the same buffered reader (communicate() would skip its buffer)
    err = p.stderr.read()
    p.wait(timeout=60)
    first += rest.splitlines()
    second = subprocess.run(base + ["--resume", ck], capture_output=True, text=True, timeout=300)
    a = [l for l in first if l.strip()]
    b = [l for l in second.stdout.splitlines() if l.strip()]
    bad = [l for l in a + b if not l.startswith("{")]
    if bad:
        fail(f"resume: lines that are not records: {bad[:3]}")
        return
    got = {(json_ip(l), json_port(l)) for l in a + b}
    want_n = 65536 * 2
    in_space = all(ipaddress.IPv6Address(ip) in LAB for ip, _ in got)
    if p.returncode != 130 or second.returncode != 0 or len(got) != want_n or not in_space \
            or len({json_ip(l) for l in a + b}) != 65536 or not 0 < len(a) < want_n:
        fail(f"resume: exits {p.returncode}/{second.returncode}, {len(a)} + {len(b)} records, "
             f"{len(got)} distinct of {want_n} ({err[-200:]} {second.stderr[-200:]})")
    else:
        print(f"ok: IPv6 resume: {len(a)} records before SIGINT + {len(b)} after = all {want_n} pairs "
              f"({len(a) + len(b) - want_n} from the last window twice)")


def json_ip(line):
    import json
    return json.loads(line)["ip"]


def json_port(line):
    import json
    return json.loads(line)["port"]


def case_errors(work):
    bad = os.path.join(work, "bad.txt")
    with open(bad, "w") as f:
        f.write("2001:db8::1\n# fine\n2001:db8::zz\x07\n")
    cases = [
        (["--hitlist", bad], f"{bad}:3:", "'2001:db8::zz\\x07'"),
        (["2001:db8::1", "198.18.0.1"], "mix", "campaign"),
        (["2001:db8::/32-128"], "2001:db8::/32-128", ""),
        (["--hitlist", os.path.join(work, "none.txt")], "none.txt", ""),
    ]
    for args, want1, want2 in cases:
        p = dpscan("-o", "-", "--no-default-blocklist", "-p", 80, *args)
        if p.returncode != 2 or want1 not in p.stderr or want2 not in p.stderr or p.stdout:
            fail(f"{args}: exit {p.returncode}, stderr {p.stderr.strip()!r} (want {want1!r}, {want2!r})")
        else:
            print(f"ok: {args[-1]!r}: exit 2, {p.stderr.splitlines()[0]}")


def main():
    seed = int(os.environ.get("DRY_RUN_SEED") or random.SystemRandom().getrandbits(32))
    print(f"seed {seed} (rerun: DRY_RUN_SEED={seed} {sys.argv[0]})")
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="dry_run_ipv6.")
    try:
        for _ in range(4):
            case_specs(rng, work)
        case_generator()
        case_hitlist(rng, work)
        case_blocklist()
        case_huge()
        case_resume(work)
        case_errors(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"dry_run_ipv6: {len(errors)} failures")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
