#!/usr/bin/python3
"""order_shards.py - shards x TX lcores partition the probe space exactly (dry runs).

Randomized property test. For ORDER_SHARDS_CASES (default 25) random target
specifications - CIDR blocks (host bits set), a-b ranges and single addresses,
overlapping each other, placed around public blocks and around the edges of the
default blocklist (10/8, 100.64/10, 172.16/12, 192.168/16, 192.88.99/24,
198.18/15, 127/8, 224/4, 240/4), whole blocklisted blocks, large blocks carved
down by --exclude; given as separate arguments, comma/space-joined arguments
and a --targets-file; random --exclude (repeated, comma-joined) and an
--exclude-file; with and without --no-default-blocklist - and random port
lists with ranges, a random shard count N and TX lcore count T (N*T <= 64, the
extremes 64x1, 1x64, 8x8 included) and sometimes --retries: every shard
I/N is run with the same --seed, and the union of the outputs must be exactly
the (address, port) set computed independently with Python's ipaddress module
(targets minus exclusions minus the documented blocklist) x ports, each pair
exactly retries+1 times across all shards.

Prime boundaries: the walk uses the smallest tabled prime p (src/target/
primes.cpp) with p - 1 >= targets. For several tabled primes p < 100000 and
space sizes p-2, p-1, p, p+1, as n addresses x 1 port and as addresses x a
contiguous port range (a x P = n), with one subshard (1/1, 1 lcore) and with
several (N shards x T lcores): the union must be the space, each pair once.

Env: DPSCAN, SRCDIR (default: this checkout), TEST_SEED (default: time),
ORDER_SHARDS_CASES. Exit 0 pass, 1 fail.
"""
import collections
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import (Failure, address_intervals, check, count_addresses,  # noqa: E402
                          csv_records, expected_lines, int2ip, ip2int, main_wrapper,
                          parse_ports, run, tabled_primes, test_seed)

NAME = "order_shards"
MAX_PAIRS = 40000  # per random case (times retries+1)
MAX_DIFF = 8

# (first address, window length): tokens are drawn inside a window.
ANCHORS = [
    ("1.2.0.0", 4096), ("45.33.10.0", 2048), ("81.7.200.0", 1024), ("151.101.3.0", 700),
    ("9.255.255.0", 512),        # into 10.0.0.0/8
    ("100.63.255.128", 384),     # into 100.64.0.0/10
    ("126.255.255.128", 256),    # into 127.0.0.0/8
    ("169.253.255.200", 200),    # up to 169.254.0.0/16
    ("172.15.255.192", 256),     # into 172.16.0.0/12
    ("172.31.255.200", 112),     # out of 172.16.0.0/12
    ("192.0.1.200", 400),        # 192.0.2.0/24
    ("192.88.98.192", 384),      # over 192.88.99.0/24
    ("192.167.255.128", 384),    # into 192.168.0.0/16
    ("198.17.255.200", 300),     # into 198.18.0.0/15
    ("198.19.255.128", 256),     # out of 198.18.0.0/15
    ("198.51.99.200", 400),      # over 198.51.100.0/24
    ("223.255.255.0", 512),      # into 224.0.0.0/4
    ("255.255.255.0", 256),      # inside 240.0.0.0/4, ends at 255.255.255.255
]
# Whole blocks that are empty after the default blocklist (only used with it).
BLOCKED_BLOCKS = ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "127.0.0.0/8",
                  "198.18.0.0/15", "224.0.0.0/4", "100.64.0.0/10"]
# Shards x lcores for random cases; extremes first.
EXTREMES = [(64, 1), (1, 64), (8, 8), (4, 16), (16, 4)]


def token_in(rng, lo, length):
    """A random CIDR/range/address token inside [lo, lo+length)."""
    kind = rng.choice(["cidr", "range", "range", "addr"])
    a = lo + rng.randrange(length)
    if kind == "addr":
        return int2ip(a)
    if kind == "range":
        b = min(lo + length - 1, a + rng.randrange(1, max(2, length // 2)))
        return f"{int2ip(a)}-{int2ip(b)}"
    max_bits = max(0, (length // 2).bit_length() - 1)
    bits = rng.randint(0, max_bits)
    return f"{int2ip(a)}/{32 - bits}"  # host bits usually set


def random_ports(rng):
    items = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        r = rng.random()
        if r < 0.15:
            items.append(rng.choice(["1", "65535", "65530-65535", "1-3"]))
        elif r < 0.6:
            items.append(str(rng.randint(1, 65535)))
        else:
            a = rng.randint(1, 65500)
            items.append(f"{a}-{a + rng.randint(0, 9)}")
    if rng.random() < 0.2 and items:  # an overlapping repeat
        items.append(items[0])
    return ",".join(items)


def random_case(rng, tmp, idx):
    """A random dpscan invocation and its model, small enough to enumerate."""
    while True:
        blocklist = rng.random() < 0.5
        targets, excludes = [], []
        anchors = rng.sample(ANCHORS, rng.randint(1, 3))
        for first, length in anchors:
            lo = ip2int(first)
            for _ in range(rng.randint(1, 4)):
                targets.append(token_in(rng, lo, length))
            for _ in range(rng.choice([0, 0, 1, 2, 3])):
                excludes.append(token_in(rng, lo, length))
        if blocklist and rng.random() < 0.5:
            targets.append(rng.choice(BLOCKED_BLOCKS))
        if rng.random() < 0.25:  # a big block carved down to a few addresses by --exclude
            keep = rng.randint(1, 200)
            targets.append("192.168.0.0/16" if rng.random() < 0.5 else "10.0.0.0/8")
            last = ip2int("192.168.255.255") if targets[-1].startswith("192") \
                else ip2int("10.255.255.255")
            base = ip2int(targets[-1].split("/")[0])
            cut = base + rng.randrange(0, 60000)
            excludes.append(f"{int2ip(base)}-{int2ip(cut)}" if cut > base else int2ip(base))
            excludes.append(f"{int2ip(cut + keep + 1)}-{int2ip(last)}")
        ports = random_ports(rng)
        rng.shuffle(targets)

        # Split targets over positional args (single, comma- or space-joined) and a file.
        pos_args, file_tokens = [], []
        for t in targets:
            r = rng.random()
            if r < 0.25:
                file_tokens.append(t)
            elif r < 0.5 and pos_args:
                pos_args[-1] += rng.choice([",", " ", ", "]) + t
            else:
                pos_args.append(t)
        excl_args, excl_file = [], []
        for e in excludes:
            r = rng.random()
            if r < 0.35:
                excl_file.append(e)
            elif r < 0.55 and excl_args:
                excl_args[-1] += "," + e
            else:
                excl_args.append(e)

        args, texts = [], list(pos_args)
        if file_tokens:
            path = os.path.join(tmp, f"targets{idx}.txt")
            body = "# random targets\n\n" + "\n".join(
                t + (rng.choice(["", "  # c", "\t"])) for t in file_tokens) + "\n"
            with open(path, "w") as f:
                f.write(body)
            args += ["--targets-file", path]
            texts.append(body)
        for e in excl_args:
            args += ["--exclude", e]
        etexts = list(excl_args)
        if excl_file:
            path = os.path.join(tmp, f"exclude{idx}.txt")
            body = "# random exclusions\n" + "\n".join(e + " # x" for e in excl_file) + "\n"
            with open(path, "w") as f:
                f.write(body)
            args += ["--exclude-file", path]
            etexts.append(body)
        if not blocklist:
            args.append("--no-default-blocklist")
        args += ["-p", ports] + pos_args
        ivs = address_intervals(texts, etexts, blocklist)
        nports = len(parse_ports(ports))
        n = count_addresses(ivs) * nports
        retries = rng.choice([0, 0, 0, 0, 1, 2])
        if 0 < n * (retries + 1) <= MAX_PAIRS:
            return args, ivs, parse_ports(ports), retries


def random_layout(rng, idx):
    if idx < len(EXTREMES):
        return EXTREMES[idx]
    n = rng.choice([1, 1, 2, 3, 4, 5, 7, 8, 12, 16])
    t = rng.randint(1, min(16, 64 // n))
    return n, t


def run_all_shards(args, seed, nshards, lcores, retries, want, what, tmp):
    """Runs shards 1..N; checks the union against `want` (each pair retries+1 times)."""
    counts = collections.Counter()
    first_shard = {}
    dups = []
    for i in range(1, nshards + 1):
        a = ["--dry-run", "-q", "--seed", str(seed), "--tx-lcores", str(lcores)] + args
        if nshards > 1 or i % 2:
            a += ["--shard", f"{i}/{nshards}"]
        if retries:
            a += ["--retries", str(retries)]
        if i % 3 == 0:
            out = os.path.join(tmp, "shard.csv")
            run(a + ["-o", out])
            with open(out) as f:
                text = f.read()
        else:
            text = run(a)[1]
        for rec in csv_records(text, f"{what}, shard {i}/{nshards}"):
            counts[rec] += 1
            if rec in first_shard and first_shard[rec] != i and len(dups) < MAX_DIFF:
                dups.append(f"{rec} in shards {first_shard[rec]} and {i}")
            first_shard.setdefault(rec, i)
    missing = [r for r in want if r not in counts]
    extra = [r for r in counts if r not in want]
    wrong = [f"{r} x{c}" for r, c in counts.items() if r in want and c != retries + 1]
    if missing or extra or wrong:
        raise Failure(
            f"{what} (seed {seed}, {nshards} shards x {lcores} lcores, retries {retries}):"
            f" {len(want)} pairs expected x{retries + 1}, got {sum(counts.values())} records of"
            f" {len(counts)} pairs; missing {len(missing)} {sorted(missing)[:MAX_DIFF]};"
            f" unexpected {len(extra)} {sorted(extra)[:MAX_DIFF]};"
            f" wrong count {len(wrong)} {wrong[:MAX_DIFF]}; across shards {dups}\n"
            f"  args: {args}")
    return sum(counts.values())


def boundary_cases(rng):
    """(description, args, want-set) around tabled primes p < 100000."""
    primes = [p for p in tabled_primes() if p < 100000]
    chosen = [3, 5, 7, 17, 257, primes[-1]]
    check(all(p in primes for p in chosen), f"expected primes missing from the table: {chosen}")
    middle = [p for p in primes if p not in chosen and p > 7]
    chosen += rng.sample(middle, 2)
    for p in sorted(chosen):
        for n in (p - 2, p - 1, p, p + 1):
            if n < 1:
                continue
            base = ip2int("1.0.0.0") + rng.randrange(0, 2**24 - n)
            port = rng.randint(1, 65535)
            yield (f"p={p} n={n}: {n} addresses x port {port}",
                   [f"{int2ip(base)}-{int2ip(base + n - 1)}", "-p", str(port)],
                   [(base, base + n - 1)], [port])
            divs = [d for d in range(2, min(n, 64) + 1) if n % d == 0]
            if divs:
                nports = rng.choice(divs)
            elif 2 <= n <= 65535:
                nports = n
            else:
                continue
            naddr = n // nports
            p0 = rng.randint(1, 65536 - nports)
            base = ip2int("45.0.0.0") + rng.randrange(0, 2**20)
            yield (f"p={p} n={n}: {naddr} addresses x ports {p0}-{p0 + nports - 1}",
                   [f"{int2ip(base)}-{int2ip(base + naddr - 1)}" if naddr > 1 else int2ip(base),
                    "-p", f"{p0}-{p0 + nports - 1}"],
                   [(base, base + naddr - 1)], list(range(p0, p0 + nports)))


def body():
    seed = test_seed(NAME)
    rng = random.Random(seed)
    cases = int(os.environ.get("ORDER_SHARDS_CASES", "25"))
    with tempfile.TemporaryDirectory(prefix="order_shards.") as tmp:
        runs = records = 0
        for idx in range(cases):
            args, ivs, ports, retries = random_case(rng, tmp, idx)
            want = expected_lines(ivs, ports)
            nshards, lcores = random_layout(rng, idx)
            scan_seed = rng.randrange(2**64)
            records += run_all_shards(args, scan_seed, nshards, lcores, retries, want,
                                      f"random case {idx}", tmp)
            runs += nshards
        print(f"{NAME}: {cases} random cases, {runs} runs, {records} records: ok", flush=True)

        runs = records = ncases = 0
        for what, args, ivs, ports in boundary_cases(rng):
            want = expected_lines(ivs, ports)
            layouts = [(1, 1)]
            if rng.random() < 0.5:
                layouts.append((1, rng.randint(2, 64)))
            else:
                n = rng.randint(2, 8)
                layouts.append((n, rng.randint(1, 64 // n)))
            for nshards, lcores in layouts:
                scan_seed = rng.randrange(2**64)
                records += run_all_shards(["--no-default-blocklist"] + args, scan_seed, nshards,
                                          lcores, 0, want, what, tmp)
                runs += nshards
            ncases += 1
        print(f"{NAME}: {ncases} prime-boundary spaces, {runs} runs, {records} records: ok",
              flush=True)


if __name__ == "__main__":
    main_wrapper(NAME, body)
