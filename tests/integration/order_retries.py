#!/usr/bin/python3
"""order_retries.py - --retries and --max-targets in dry runs.

Space: 1.0.0.0/18 x ports 80,443 (32768 targets), random --seed, 1-3 TX lcores.
1. --retries 0: every target exactly once. --retries 2: every target exactly 3
   times (98304 records); consecutive identical records no more often than in
   a uniform random order (expected about R; limit mean + 6 sd + 3); the 3 copies
   of a target are spread over the scan: the share of targets whose copies all
   fall within a tenth of the scan is not far above the uniform 3w^2 - 2w^3
   (w = 0.1, i.e. 2.8%). --retries 1 with 3 shards x 2 lcores: the union over
   the shards holds every target exactly twice.
2. --max-targets (help: "probe at most N targets, or N% of the target space
   (per shard)"; each target gets retries+1 probes):
   a. K with 1 lcore: exactly K records, distinct, and they are the first K
      records of the uncapped run with the same seed; K >= the space: the space.
   b. K with 2-4 TX lcores: exactly K records (the cap is a total, not a
      per-lcore cap that lcores with fewer targets cannot use); also 100%.
   c. K or X% with --retries: refused with exit 2 naming --retries (an exact
      cap on targets with spread-out retries would need per-target state).
   d. X% (1 and 3 lcores): exactly floor(space * X / 100) distinct records.
   e. K with --shard I/3: exactly K records per shard (documented per shard);
      X% with --shard I/3: floor(space * X / 100 / 3) per shard.
All checks run and failures are listed together at the end.

Env: DPSCAN, SRCDIR, TEST_SEED. Exit 0 pass, 1 fail.
"""
import collections
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import (Failure, check, cmdline, csv_records, expected_lines,  # noqa: E402
                          ip2int, main_wrapper, run, test_seed, DPSCAN)

NAME = "order_retries"
TARGET = "1.0.0.0/18"
PORTS = "80,443"
SPACE = 2**14 * 2


class Soft:
    """Collects failed checks so that one run reports all of them."""

    def __init__(self):
        self.failed = []

    def check(self, cond, msg):
        if not cond:
            self.failed.append(msg)
            print(f"{NAME}: FAILED CHECK: {msg}", flush=True)
        return cond


def dry(args):
    a = ["--dry-run", "-q"] + args + [TARGET, "-p", PORTS]
    return csv_records(run(a)[1], cmdline([DPSCAN] + a)), cmdline([DPSCAN] + a)


def retries_copies(rng, soft, want):
    for r in (0, 2):
        seed = rng.randrange(2**64)
        lcores = rng.randint(1, 3)
        recs, cmd = dry(["--seed", str(seed), "--tx-lcores", str(lcores), "--retries", str(r)])
        counts = collections.Counter(recs)
        wrong = [f"{k} x{c}" for k, c in counts.items() if c != r + 1]
        check(set(counts) == want and not wrong,
              f"{cmd}: {len(recs)} records of {len(counts)} targets, want {len(want)} targets "
              f"x {r + 1}; missing {sorted(want - set(counts))[:5]}, unexpected "
              f"{sorted(set(counts) - want)[:5]}, wrong counts {wrong[:5]}")
        m = len(recs)
        consecutive = sum(1 for a, b in zip(recs, recs[1:]) if a == b)
        # Uniform random order: a consecutive pair is the same target with probability
        # R / (M - 1), so about R of the M - 1 pairs.
        mu = r
        limit = mu + 6 * math.sqrt(mu) + 3
        print(f"{NAME}: --retries {r} ({lcores} lcores, seed {seed}): each target x{r + 1}; "
              f"{consecutive} consecutive identical records (chance {mu})", flush=True)
        check(consecutive <= limit, f"{cmd}: {consecutive} consecutive identical records "
              f"(a random order has about {mu}; limit {limit:.1f}): copies back to back")
        if r == 0:
            continue
        pos = collections.defaultdict(list)
        for i, rec in enumerate(recs):
            pos[rec].append(i)
        w = 0.1
        clustered = sum(1 for v in pos.values() if v[-1] - v[0] <= w * m)
        p = 3 * w * w - 2 * w ** 3  # span of 3 uniform points <= w
        n = len(pos)
        hi = n * p + 6 * math.sqrt(n * p * (1 - p)) + 1
        mean_gap = sum((v[-1] - v[0]) / r for v in pos.values()) / n / m
        print(f"{NAME}: --retries {r}: {clustered} of {n} targets have all copies within "
              f"{w:.0%} of the scan (chance {n * p:.0f}); mean gap between copies "
              f"{mean_gap:.1%} of the scan (chance 25%)", flush=True)
        check(clustered <= hi, f"{cmd}: {clustered} of {n} targets have all {r + 1} copies "
              f"within {w:.0%} of the scan; a uniform order has {n * p:.0f} (limit {hi:.0f})")

    # Retries with shards and lcores: each target exactly twice over the shards.
    seed = rng.randrange(2**64)
    counts = collections.Counter()
    for i in (1, 2, 3):
        recs, cmd = dry(["--seed", str(seed), "--shard", f"{i}/3", "--tx-lcores", "2",
                         "--retries", "1"])
        counts.update(recs)
    wrong = [f"{k} x{c}" for k, c in counts.items() if c != 2]
    check(set(counts) == want and not wrong,
          f"--retries 1 --shard I/3 --tx-lcores 2 --seed {seed}: union of {sum(counts.values())}"
          f" records of {len(counts)} targets; wrong counts {wrong[:5]}, missing "
          f"{sorted(want - set(counts))[:5]}")
    print(f"{NAME}: --retries 1 over 3 shards x 2 lcores: each target exactly twice", flush=True)


def max_targets(rng, soft, want):
    # a. one lcore: exactly K, the first K of the uncapped order.
    seed = rng.randrange(2**64)
    full, _ = dry(["--seed", str(seed)])
    for k in sorted({1, 4095, 4096, 4097, rng.randint(2, SPACE - 1), SPACE - 1}):
        recs, cmd = dry(["--seed", str(seed), "--max-targets", str(k)])
        soft.check(recs == full[:k], f"{cmd}: {len(recs)} records"
                   f"{'' if len(recs) != k else ' but not the first K of the uncapped order'}"
                   f", want exactly the first {k} records of the uncapped run")
    for k in (SPACE, SPACE + 1, 10**9):
        recs, cmd = dry(["--seed", str(seed), "--max-targets", str(k)])
        soft.check(recs == full, f"{cmd}: {len(recs)} records, want the whole space {SPACE}")
    print(f"{NAME}: --max-targets K, 1 lcore: the first K records", flush=True)

    # b. several lcores: the cap is on the total.
    for lcores in (2, 3, 4):
        seed = rng.randrange(2**64)
        for k in (rng.randint(1, SPACE // 2), SPACE - rng.randint(1, 50), SPACE):
            recs, cmd = dry(["--seed", str(seed), "--tx-lcores", str(lcores),
                             "--max-targets", str(k)])
            soft.check(len(recs) == k and len(set(recs)) == k and set(recs) <= want,
                       f"{cmd}: {len(recs)} records ({len(set(recs))} distinct), want exactly {k}")
        recs, cmd = dry(["--seed", str(seed), "--tx-lcores", str(lcores), "--max-targets", "100%"])
        soft.check(sorted(recs) == sorted(want),
                   f"{cmd}: {len(recs)} records ({len(set(recs))} distinct), want all {SPACE}"
                   f" targets once (missing e.g. {sorted(want - set(recs))[:3]})")
    print(f"{NAME}: --max-targets with 2-4 lcores done", flush=True)

    # c. with retries: refused. The R+1 probes of a target are spread over the whole scan,
    #    so dpscan cannot cap targets exactly without per-target state; it says so instead
    #    of silently capping probes.
    for r in (1, 2):
        for cap in ("1000", "10%"):
            a = ["--dry-run", "-q", "--retries", str(r), "--max-targets", cap, TARGET, "-p", PORTS]
            rc, out, err = run(a, check_rc=None)
            soft.check(rc == 2 and "dpscan: error:" in err and "--retries" in err and out == "",
                       f"{cmdline([DPSCAN] + a)}: exit {rc}, stderr {err.strip()!r}: want exit 2 naming --retries")

    # d. percentages (no retries): floor(space x X / 100) targets.
    for pct in ("0.5", "10", "33.3", "100"):
        for lcores in (1, 3):
            seed = rng.randrange(2**64)
            recs, cmd = dry(["--seed", str(seed), "--tx-lcores", str(lcores), "--max-targets", pct + "%"])
            targets = math.floor(SPACE * float(pct) / 100)
            counts = collections.Counter(recs)
            soft.check(len(recs) == targets, f"{cmd}: {len(recs)} records, want floor({SPACE} x {pct}%) = {targets}")
            soft.check(len(counts) == len(recs) and set(counts) <= want,
                       f"{cmd}: a target twice, or one outside the space")
    print(f"{NAME}: --max-targets N% done", flush=True)

    # e. shards: a count is per shard.
    seed = rng.randrange(2**64)
    k = rng.randint(100, SPACE // 4)
    union = collections.Counter()
    for i in (1, 2, 3):
        recs, cmd = dry(["--seed", str(seed), "--shard", f"{i}/3", "--max-targets", str(k)])
        soft.check(len(recs) == k, f"{cmd}: {len(recs)} records, want {k} (per shard)")
        union.update(recs)
    soft.check(all(c == 1 for c in union.values()) and set(union) <= want,
               f"--max-targets {k} over 3 shards: some target probed twice or unexpected")
    # A percentage with shards is of each shard's share (documented): floor(space x X% / N).
    got = []
    for i in (1, 2, 3):
        recs, cmd = dry(["--seed", str(seed), "--shard", f"{i}/3", "--max-targets", "10%"])
        got.append(len(recs))
        soft.check(len(recs) == math.floor(SPACE * 0.10 / 3),
                   f"{cmd}: {len(recs)} records, want floor({SPACE} x 10% / 3) = {math.floor(SPACE * 0.10 / 3)}")
    print(f"{NAME}: --max-targets 10% --shard I/3 on {SPACE} targets probes {got} per shard", flush=True)


def body():
    rng = random.Random(test_seed(NAME))
    base = ip2int("1.0.0.0")
    want = expected_lines([(base, base + 2**14 - 1)], [80, 443])
    check(len(want) == SPACE, "test bug: space size")
    soft = Soft()
    retries_copies(rng, soft, want)
    max_targets(rng, soft, want)
    if soft.failed:
        raise Failure(f"{len(soft.failed)} checks failed:\n  " + "\n  ".join(soft.failed))


if __name__ == "__main__":
    main_wrapper(NAME, body)
