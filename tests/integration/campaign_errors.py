#!/usr/bin/python3
"""campaign_errors.py - malformed campaigns (-c FILE.yaml) are refused before anything runs.

Each fixture tests/integration/campaigns/bad_*.yaml says in its comments what is wrong and
where: `# expect: L:C[|L:C...] key=KEY` lists the accepted 1-based positions (the offending
key or value node; "*" as column: any) and the key the message must name ("-": a YAML
syntax error, no key). The fixtures are valid campaigns apart from that one error, most in
a later scan than the first, with dry-run scans writing outputs and summaries to the
working directory. For each fixture (copied into a fresh directory, dpscan run there):
  - exit code 2, stdout empty, stderr exactly one line "dpscan: error: FILE:L:C: ..." with
    one of the accepted positions, naming the key;
  - nothing ran: no file appeared (neither next to the campaign nor in the working
    directory), no "dry run"/"scanning" progress on stderr;
  - the fixture is honest: PyYAML loads it (or, for syntax errors, reports the problem at
    one of the stated positions).
A zero-byte campaign is tried too. The fixture marked `# netns: IFACE` (bad_target.yaml)
configures a real scan in its first scan; it runs in a throwaway network namespace holding a
veth pair IFACE/peer, and the packet counters of both ends must not move. A control run (a
real 16-probe scan with the same device, in the same namespace) must move them, which proves
the counters would see a campaign that sent before validating.
Also: every category of the issue has its fixture (the list below), at least 12 fixtures.
Exit 0 pass, 1 fail, 77 skip (the netns part needs root). Env: DPSCAN, SRCDIR.
"""
import glob
import json
import os
import re
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import (DPSCAN, HERE, Failure, Netns, check, crash_text, main,  # noqa: E402
                             run, show)

NAME = "dry_run_campaign_errors"
FIXTURES = os.path.join(HERE, "campaigns")
# One fixture per category of the issue (and a few more); all must be present.
REQUIRED = {
    "bad_unknown_top_key.yaml": "unknown top-level key",
    "bad_unknown_scan_key.yaml": "unknown scan key",
    "bad_abbreviated_key.yaml": "abbreviated option name as a key",
    "bad_scans_not_sequence.yaml": "scans not a sequence",
    "bad_scans_empty.yaml": "scans an empty sequence",
    "bad_scans_missing.yaml": "no scans",
    "bad_scan_not_map.yaml": "scan not a map",
    "bad_missing_name.yaml": "missing name",
    "bad_duplicate_name.yaml": "duplicate name",
    "bad_name_chars.yaml": "name with a bad character",
    "bad_switch_string.yaml": "switch given a string",
    "bad_map_for_scalar.yaml": "map where a scalar is needed",
    "bad_list_for_scalar.yaml": "list for a single-valued option",
    "bad_ports.yaml": "bad port list",
    "bad_target.yaml": "bad target address (and the device check)",
    "bad_rate.yaml": "bad rate",
    "bad_output_format.yaml": "unknown output format",
    "bad_syntax_indent.yaml": "YAML syntax error: bad indentation",
    "bad_syntax_bracket.yaml": "YAML syntax error: unclosed bracket",
    "bad_empty.yaml": "empty file",
}
EXPECT = re.compile(r"^# expect: (\S+) key=(\S+)\s*$", re.M)
NETNS = re.compile(r"^# netns: (\S+)\s*$", re.M)
TRY_HELP = "Try 'dpscan --help' for more information."


def parse_fixture(path):
    text = open(path).read()
    m = EXPECT.search(text)
    check(m, f"{path}: no '# expect: L:C key=K' comment")
    positions = []
    for pos in m.group(1).split("|"):
        line, col = pos.split(":")
        positions.append((int(line), None if col == "*" else int(col)))
    key = None if m.group(2) == "-" else m.group(2)
    n = NETNS.search(text)
    return positions, key, (n.group(1) if n else None)


def fixture_is_honest(path, positions, key):
    """The fixture's own claim, checked with PyYAML (independent of dpscan)."""
    try:
        yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        check(key is None, f"{os.path.basename(path)}: fixture is not valid YAML ({e}) but "
              "expects a semantic error")
        pm = e.problem_mark
        got = (pm.line + 1, pm.column + 1)
        check(any(got == (l, c) or (c is None and got[0] == l) for l, c in positions),
              f"{os.path.basename(path)}: PyYAML finds the syntax error at {got}, the fixture "
              f"says {positions}")
        return
    check(key is not None, f"{os.path.basename(path)}: expects a YAML syntax error, but PyYAML "
          "loads it")


def snapshot(d):
    out = set()
    for root, dirs, files in os.walk(d):
        for f in files + dirs:
            out.add(os.path.relpath(os.path.join(root, f), d))
    return out


def check_error(label, path, positions, key, p):
    """The one error line: exit 2, FILE:L:C at an accepted position, the key named."""
    errs = []
    if p.returncode != 2:
        errs.append(f"{label}: exit {p.returncode}, expected 2 (usage/config error); "
                    f"stderr: {p.stderr.strip()[-600:]!r}")
    c = crash_text(p.stderr)
    if c:
        errs.append(f"{label}: crash ({c}) on stderr: {p.stderr[-1500:]}")
    # One error line; the only other line allowed is the usage hint every usage error of
    # dpscan ends with (as in bad_input.sh).
    lines = [l for l in p.stderr.splitlines() if l.strip() and l != TRY_HELP]
    if len(lines) != 1 or not lines[0].startswith("dpscan: error: "):
        errs.append(f"{label}: stderr should be one line 'dpscan: error: ...' (and the usage "
                    f"hint), got: {p.stderr.strip()[:800]!r}")
    msg = lines[0] if lines else ""
    if p.stdout:
        errs.append(f"{label}: stdout not empty: {p.stdout[:300]!r}")
    found = [(int(m.group(1)), int(m.group(2)))
             for m in re.finditer(re.escape(path) + r":(\d+):(\d+)", msg)]
    if not found:
        errs.append(f"{label}: no '{path}:LINE:COL' in the error: {msg!r}")
    else:
        ok = any(f == (l, c) or (c is None and f[0] == l) for f in found for l, c in positions)
        if not ok:
            want = " or ".join(f"{l}:{c if c is not None else '*'}" for l, c in positions)
            errs.append(f"{label}: error at {':'.join(map(str, found[0]))}, expected {want}: "
                        f"{msg!r}")
    if key is not None and key.lower() not in msg.lower():
        errs.append(f"{label}: the error does not name the key '{key}': {msg!r}")
    if key is None and "yaml" not in msg.lower() and "syntax" not in msg.lower():
        errs.append(f"{label}: a YAML syntax error should say so: {msg!r}")
    for word in ("dry run:", "scanning "):
        if word in p.stderr:
            errs.append(f"{label}: something started ({word!r} on stderr)")
    return errs


def run_fixture(src, work):
    """Copies the fixture into work/cfg, runs dpscan in work/run; returns problems."""
    base = os.path.basename(src)
    positions, key, netns_iface = parse_fixture(src)
    fixture_is_honest(src, positions, key)
    cfgdir, rundir = os.path.join(work, "cfg"), os.path.join(work, "run")
    os.makedirs(cfgdir)
    os.makedirs(rundir)
    path = os.path.join(cfgdir, base)
    shutil.copyfile(src, path)
    if netns_iface:
        return run_in_netns(base, path, positions, key, netns_iface, cfgdir, rundir)
    p = run([DPSCAN, "-c", path], cwd=rundir, timeout=60)
    errs = check_error(base, path, positions, key, p)
    errs += nothing_written(base, cfgdir, rundir)
    return errs


def nothing_written(label, cfgdir, rundir):
    errs = []
    left = snapshot(rundir)
    if left:
        errs.append(f"{label}: files were written in the working directory: {sorted(left)}")
    extra = snapshot(cfgdir) - {label}
    if extra:
        errs.append(f"{label}: files were written next to the campaign: {sorted(extra)}")
    return errs


def link_counters(ns, iface):
    out = ns.exec(["ip", "-s", "-j", "link", "show", iface], check_rc=0).stdout
    st = json.loads(out)[0]["stats64"]
    return st["tx"]["packets"], st["rx"]["packets"]


def run_in_netns(label, path, positions, key, iface, cfgdir, rundir):
    """The device fixture: in a throwaway netns with veth iface/peer, not one packet."""
    errs = []
    peer = iface[:-1] + "p" if iface[-1] != "p" else iface + "q"
    with Netns("dpcfg") as ns:
        ns.exec(["ip", "link", "add", iface, "type", "veth", "peer", "name", peer], check_rc=0)
        for i in (iface, peer):
            ns.exec(["ip", "link", "set", i, "up"], check_rc=0)
        before = link_counters(ns, iface), link_counters(ns, peer)
        p = ns.exec([DPSCAN, "-c", path], cwd=rundir, timeout=60)
        errs += check_error(label + " (netns)", path, positions, key, p)
        errs += [e.replace(label, label + " (netns)", 1)
                 for e in nothing_written(label, cfgdir, rundir)]
        after = link_counters(ns, iface), link_counters(ns, peer)
        if after != before:
            errs.append(f"{label}: packets moved on the veth pair while the campaign was refused: "
                        f"{iface} tx {before[0][0]}->{after[0][0]}, {peer} rx "
                        f"{before[1][1]}->{after[1][1]}")
        # Control: the same device in a valid real scan of 16 probes moves the counters.
        ctl = [DPSCAN, "-q", "--no-default-blocklist", "198.18.0.0/28", "-p", "80",
               "--device", f"net_af_packet0,iface={iface}", "--source-ip", "198.19.255.2",
               "--gateway-mac", "02:00:00:00:00:01", "--rate", "1000", "--cooldown", "1",
               "-o", os.devnull]
        c = ns.exec(ctl, cwd=rundir, timeout=60)
        final = link_counters(ns, iface), link_counters(ns, peer)
        if c.returncode != 0:
            errs.append(f"{label}: control scan failed (exit {c.returncode}): {show(ctl)}: "
                        f"{c.stderr.strip()[-600:]}")
        elif final[0][0] - after[0][0] < 16 or final[1][1] - after[1][1] < 16:
            errs.append(f"{label}: control scan of 16 probes: {iface} tx +{final[0][0] - after[0][0]}"
                        f", {peer} rx +{final[1][1] - after[1][1]} (the counters cannot see a send)")
        else:
            print(f"  {label}: veth counters unchanged while refused; control scan moved them "
                  f"by {final[0][0] - after[0][0]} packets")
    return errs


def body():
    errors = []
    fixtures = sorted(glob.glob(os.path.join(FIXTURES, "bad_*.yaml")))
    names = {os.path.basename(f) for f in fixtures}
    missing = sorted(set(REQUIRED) - names)
    if missing:
        errors.append(f"fixtures missing: {missing}")
    if len(fixtures) < 12:
        errors.append(f"only {len(fixtures)} fixtures (at least 12 expected)")
    if not any(NETNS.search(open(f).read()) for f in fixtures):
        errors.append("no fixture with a device (# netns: IFACE)")
    before_src = snapshot(FIXTURES)
    top = tempfile.mkdtemp(prefix="dpscan-campaign-errors.")
    try:
        for n, src in enumerate(fixtures):
            work = os.path.join(top, str(n))
            try:
                errs = run_fixture(src, work)
            except Failure as e:
                errs = [f"{os.path.basename(src)}: {e}"]
            print(f"  {os.path.basename(src)}: {'ok' if not errs else 'FAIL'} "
                  f"({REQUIRED.get(os.path.basename(src), 'extra')})", flush=True)
            errors += errs
        # A zero-byte file: no node at all, the error is at 1:1 and is about 'scans'.
        work = os.path.join(top, "zero")
        os.makedirs(os.path.join(work, "run"))
        os.makedirs(os.path.join(work, "cfg"))
        path = os.path.join(work, "cfg", "empty.yaml")
        open(path, "w").close()
        p = run([DPSCAN, "-c", path], cwd=os.path.join(work, "run"), timeout=60)
        errs = check_error("zero-byte file", path, [(1, 1)], "scans", p)
        errs += nothing_written("empty.yaml", os.path.join(work, "cfg"), os.path.join(work, "run"))
        print(f"  zero-byte file: {'ok' if not errs else 'FAIL'}")
        errors += errs
    finally:
        shutil.rmtree(top, ignore_errors=True)
    if snapshot(FIXTURES) != before_src:
        errors.append(f"files appeared in {FIXTURES}: {sorted(snapshot(FIXTURES) - before_src)}")
    return errors


if __name__ == "__main__":
    main(NAME, body)
