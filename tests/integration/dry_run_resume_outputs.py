#!/usr/bin/python3
"""dry_run_resume_outputs.py - running the same command again never destroys results.

A dry run (198.18.0.0/16 x 80,443 = 131,072 pairs) writes csv (-o) and masscan's list format
(--output-spec) to files, with --checkpoint, and ndjson to standard output, which this test
reads slowly (a pipe: dpscan cannot run ahead of it), so the SIGINT after 3,000 records
lands mid-run:
  resume   the same command with --resume: every file still starts with exactly what the
           first run wrote (nothing truncated), then holds the rest: one csv header, one
           "#masscan", every pair of the plan at least once (the checkpoint's last window
           may be in both runs), nothing else
  again    the first command again while its checkpoint exists: exit 2, a message naming
           --resume and --force, every file unchanged
  force    the first command with --force: a fresh run, each pair exactly once
  xml      an interrupted run with nmap XML, resumed: exit 2 (an XML document cannot be
           appended to), the file unchanged; with --force it is overwritten, well-formed
Env: DPSCAN, SRCDIR. Exit 0 pass, 1 fail.
"""
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")
TARGETS, PORTS = "198.18.0.0/16", (80, 443)
WANT = {(str(a), p) for a in ipaddress.ip_network(TARGETS) for p in PORTS}
errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL: " + msg)


def base(work, *outputs):
    return [DPSCAN, "--dry-run", "--no-default-blocklist", TARGETS, "-p", "80,443", "--rate", "20000",
            "--seed", "5", "--status-format", "none", "--checkpoint-interval", "0.05", "--checkpoint", os.path.join(work, "cp")] + list(outputs)


def interrupted(cmd, records=3000):
    """Runs cmd, reading its standard output slowly; SIGINT after `records` lines."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(records):
        if not p.stdout.readline():
            break
        time.sleep(0.00005)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    if p.returncode != 130:
        fail(f"interrupted run: exit {p.returncode}, want 130: {err[-300:]}")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def snapshot(paths):
    return {p: open(p, "rb").read() for p in paths}


def pairs(path, kind):
    lines = open(path).read().splitlines()
    if kind == "csv":
        if lines.count("ip,port") != 1 or lines[0] != "ip,port":
            fail(f"{path}: {lines.count('ip,port')} csv headers (want one, first)")
        return [tuple(l.split(",")) for l in lines[1:]]
    if kind == "list":
        heads = sum(1 for l in lines if l == "#masscan")
        if heads != 1 or lines[0] != "#masscan":
            fail(f"{path}: {heads} '#masscan' lines (want one, first)")
        return [(l.split()[3], l.split()[2]) for l in lines if not l.startswith("#")]
    return [(o["ip"], str(o["port"])) for o in map(json.loads, lines)]


def as_set(ps):
    return {(ip, int(port)) for ip, port in ps}


def main():
    work = tempfile.mkdtemp(prefix="dry_run_resume_outputs.")
    try:
        files = {os.path.join(work, "out.csv"): "csv", os.path.join(work, "out.txt"): "list"}
        outs = ["-o", os.path.join(work, "out.csv"), "--output-spec", "list:" + os.path.join(work, "out.txt"),
                "--output-spec", "ndjson:-"]
        first = base(work, *outs)
        interrupted(first)
        before = snapshot(files)
        n1 = len(pairs(os.path.join(work, "out.csv"), "csv"))
        if not 0 < n1 < len(WANT):
            fail(f"the interrupted run wrote {n1} of {len(WANT)} pairs: not a partial run")

        # again: refused, nothing touched
        p = run(first)
        if p.returncode != 2 or "--resume" not in p.stderr or "--force" not in p.stderr:
            fail(f"the same command again: exit {p.returncode}, {p.stderr.strip()!r}")
        elif snapshot(files) != before:
            fail("the refused run changed an output")
        else:
            print(f"ok: the same command again is refused: {p.stderr.splitlines()[0]}")

        # resume: appended
        p = run(first + ["--resume", os.path.join(work, "cp")])
        if p.returncode != 0:
            fail(f"--resume: exit {p.returncode}: {p.stderr[-300:]}")
        for path, kind in files.items():
            data = open(path, "rb").read()
            if not data.startswith(before[path]):
                fail(f"{path}: the first run's {len(before[path])} bytes are not kept at its start")
            got = pairs(path, kind)
            if as_set(got) != WANT:
                fail(f"{kind}: {len(WANT - as_set(got))} pairs missing, {len(as_set(got) - WANT)} unexpected")
            else:
                print(f"ok: {kind} after --resume: the first run's {len(before[path])} bytes kept, all "
                      f"{len(WANT)} pairs ({len(got) - len(WANT)} repeated from the last window)")

        # force: a fresh run
        p = run(first + ["--force"])
        got = pairs(os.path.join(work, "out.csv"), "csv")
        if p.returncode != 0 or len(got) != len(WANT) or as_set(got) != WANT:
            fail(f"--force: exit {p.returncode}, {len(got)} pairs, {p.stderr[-200:]}")
        else:
            print("ok: --force starts afresh, each pair once")

        # xml cannot be appended to
        xml = os.path.join(work, "out.xml")
        os.unlink(os.path.join(work, "cp"))
        xcmd = base(work, "--output-spec", "xml:" + xml, "--output-spec", "ndjson:-")
        interrupted(xcmd)
        x_before = open(xml, "rb").read()
        p = run(xcmd + ["--resume", os.path.join(work, "cp")])
        if p.returncode != 2 or "XML" not in p.stderr or open(xml, "rb").read() != x_before:
            fail(f"--resume with XML: exit {p.returncode}, {p.stderr.strip()!r} (file kept: "
                 f"{open(xml, 'rb').read() == x_before})")
        else:
            print(f"ok: --resume with XML output is refused: {p.stderr.splitlines()[0]}")
        p = run(xcmd + ["--resume", os.path.join(work, "cp"), "--force"])
        try:
            ET.parse(xml)
            ok = p.returncode == 0
        except ET.ParseError as e:
            ok = False
            fail(f"--resume --force with XML: not well-formed: {e}")
        if not ok:
            fail(f"--resume --force with XML: exit {p.returncode}: {p.stderr[-200:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"dry_run_resume_outputs: {len(errors)} failures")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
