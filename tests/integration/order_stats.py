#!/usr/bin/python3
"""order_stats.py - the scan order looks random: no locality, seeded, reproducible.

1. Locality (one TX lcore): 198.18.0.0/15 with --no-default-blocklist and 1, 2 and
   3 ports, random --seed. With N = 131072 * P probes in a uniformly random
   order, two consecutive probes fall in the same /24 with probability
   (256*P - 1)/(N - 1), so about 256*P - 1 of the N - 1 consecutive pairs do;
   the observed count must lie within 6 binomial standard deviations of that
   (a scanner walking address blocks would be far above). Likewise consecutive
   probes to the same address (expected P - 1) and to adjacent addresses
   (|a - b| = 1, expected about 2*P) must lie within the same bounds.
   The output must also be exactly the space, each pair once.
2. Seeds: the same --seed twice gives byte-identical output; different seeds
   (and two runs without --seed) give different orders of the same set, with
   few records at the same position (chance: about one).
3. First probes: the first 10000 probes of 1.0.0.0/8 x 1 port (--max-targets
   10000) reach at least 200 of its 256 /16s (a uniform sample reaches all 256)
   and almost no two consecutive ones are in the same /16 (chance: ~39).

Env: DPSCAN, SRCDIR, TEST_SEED. Exit 0 pass, 1 fail.
"""
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import (check, csv_records, ip2int, main_wrapper, run,  # noqa: E402
                          test_seed)

NAME = "order_stats"
SIGMAS = 6.0


def records_to_ints(recs):
    out = []
    for r in recs:
        ip, port = r.split(",")
        out.append((ip2int(ip), int(port)))
    return out


def binomial_bounds(trials, p):
    mu = trials * p
    sd = math.sqrt(trials * p * (1 - p))
    return mu, sd, mu - SIGMAS * sd - 1, mu + SIGMAS * sd + 1


def locality(rng):
    base = ip2int("198.18.0.0")
    for nports in (1, 2, 3):
        p0 = rng.randint(1, 65000)
        ports = list(range(p0, p0 + nports))
        seed = rng.randrange(2**64)
        args = ["--dry-run", "-q", "--no-default-blocklist", "--seed", str(seed),
                "198.18.0.0/15", "-p", f"{p0}-{p0 + nports - 1}"]
        recs = records_to_ints(csv_records(run(args)[1], " ".join(args)))
        n = 2**17 * nports
        check(len(recs) == n and len(set(recs)) == n
              and all(base <= a < base + 2**17 and p in ports for a, p in recs),
              f"{args}: {len(recs)} records, {len(set(recs))} distinct, want the {n} pairs")
        pairs = list(zip(recs, recs[1:]))
        same24 = sum(1 for (a, _), (b, _) in pairs if a >> 8 == b >> 8)
        same_ip = sum(1 for (a, _), (b, _) in pairs if a == b)
        adjacent = sum(1 for (a, _), (b, _) in pairs if abs(a - b) == 1)
        # Under a uniform random order each consecutive pair is a uniform random pair of
        # distinct probes.
        for what, obs, p in (
                ("in the same /24", same24, (256 * nports - 1) / (n - 1)),
                ("to the same address", same_ip, (nports - 1) / (n - 1)),
                ("to adjacent addresses", adjacent,
                 2 * (2**17 - 1) * nports * nports / (n * (n - 1)))):
            mu, sd, lo, hi = binomial_bounds(n - 1, p)
            print(f"{NAME}: {nports} port(s), seed {seed}: consecutive probes {what}: {obs} "
                  f"(chance {mu:.1f} +- {sd:.1f})", flush=True)
            check(obs <= hi, f"{args}: {obs} consecutive probes {what}, far above the {mu:.1f}"
                  f" +- {sd:.1f} of a random order (limit {hi:.1f}): the order has locality")
            check(obs >= lo, f"{args}: {obs} consecutive probes {what}, far below the {mu:.1f}"
                  f" +- {sd:.1f} of a random order (limit {lo:.1f})")


def seeds(rng):
    args = ["--dry-run", "-q", "--no-default-blocklist", "198.18.0.0/17", "-p", "80,443"]
    s1 = rng.randrange(2**64)
    s2 = (s1 + rng.randrange(1, 2**63)) % 2**64
    a = run(args + ["--seed", str(s1)])[1]
    b = run(args + ["--seed", str(s1)])[1]
    check(a == b, f"--seed {s1} twice: outputs differ (the order must be the seed's)")
    c = run(args + ["--seed", str(s2)])[1]
    d = run(args)[1]
    e = run(args)[1]
    for what, x, y in ((f"--seed {s2} vs --seed {s1}", a, c),
                       ("two runs without --seed", d, e),
                       (f"a run without --seed vs --seed {s1}", d, a)):
        x, y = csv_records(x, what), csv_records(y, what)
        check(sorted(x) == sorted(y), f"{what}: different sets of probes")
        check(x != y, f"{what}: identical order - the order does not depend on the seed")
        same = sum(1 for i, j in zip(x, y) if i == j)
        # Two independent random orders agree at about one position.
        check(same <= 20, f"{what}: {same} of {len(x)} records at the same position")
        print(f"{NAME}: {what}: {same} of {len(x)} records at the same position", flush=True)
    # Seeds that differ in one bit (low and high) also give other orders.
    for bit in (0, 63):
        f = run(args + ["--seed", str(s1 ^ (1 << bit))])[1]
        check(f != a, f"--seed {s1} and {s1 ^ (1 << bit)}: identical order")


def first_probes(rng):
    seed = rng.randrange(2**64)
    args = ["--dry-run", "-q", "--seed", str(seed), "--max-targets", "10000", "1.0.0.0/8",
            "-p", "443"]
    recs = records_to_ints(csv_records(run(args)[1], " ".join(args)))
    check(len(recs) == 10000, f"{args}: {len(recs)} records, want 10000")
    check(len(set(recs)) == 10000, f"{args}: repeated probes among the first 10000")
    s16 = {a >> 16 for a, _ in recs}
    consec16 = sum(1 for (a, _), (b, _) in zip(recs, recs[1:]) if a >> 16 == b >> 16)
    step1 = sum(1 for (a, _), (b, _) in zip(recs, recs[1:]) if abs(a - b) <= 256)
    print(f"{NAME}: first 10000 probes (seed {seed}): {len(s16)} of 256 /16s, {consec16} "
          f"consecutive in the same /16 (chance ~39), {step1} within 256 addresses", flush=True)
    check(len(s16) >= 200, f"{args}: the first 10000 probes reach only {len(s16)} of 256 /16s")
    _, _, _, hi = binomial_bounds(9999, 1 / 256)
    check(consec16 <= hi, f"{args}: {consec16} consecutive probes in the same /16 (chance ~39)")
    check(step1 <= 10, f"{args}: {step1} consecutive probes within 256 addresses (sequential?)")


def body():
    rng = random.Random(test_seed(NAME))
    locality(rng)
    seeds(rng)
    first_probes(rng)


if __name__ == "__main__":
    main_wrapper(NAME, body)
