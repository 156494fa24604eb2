#!/usr/bin/python3
"""campaign_roundtrip.py - --print-config, command-line overrides, {scan}, and a dry-run
campaign of three scans checked against Python's ipaddress.

A rich campaign (defaults with a switch, a repeatable option as a list, seed, summary and
checkpoint paths with {scan}; three scans with target lists as flow and block sequences,
ports as a sequence and as a scalar, a per-scan rate that overrides the default, outputs
lists, a primary output with its format, an exclude-file) is written to a fresh directory.
  1. `-c rich.yaml --print-config`: exit 0, nothing written, nothing on stderr; the text is
     YAML with only `scans:`, the three scans in order with their merged keys (defaults,
     scan keys winning over defaults, {scan} replaced in outputs/summary/checkpoint);
     fed back (`-c printed.yaml --print-config`) it prints the same text, byte for byte.
  2. `-c rich.yaml --rate 777 --seed 99 --report open,closed --exclude 198.18.0.0/30
     --summary cli-{scan}.json --print-config`: the command line wins in every scan (also
     over a scan's own rate and the default exclude list; {scan} replaced in the command
     line's path too); its output fed back is again identical.
  3. `-c rich.yaml --seed 4242` (a dry run): each scan writes its own outputs (csv, ndjson,
     list; file names from {scan}) holding exactly the (ip, port) pairs of its targets minus
     exclusions, each once, computed independently with ipaddress; and its own summary
     (scan name, dry_run, seed 4242 from the command line, sent = probes = pairs, plan with
     targets, ports, seed, rate); nothing else is written.
Exit 0 pass, 1 fail. Env: DPSCAN, SRCDIR.
"""
import json
import os
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import (DPSCAN, Failure, check, crash_text, diff_sets, main,  # noqa: E402
                             model_addresses, model_ports, read_csv, read_list, read_ndjson, run,
                             show)

NAME = "dry_run_campaign_roundtrip"

RICH = """\
# A rich campaign for campaign_roundtrip.py (dry runs only).
defaults:
  rate: 20000
  no-default-blocklist: true
  dry-run: true
  seed: 12345
  exclude: [198.18.0.8/29, 198.18.4.0-198.18.4.9]
  summary: "{scan}-summary.json"
  checkpoint: "ck-{scan}.txt"
scans:
  - name: web
    targets: [198.18.0.0/24, 198.18.1.0/28]
    ports: [80, 443, 8000-8002]
    outputs:
      - {format: ndjson, path: "{scan}.ndjson"}
      - {format: csv, path: "{scan}.csv"}
  - name: ssh.v2
    targets: 198.18.4.0/26
    ports: 22
    rate: 5000
    report: open,closed
    output: "{scan}-primary.list"
    output-format: list
  - name: mail_x
    targets:
      - 198.18.8.1-198.18.8.40
      - 198.18.9.7
    ports: "25,587"
    exclude-file: excl.txt
    outputs:
      - {format: list, path: "{scan}.list"}
      - {format: csv, path: "{scan}.csv"}
"""
EXCL = "# mail_x excludes these\n198.18.8.16/30\n198.18.9.0/24\n"

DEFAULT_EXCLUDE = ["198.18.0.8/29", "198.18.4.0-198.18.4.9"]
# Per scan: targets, exclusions, ports, rate, files (format, name) it writes.
SCANS = {
    "web": dict(targets=["198.18.0.0/24", "198.18.1.0/28"], exclude=DEFAULT_EXCLUDE,
                ports="80,443,8000-8002", rate="20000",
                files=[("ndjson", "web.ndjson"), ("csv", "web.csv")]),
    "ssh.v2": dict(targets=["198.18.4.0/26"], exclude=DEFAULT_EXCLUDE, ports="22", rate="5000",
                   files=[("list", "ssh.v2-primary.list")]),
    "mail_x": dict(targets=["198.18.8.1-198.18.8.40", "198.18.9.7"],
                   exclude=DEFAULT_EXCLUDE + ["198.18.8.16/30", "198.18.9.0/24"],
                   ports="25,587", rate="20000",
                   files=[("list", "mail_x.list"), ("csv", "mail_x.csv")]),
}
ORDER = ["web", "ssh.v2", "mail_x"]


def as_list(v):
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [str(v)]


def tokens(v):
    out = []
    for x in as_list(v):
        out += x.replace(",", " ").split()
    return out


def as_bool(v):
    return v is True or str(v).lower() == "true"


def substituted(path, name):
    return str(path).replace("{scan}", name)


def listing(d):
    return sorted(os.listdir(d))


def print_config(work, args, label):
    p = run([DPSCAN] + args + ["--print-config"], cwd=work, timeout=30)
    check(p.returncode == 0, f"{label}: {show(['dpscan'] + args + ['--print-config'])} exited "
          f"{p.returncode}: {p.stderr.strip()[-800:]}")
    check(not crash_text(p.stderr), f"{label}: crash on stderr: {p.stderr[-800:]}")
    check(p.stderr.strip() == "", f"{label}: --print-config wrote to stderr: {p.stderr[:500]!r}")
    return p.stdout


def parse_printed(text, label):
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise Failure(f"{label}: --print-config output is not YAML ({e}):\n{text}")
    check(isinstance(doc, dict) and list(doc) == ["scans"],
          f"{label}: --print-config should print a campaign with only 'scans', got keys "
          f"{list(doc) if isinstance(doc, dict) else type(doc).__name__}")
    scans = doc["scans"]
    check(isinstance(scans, list), f"{label}: 'scans' is not a list")
    names = [s.get("name") for s in scans]
    check(names == ORDER, f"{label}: scans {names}, expected {ORDER} in that order")
    return {s["name"]: s for s in scans}


def roundtrip(work, first, label):
    """Feeds printed text back: `-c printed --print-config` must print the same text."""
    path = os.path.join(work, f"printed-{label}.yaml")
    with open(path, "w") as f:
        f.write(first)
    second = print_config(work, ["-c", path], label + " (fed back)")
    os.unlink(path)
    if second != first:
        import difflib
        d = "".join(difflib.unified_diff(first.splitlines(True), second.splitlines(True),
                                         "printed", "printed again"))
        raise Failure(f"{label}: --print-config of its own output differs:\n{d}")


def outputs_of(scan):
    """(format, path) of every output of a printed scan: outputs/output-spec and output."""
    out = []
    for o in scan.get("outputs") or []:
        out.append((str(o.get("format")), str(o.get("path"))))
    for spec in as_list(scan.get("output-spec")):
        fmt_, _, path = spec.partition(":")
        out.append((fmt_, path))
    if "output" in scan and str(scan["output"]) != "-":
        out.append((str(scan.get("output-format", "csv")), str(scan["output"])))
    return out


def check_printed(scans, overrides, label):
    """The merged keys of each printed scan; overrides: the command line's values."""
    errs = []
    for name in ORDER:
        s, want = scans[name], SCANS[name]

        def expect(key, got, exp):
            if got != exp:
                errs.append(f"{label}: scan {name}: {key} = {got!r}, expected {exp!r}")
        expect("targets", sorted(tokens(s.get("targets"))), sorted(want["targets"]))
        expect("ports", sorted(model_ports(",".join(tokens(s.get("ports"))))),
               sorted(model_ports(want["ports"])))
        expect("rate", str(s.get("rate")), overrides.get("rate", want["rate"]))
        expect("seed", str(s.get("seed")), overrides.get("seed", "12345"))
        expect("dry-run", as_bool(s.get("dry-run")), True)
        expect("no-default-blocklist", as_bool(s.get("no-default-blocklist")), True)
        expect("exclude", sorted(tokens(s.get("exclude"))),
               sorted(overrides.get("exclude", DEFAULT_EXCLUDE)))
        if name == "mail_x":
            expect("exclude-file", tokens(s.get("exclude-file")), ["excl.txt"])
        if name == "ssh.v2" or "report" in overrides:
            expect("report", str(s.get("report")), overrides.get("report", "open,closed"))
        expect("summary", str(s.get("summary")),
               substituted(overrides.get("summary", "{scan}-summary.json"), name))
        expect("checkpoint", str(s.get("checkpoint")), f"ck-{name}.txt")
        expect("outputs", sorted(outputs_of(s)), sorted(want["files"]))
        for k, v in s.items():
            if "{scan}" in json.dumps(v):
                errs.append(f"{label}: scan {name}: {k} still holds '{{scan}}': {v!r}")
    return errs


def check_results(work, name, seed):
    """One scan's files and summary against the ipaddress model."""
    errs = []
    want = SCANS[name]
    addrs = model_addresses(want["targets"], want["exclude"])
    ports = model_ports(want["ports"])
    pairs = {(a, p) for a in addrs for p in ports}
    for fmt_, fname in want["files"]:
        path = os.path.join(work, fname)
        if not os.path.exists(path):
            errs.append(f"scan {name}: {fname} was not written")
            continue
        try:
            if fmt_ == "csv":
                header, rows = read_csv(path)
                check("ip" in header and "port" in header, f"{fname}: csv header {header}")
                got = [(r.get("ip"), int(r.get("port", 0))) for r in rows]
            elif fmt_ == "ndjson":
                got = [(o.get("ip"), o.get("port")) for o in read_ndjson(path)]
            else:
                head, body, foot = read_list(path)
                check(head == "#masscan" and foot == "# end",
                      f"{fname}: list header/footer {head!r}/{foot!r}")
                got = [(ip, port) for _, port, ip, _ in body]
        except Failure as e:
            errs.append(f"scan {name}: {e}")
            continue
        if len(got) != len(set(got)):
            errs.append(f"scan {name}: {fname}: {len(got) - len(set(got))} pairs written twice")
        errs += diff_sets(f"scan {name}: {fname} vs ipaddress model", pairs, set(got))
    spath = os.path.join(work, f"{name}-summary.json")
    try:
        s = json.load(open(spath))
    except (OSError, ValueError) as e:
        return errs + [f"scan {name}: summary {spath}: {e}"]

    def expect(key, got, exp):
        if got != exp:
            errs.append(f"scan {name}: summary {key} = {got!r}, expected {exp!r}")
    expect("scan", s.get("scan"), name)
    expect("dry_run", s.get("dry_run"), True)
    expect("seed", s.get("seed"), seed)
    expect("sent", s.get("sent"), len(pairs))
    expect("probes", s.get("probes"), len(pairs))
    for k in ("start_time", "end_time"):
        if not isinstance(s.get(k), (int, float)):
            errs.append(f"scan {name}: summary has no numeric {k}: {s.get(k)!r}")
    plan = s.get("plan")
    if not isinstance(plan, dict):
        return errs + [f"scan {name}: summary has no plan object"]
    for k in ("targets", "ports", "seed"):
        if k not in plan:
            errs.append(f"scan {name}: summary plan has no {k!r}")
    if "seed" in plan:
        expect("plan.seed", plan["seed"], seed)
    rate = plan.get("rate", plan.get("rate_pps"))
    if rate is None or str(rate) != want["rate"]:
        errs.append(f"scan {name}: summary plan rate {rate!r}, expected {want['rate']}")
    if "ports" in plan:
        expect("plan.ports", model_ports(",".join(tokens(plan["ports"]))), ports)
    if "targets" in plan:
        try:
            got_addrs = model_addresses(tokens(plan["targets"]))
        except ValueError as e:
            errs.append(f"scan {name}: plan.targets unreadable ({e}): {plan['targets']!r}")
        else:
            if got_addrs != addrs:
                errs.append(f"scan {name}: plan.targets {plan['targets']!r} hold {len(got_addrs)} "
                            f"addresses, expected the {len(addrs)} targets after exclusions")
    print(f"  scan {name}: {len(pairs)} pairs in {len(want['files'])} files and the summary "
          f"{'ok' if not errs else 'FAIL'}")
    return errs


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-campaign-rt.")
    try:
        rich = os.path.join(work, "rich.yaml")
        with open(rich, "w") as f:
            f.write(RICH)
        with open(os.path.join(work, "excl.txt"), "w") as f:
            f.write(EXCL)
        base = listing(work)

        # 1. print, check, feed back
        first = print_config(work, ["-c", rich], "print-config")
        check(listing(work) == base, f"--print-config wrote files: {listing(work)}")
        errors += check_printed(parse_printed(first, "print-config"), {}, "print-config")
        roundtrip(work, first, "print-config")
        print("  --print-config: merged keys ok, fed back identical" if not errors else
              "  --print-config: FAIL")

        # 2. command-line overrides
        cli = ["--rate", "777", "--seed", "99", "--report", "open,closed", "--exclude",
               "198.18.0.0/30", "--summary", "cli-{scan}.json"]
        over = print_config(work, ["-c", rich] + cli, "overrides")
        check(listing(work) == base, f"--print-config wrote files: {listing(work)}")
        n = len(errors)
        errors += check_printed(parse_printed(over, "overrides"),
                                {"rate": "777", "seed": "99", "report": "open,closed",
                                 "exclude": ["198.18.0.0/30"], "summary": "cli-{scan}.json"},
                                "overrides")
        roundtrip(work, over, "overrides")
        print("  command-line overrides: ok, fed back identical" if len(errors) == n else
              "  command-line overrides: FAIL")

        # 3. the dry-run campaign, with the seed from the command line
        seed = 4242
        p = run([DPSCAN, "-c", rich, "--seed", str(seed)], cwd=work, timeout=120)
        check(p.returncode == 0, f"dry-run campaign exited {p.returncode}: {p.stderr.strip()[-1500:]}")
        check(not crash_text(p.stderr), f"crash on stderr: {p.stderr[-1500:]}")
        for name in ORDER:
            errors += check_results(work, name, seed)
        expected_files = set(base)
        for name in ORDER:
            expected_files |= {f for _, f in SCANS[name]["files"]}
            expected_files.add(f"{name}-summary.json")
            expected_files.add(f"ck-{name}.txt")  # a checkpoint may or may not be written
        extra = set(listing(work)) - expected_files
        if extra:
            errors.append(f"dry-run campaign wrote unexpected files: {sorted(extra)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main(NAME, body, needs_root=False)
