#!/usr/bin/python3
"""dry_run_ipaddress.py - dpscan --dry-run against an independent model.

For fixed and random target specifications (CIDR blocks with host bits set,
a-b ranges, single addresses; positional, comma- and space-joined, and from a
--targets-file with comments, blank lines, tabs and CRLF), exclusions
(--exclude, repeated and comma-joined, and --exclude-file; one exclusion spans
several target ranges, one overlaps a range partially) and port lists with
ranges and overlaps, the expected (ip, port) set is computed with Python's
ipaddress module (plus the IANA default blocklist, hard-coded below, unless
--no-default-blocklist is given), and dpscan's dry-run output must hold exactly
that set, each pair once:
  csv    (-o FILE, --summary)  header "ip,port"; summary sent/probes/
                               addresses/ports/seed/dry_run checked
  csv    again, same --seed    byte-identical output (the order is the seed's)
  ndjson (-o -, stdout)        {"ip": ..., "port": ...} per line
  list   (-o FILE)             "#masscan", "probe tcp PORT IP 0"..., "# end"
Dry runs send nothing, so public addresses are fine here.

Random specs come from random.Random(SEED); SEED is DRY_RUN_SEED from the
environment or random, and is printed (rerun: DRY_RUN_SEED=SEED ./this).
DRY_RUN_CASES sets the number of random cases (default 6).
Env: DPSCAN, SRCDIR (default: this checkout). Exit 0 pass, 1 fail.
"""
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import BLOCKLIST, parse_ports, token_interval, tokens  # noqa: E402  (the shared ipaddress model)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")
NAME = "dry_run_ipaddress"
MAX_DIFF = 10

# The default blocklist as documented (IANA special-purpose ranges, multicast,
# reserved, limited broadcast); independent of config/blocklist.conf.

MAXIP = 2**32 - 1


class Failure(Exception):
    pass


def ipstr(n):
    return str(ipaddress.IPv4Address(n))


# ---------------------------------------------------------------- the model

def expected_pairs(case):
    want = []
    for arg in case["positional"]:
        want += [token_interval(t) for t in tokens(arg)]
    want += [token_interval(t) for t in tokens(case["targets_file"])]
    excl = []
    for arg in case["exclude"]:
        excl += [token_interval(t) for t in tokens(arg)]
    excl += [token_interval(t) for t in tokens(case["exclude_file"])]
    if case["blocklist"]:
        excl += [(int(n.network_address), int(n.broadcast_address)) for n in BLOCKLIST]
    addrs = set()
    for lo, hi in want:
        addrs.update(range(lo, hi + 1))
    addrs = {a for a in addrs if not any(lo <= a <= hi for lo, hi in excl)}
    ports = parse_ports(case["ports"])
    return addrs, ports


# ------------------------------------------------------------ random specs

def anchors():
    pts = []
    for n in BLOCKLIST:
        pts += [int(n.network_address), int(n.broadcast_address) + 1]
    return [p for p in pts if p <= MAXIP]


def clip(n):
    return max(0, min(MAXIP, n))


def random_token(rng, anchor_pts):
    if rng.random() < 0.6:
        a = rng.choice(anchor_pts)
    else:
        a = rng.randrange(2**32)
    kind = rng.choice(("cidr", "cidr", "range", "range", "single"))
    if kind == "cidr":
        prefix = rng.randint(22, 32)
        base = clip(a + rng.randint(-2048, 2048))
        return "%s/%d" % (ipstr(base), prefix)
    if kind == "range":
        lo = clip(a + rng.randint(-1500, 500))
        hi = clip(lo + rng.randint(0, 2500))
        return "%s-%s" % (ipstr(lo), ipstr(hi))
    return ipstr(clip(a + rng.randint(-3, 3)))


def file_text(rng, tokens, what):
    lines = ["# %s for %s" % (what, NAME), ""]
    for t in tokens:
        style = rng.randrange(4)
        if style == 0:
            lines.append(t)
        elif style == 1:
            lines.append("  %s\t# inline comment, 1.2.3.4 must be ignored" % t)
        elif style == 2:
            lines.append("\t%s  " % t)
        else:
            lines.append(t + "\r")  # CRLF line
        if rng.random() < 0.4:
            lines.append(rng.choice(["", "   ", "# 9.9.9.9/8", "\t"]))
    lines.append("# end")
    return "\n".join(lines) + "\n"


def random_case(rng, idx, anchor_pts):
    pos = [random_token(rng, anchor_pts) for _ in range(rng.randint(2, 4))]
    filetoks = [random_token(rng, anchor_pts) for _ in range(rng.randint(1, 3))]
    spans = sorted(token_interval(t) for t in pos + filetoks)
    # one exclusion spanning several target ranges (from inside the first to
    # inside another), one overlapping a range partially, one single address
    i, j = 0, rng.randrange(1, len(spans))
    a = (spans[i][0] + spans[i][1]) // 2
    b = (spans[j][0] + spans[j][1]) // 2
    ex = ["%s-%s" % (ipstr(min(a, b)), ipstr(max(a, b)))]
    lo, hi = rng.choice(spans)
    half = (lo + hi) // 2
    ex.append("%s-%s" % (ipstr(clip(lo - rng.randint(0, 300))), ipstr(half)))
    lo, hi = rng.choice(spans)
    ex.append(ipstr(rng.randint(lo, hi)))
    if rng.random() < 0.5:
        base = rng.randint(lo, hi)
        ex.append("%s/%d" % (ipstr(base), rng.randint(26, 31)))
    rng.shuffle(ex)
    k = rng.randint(1, len(ex) - 1)
    on_cmdline, in_file = ex[:k], ex[k:]
    exclude_args = [",".join(on_cmdline[:2])] + on_cmdline[2:] if on_cmdline else []

    # positional: separate args, one comma-joined pair, maybe one space-joined
    positional = []
    rest = list(pos)
    if len(rest) >= 2 and rng.random() < 0.7:
        positional.append(rest.pop() + "," + rest.pop())
    if len(rest) >= 2 and rng.random() < 0.5:
        positional.append(rest.pop() + " " + rest.pop())
    positional += rest
    rng.shuffle(positional)

    items = []
    for _ in range(rng.randint(1, 3)):
        items.append(str(rng.choice([1, 22, 80, 443, 65535, rng.randint(1, 65535)])))
    lo = rng.randint(1, 65535 - 12)
    items.append("%d-%d" % (lo, lo + rng.randint(0, 12)))
    if rng.random() < 0.5:  # overlapping item
        items.append(str(rng.randint(lo, lo + 12)))
    rng.shuffle(items)

    return {
        "name": "random%d" % idx,
        "positional": positional,
        "targets_file": file_text(rng, filetoks, "targets"),
        "exclude": exclude_args,
        "exclude_file": file_text(rng, in_file, "exclusions") if in_file else "",
        "ports": ",".join(items),
        "blocklist": rng.random() < 0.5,
    }


def fixed_cases():
    around = {
        "name": "blocklist-on",
        # each range crosses the edge of a blocklisted range
        "positional": ["9.255.255.250-10.0.0.5", "192.167.255.250-192.168.0.4,172.15.255.254-172.16.0.1",
                       "8.8.8.8 198.17.255.254-198.18.0.1"],
        "targets_file": "# crossing blocklist edges\n\n223.255.255.250-224.0.0.2   # multicast edge\n"
                        "\t100.63.255.254/30\r\n\n# 1.1.1.1\n203.0.112.255-203.0.114.0\n",
        "exclude": ["9.255.255.252", "203.0.112.255"],
        "exclude_file": "# partial\n223.255.255.248/30\n",
        "ports": "80,443,8000-8002,443",
        "blocklist": True,
    }
    off = dict(around, name="blocklist-off", blocklist=False)
    edges = {
        "name": "address-space-edges",
        "positional": ["0.0.0.0/30", "255.255.255.250-255.255.255.255"],
        "targets_file": "",
        "exclude": ["255.255.255.254"],
        "exclude_file": "",
        "ports": "1,65535,65534-65535",
        "blocklist": False,
    }
    big = {
        "name": "lab-15",
        "positional": ["198.18.0.0/15"],
        "targets_file": "",
        "exclude": ["198.18.0.0/24,198.19.255.255", "198.18.64.7"],
        "exclude_file": "198.18.128.0/17\n198.19.0.0-198.19.0.255\n",
        "ports": "22,80",
        "blocklist": False,
    }
    return [around, off, edges, big]


# ---------------------------------------------------------------- checking

def sort_key(pair):
    return (pair[0], pair[1])


def fmt_pair(p):
    return "%s %d" % (ipstr(p[0]), p[1])


def compare(label, got_list, want):
    seen = set()
    dups = []
    for p in got_list:
        if p in seen:
            dups.append(p)
        seen.add(p)
    errs = []
    if dups:
        errs.append("%s: %d pairs written more than once, e.g. %s"
                    % (label, len(dups), ", ".join(fmt_pair(p) for p in dups[:MAX_DIFF])))
    missing = sorted(want - seen, key=sort_key)
    extra = sorted(seen - want, key=sort_key)
    if missing or extra:
        errs.append("%s: %d pairs expected, %d written, %d missing, %d unexpected"
                    % (label, len(want), len(seen), len(missing), len(extra)))
        errs += ["  missing    " + fmt_pair(p) for p in missing[:MAX_DIFF]]
        errs += ["  unexpected " + fmt_pair(p) for p in extra[:MAX_DIFF]]
    if errs:
        raise Failure("\n".join(errs))


def to_pair(ip, port, where):
    try:
        a = int(ipaddress.IPv4Address(ip))
        p = int(port)
    except (ValueError, TypeError) as e:
        raise Failure("%s: unparsable record (%r, %r): %s" % (where, ip, port, e))
    if str(port) != str(p) or not 1 <= p <= 65535:
        raise Failure("%s: bad port %r" % (where, port))
    return a, p


def parse_csv(text, where):
    lines = text.splitlines()
    if not lines or lines[0] != "ip,port":
        raise Failure("%s: first line %r, expected 'ip,port'" % (where, lines[0] if lines else ""))
    out = []
    for n, line in enumerate(lines[1:], 2):
        f = line.split(",")
        if len(f) != 2:
            raise Failure("%s:%d: %r is not 'IP,PORT'" % (where, n, line))
        out.append(to_pair(f[0], f[1], "%s:%d" % (where, n)))
    return out


def parse_ndjson(text, where):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise Failure("%s:%d: not JSON: %r (%s)" % (where, n, line, e))
        if not isinstance(obj, dict) or set(obj) != {"ip", "port"} or not isinstance(obj["port"], int):
            raise Failure("%s:%d: expected {\"ip\": STR, \"port\": INT}, got %r" % (where, n, line))
        out.append(to_pair(obj["ip"], obj["port"], "%s:%d" % (where, n)))
    return out


def parse_list(text, where):
    lines = text.splitlines()
    if len(lines) < 2 or lines[0] != "#masscan" or lines[-1] != "# end":
        raise Failure("%s: expected '#masscan' first and '# end' last, got %r ... %r"
                      % (where, lines[:1], lines[-1:]))
    out = []
    for n, line in enumerate(lines[1:-1], 2):
        f = line.split(" ")
        if len(f) != 5 or f[0] != "probe" or f[1] != "tcp" or f[4] != "0":
            raise Failure("%s:%d: %r is not 'probe tcp PORT IP 0'" % (where, n, line))
        out.append(to_pair(f[3], f[2], "%s:%d" % (where, n)))
    return out


def run_dpscan(args, where):
    try:
        r = subprocess.run([DPSCAN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        raise Failure("%s: dpscan did not finish in 120 s: %s" % (where, " ".join(args)))
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    for bad in ("Segmentation", "Aborted", "PANIC", "Backtrace"):
        if bad in err:
            raise Failure("%s: %r on stderr:\n%s" % (where, bad, err))
    return r.returncode, out, err


def cmdline(case, tmp):
    args = ["--dry-run"]
    if not case["blocklist"]:
        args.append("--no-default-blocklist")
    args += list(case["positional"])
    if case["targets_file"]:
        path = os.path.join(tmp, case["name"] + ".targets")
        with open(path, "w", newline="") as f:
            f.write(case["targets_file"])
        args += ["--targets-file", path]
    for e in case["exclude"]:
        args += ["--exclude", e]
    if case["exclude_file"]:
        path = os.path.join(tmp, case["name"] + ".exclude")
        with open(path, "w", newline="") as f:
            f.write(case["exclude_file"])
        args += ["--exclude-file", path]
    args += ["-p", case["ports"]]
    return args


def describe(case, args):
    lines = ["case %s:" % case["name"], "  dpscan " + " ".join(repr(a) if (" " in a or not a) else a for a in args)]
    if case["targets_file"]:
        lines.append("  targets file: %r" % case["targets_file"])
    if case["exclude_file"]:
        lines.append("  exclude file: %r" % case["exclude_file"])
    return "\n".join(lines)


def check_case(case, tmp, seed):
    args = cmdline(case, tmp)
    addrs, ports = expected_pairs(case)
    want = {(a, p) for a in addrs for p in ports}
    where = case["name"]
    try:
        if not want:
            rc, out, err = run_dpscan(args + ["--seed", "1"], where)
            if rc != 2 or "dpscan: error:" not in err:
                raise Failure("%s: every target is excluded, expected exit 2 and an error, got %d:\n%s"
                              % (where, rc, err))
            return "no targets left (exit 2 as expected)"

        csv1 = os.path.join(tmp, where + ".csv")
        summ = os.path.join(tmp, where + ".json")
        rc, out, err = run_dpscan(args + ["--seed", str(seed), "-o", csv1, "--summary", summ], where + "/csv")
        if rc != 0:
            raise Failure("%s/csv: exit %d, expected 0:\n%s" % (where, rc, err))
        with open(csv1) as f:
            text1 = f.read()
        compare(where + "/csv", parse_csv(text1, csv1), want)
        try:
            with open(summ) as f:
                s = json.load(f)
        except (OSError, ValueError) as e:
            raise Failure("%s: summary unreadable: %s" % (where, e))
        for key, val in (("sent", len(want)), ("probes", len(want)), ("addresses", len(addrs)),
                         ("ports", len(ports)), ("seed", seed), ("dry_run", True), ("interrupted", False)):
            if s.get(key) != val or type(s.get(key)) is not type(val):
                raise Failure("%s: summary %s = %r, expected %r" % (where, key, s.get(key), val))

        csv2 = os.path.join(tmp, where + ".again.csv")
        rc, out, err = run_dpscan(args + ["--seed", str(seed), "-o", csv2], where + "/csv-again")
        if rc != 0:
            raise Failure("%s/csv-again: exit %d:\n%s" % (where, rc, err))
        with open(csv2) as f:
            if f.read() != text1:
                raise Failure("%s: two dry runs with --seed %d wrote different output" % (where, seed))

        rc, out, err = run_dpscan(args + ["--seed", str(seed + 1), "--output-format", "ndjson", "-o", "-"],
                                  where + "/ndjson")
        if rc != 0:
            raise Failure("%s/ndjson: exit %d:\n%s" % (where, rc, err))
        compare(where + "/ndjson", parse_ndjson(out, where + "/ndjson(stdout)"), want)

        lst = os.path.join(tmp, where + ".list")
        rc, out, err = run_dpscan(args + ["--seed", str(seed + 2), "--output-format", "list", "-o", lst],
                                  where + "/list")
        if rc != 0:
            raise Failure("%s/list: exit %d:\n%s" % (where, rc, err))
        with open(lst) as f:
            compare(where + "/list", parse_list(f.read(), lst), want)
    except Failure as e:
        raise Failure("%s\n%s" % (e, describe(case, args)))
    return "%d addresses x %d ports = %d pairs, csv/ndjson/list ok" % (len(addrs), len(ports), len(want))


def main():
    if not os.access(DPSCAN, os.X_OK):
        print("%s: FAIL: dpscan binary %s not found" % (NAME, DPSCAN), file=sys.stderr)
        return 1
    env_seed = os.environ.get("DRY_RUN_SEED")
    seed = int(env_seed) if env_seed else random.SystemRandom().randrange(2**31)
    ncases = int(os.environ.get("DRY_RUN_CASES", "6"))
    print("%s: seed %d (rerun: DRY_RUN_SEED=%d %s)" % (NAME, seed, seed, os.path.abspath(__file__)))
    rng = random.Random(seed)
    pts = anchors()
    cases = fixed_cases() + [random_case(rng, i, pts) for i in range(ncases)]
    failures = 0
    with tempfile.TemporaryDirectory(prefix=NAME + ".") as tmp:
        for i, case in enumerate(cases):
            scan_seed = rng.randrange(1, 2**40)
            try:
                print("%s: %s: %s" % (NAME, case["name"], check_case(case, tmp, scan_seed)))
            except Failure as e:
                failures += 1
                print("%s: FAIL: %s" % (NAME, e), file=sys.stderr)
    if failures:
        print("%s: FAIL: %d of %d cases failed (seed %d; rerun: DRY_RUN_SEED=%d)"
              % (NAME, failures, len(cases), seed, seed), file=sys.stderr)
        return 1
    print("%s: PASS (%d cases, seed %d)" % (NAME, len(cases), seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
