#!/usr/bin/python3
"""fsync_order.py - a checkpoint is never ahead of the outputs after a power loss
(docs/design.md, "What survives a crash or a power loss").

A power loss cannot be made here; the order of the system calls can be seen. Two parts:
  order  a dry run (198.18.0.0/18 x 80,443, --checkpoint every 0.1 s, csv to -o and
         masscan's list to --output-spec, both new files, and ndjson to standard output,
         read slowly so that the run takes seconds) under strace: before every
         rename of the checkpoint into place, each output had an fdatasync since the
         previous rename, and the outputs' directory had an fsync before the first one;
  torn   a run interrupted (SIGINT) leaves a checkpoint; a record torn by a crash (no
         newline) is appended to its csv; the resumed run (--resume) cuts it off with a
         warning: every line of the file is then a whole record, and the file holds every
         pair of the plan.
Env: DPSCAN, SRCDIR. Exit 0 pass, 1 fail, 77 skip (no strace).
"""
import csv
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
DPSCAN = os.environ.get("DPSCAN") or os.path.join(SRCDIR, "build", "src", "dpscan")
TARGETS, PORTS = "198.18.0.0/18", (80, 443)
WANT = {(str(a), p) for a in ipaddress.ip_network(TARGETS) for p in PORTS}
errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL: " + msg, flush=True)


def cmd(work, *extra):
    return [DPSCAN, "--dry-run", "--no-default-blocklist", TARGETS, "-p", "80,443", "--rate",
            "20000", "--seed", "5", "--status-format", "none", "--checkpoint-interval", "0.1",
            "--checkpoint", os.path.join(work, "cp"), "-o", os.path.join(work, "out.csv"),
            "--output-spec", "list:" + os.path.join(work, "out.list"),
            "--output-spec", "ndjson:-"] + list(extra)


def slowly(args, stop_after=None, env=None):
    """Runs args reading its standard output (ndjson) slowly, so that the dry run cannot run
    ahead of it; SIGINT after `stop_after` lines. Returns (exit status, standard error)."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    n = 0
    while p.stdout.readline():
        n += 1
        if stop_after and n == stop_after:
            p.send_signal(signal.SIGINT)
        time.sleep(0.0001)
    _, err = p.communicate(timeout=60)
    return p.returncode, err


CALL = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)')


def order(work):
    trace = os.path.join(work, "trace")
    # LeakSanitizer cannot run under ptrace (the sanitizer build's ASAN_OPTIONS ask for it)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))
    rc, err = slowly(["strace", "-f", "-qq", "-o", trace, "-e",
                      "trace=openat,close,fsync,fdatasync,rename,renameat,renameat2"] + cmd(work),
                     env=env)
    if rc != 0:
        return fail(f"order: the dry run exited {rc}: {err[-400:]}")
    outputs = {os.path.join(work, "out.csv"), os.path.join(work, "out.list")}
    fds = {}  # fd -> path (one process: its threads share the table)
    synced = set()  # outputs fdatasynced since the last checkpoint rename
    dir_synced = False
    renames, bad = 0, []
    for line in open(trace):
        m = CALL.match(line)
        if not m:
            continue
        call, args, rc = m.group(2), m.group(3), int(m.group(4))
        if call == "openat" and rc >= 0:
            fds[rc] = re.search(r'"([^"]*)"', args).group(1)
        elif call == "close":
            fds.pop(int(args.split(",")[0]), None)
        elif call in ("fdatasync", "fsync") and rc == 0:
            path = fds.get(int(args), "")
            if path in outputs:
                synced.add(path)
            if os.path.normpath(path) == os.path.normpath(work):
                dir_synced = True
        elif (call.startswith("rename") and rc == 0
              and re.findall(r'"([^"]*)"', args)[-1] == os.path.join(work, "cp")):
            renames += 1
            if synced != outputs or not dir_synced:
                bad.append(f"checkpoint {renames}: outputs synced before it {sorted(synced)}, "
                           f"directory synced {dir_synced}")
            synced = set()
    print(f"order: {renames} checkpoints renamed into place, {len(bad)} before their outputs "
          f"were durable", flush=True)
    if renames < 3:
        fail(f"order: only {renames} checkpoint renames seen in the trace")
    for b in bad[:5]:
        fail("order: " + b)


def torn(work):
    for f in ("cp", "out.csv", "out.list"):
        if os.path.exists(os.path.join(work, f)):
            os.unlink(os.path.join(work, f))
    rc, err = slowly(cmd(work), stop_after=3000)
    if rc != 130 or not os.path.exists(os.path.join(work, "cp")):
        return fail(f"torn: the interrupted run exited {rc}: {err[-300:]}")
    out = os.path.join(work, "out.csv")
    with open(out, "a") as f:
        f.write("198.18.63.25")  # a record cut off in the middle
    p = subprocess.run(cmd(work, "--resume", os.path.join(work, "cp")), capture_output=True,
                       text=True, timeout=120)  # standard output: read at once here
    if p.returncode != 0:
        return fail(f"torn: the resumed run exited {p.returncode}: {p.stderr[-300:]}")
    if "torn" not in p.stderr:
        fail(f"torn: no warning about the torn record: {p.stderr[-300:]}")
    rows = list(csv.reader(open(out)))
    header, body = rows[0], rows[1:]
    ip, port = header.index("ip"), header.index("port")
    broken = [r for r in body if len(r) != len(header)]
    got = {(r[ip], int(r[port])) for r in body if len(r) == len(header)}
    print(f"torn: {len(body)} records after the resume, {len(broken)} not whole, "
          f"{len(WANT - got)} of {len(WANT)} pairs missing", flush=True)
    if broken:
        fail(f"torn: {len(broken)} records not whole, e.g. {broken[:2]}")
    if WANT - got:
        fail(f"torn: {len(WANT - got)} pairs missing")


def main():
    if not shutil.which("strace"):
        print("fsync_order: SKIP (no strace)")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="dpscan-fsync.")
    try:
        order(work)
        torn(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fsync_order: {'FAIL' if errors else 'PASS'}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
