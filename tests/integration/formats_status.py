#!/usr/bin/python3
"""formats_status.py - the machine-readable status (--status-format ndjson) and write failures.

Real scans here use DPDK's net_null0 device inside a throwaway network namespace: net_null
has no wire (what it "sends" is freed, what it "receives" is a flood of empty frames, which
dpscan must count as drops), so nothing reaches any interface; targets are in 198.18.0.0/15.
  1. status: 198.18.0.0/20 x 80 at 1000 pps (about 4 s of sending) and a 2 s cooldown,
     --status-format ndjson: every stderr line is a JSON object or a "dpscan: " message (no
     text status line); one object per second (elapsed ~1 s apart, about as many objects
     as the run lasted); keys elapsed, percent, sent, rate_pps, received, open, drops;
     sent and percent never go back, percent = sent / probes (100 once all are sent),
     rate_pps ~1000 while sending, received and drops grow (net_null floods), open 0;
     the last sent = the summary's sent = 4096.
     With the default text format: status lines, no JSON. With -q: nothing on stderr.
  2. write failures: an output that cannot be written gives one "dpscan: error: ..." line
     naming it and exit 1 (run-time failure), no crash, no hang:
       dry run -o /dev/full; dry run --output-spec ndjson:/dev/full; dry run --summary
       /dev/full; real (net_null) scan --output-spec csv:/dev/full; and a closed pipe:
       `dpscan --dry-run ... -o - | head -1` (dpscan must stop with an error, not run on,
       not die silently of SIGPIPE).
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, SRCDIR.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import (DPSCAN, Netns, check, crash_text, main, run,  # noqa: E402
                             show)

NAME = "dry_run_formats_status"
TARGETS, NPROBES, RATE, COOLDOWN = "198.18.0.0/20", 4096, 1000, 2
NULL = ["--device", "net_null0", "--source-ip", "198.19.255.2", "--gateway-mac",
        "02:00:00:00:00:01", "--no-default-blocklist"]
TEXT_STATUS = re.compile(r"^dpscan: \d+:\d\d:\d\d ")
TRY_HELP = "Try 'dpscan --help' for more information."


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def status_ndjson(ns, work):
    errs = []
    summary = os.path.join(work, "status-summary.json")
    cmd = [DPSCAN] + NULL + [TARGETS, "-p", "80", "--rate", str(RATE), "--cooldown", str(COOLDOWN),
                             "--status-format", "ndjson", "-o", os.devnull, "--summary", summary]
    p = ns.exec(cmd, timeout=90)
    check(p.returncode == 0, f"status run: exit {p.returncode}: {show(cmd)}\n{p.stderr[-1500:]}")
    check(not crash_text(p.stderr), f"status run: crash on stderr: {p.stderr[-1500:]}")
    s = json.load(open(summary))
    objs = []
    for line in p.stderr.splitlines():
        if not line.strip():
            continue
        if line.startswith("{"):
            try:
                o = json.loads(line)
            except ValueError as e:
                errs.append(f"status line is not JSON ({e}): {line!r}")
                continue
            if not isinstance(o, dict):
                errs.append(f"status line is not a JSON object: {line!r}")
                continue
            objs.append(o)
        elif TEXT_STATUS.match(line):
            errs.append(f"a text status line with --status-format ndjson: {line!r}")
        elif not line.startswith("dpscan: "):
            errs.append(f"stderr line that is neither JSON nor a dpscan message: {line!r}")
    # The last record is the final one: the figures at the end of the run, every counter
    # equal to the summary's (one counter table feeds both).
    finals = [o for o in objs if o.get("final") is True]
    if len(finals) != 1 or objs[-1] is not finals[0]:
        errs.append(f"{len(finals)} final status records, expected exactly one, the last")
    else:
        fin = objs.pop()
        diff = {k: (v, s.get(k, s["dropped"].get(k))) for k, v in fin["counters"].items()
                if v != s.get(k, s["dropped"].get(k))}
        if diff:
            errs.append(f"final status record and summary disagree (status, summary): {diff}")
        if fin["drops"] != s["dropped_total"] or sum(s["dropped"].values()) != s["dropped_total"]:
            errs.append(f"drops: final status {fin['drops']}, summary dropped_total "
                        f"{s['dropped_total']}, sum of dropped {sum(s['dropped'].values())}")
    duration = s["end_time"] - s["start_time"]
    print(f"  status ndjson: {len(objs)} objects in a run of {duration:.2f} s; first: "
          f"{json.dumps(objs[0]) if objs else '-'}")
    if not (int(duration) - 1 <= len(objs) <= duration + 1) or len(objs) < 4:
        errs.append(f"{len(objs)} status objects for a run of {duration:.2f} s (one a second)")
    if not objs:
        return errs
    for k in ("elapsed", "percent", "sent", "rate_pps", "received", "open"):
        bad = [o.get(k) for o in objs if not num(o.get(k))]
        if bad:
            errs.append(f"status key {k!r} missing or not a number: {bad[:3]}")
    if any("drops" not in o or not (num(o["drops"]) or isinstance(o["drops"], dict)) for o in objs):
        errs.append(f"status key 'drops' missing or not a number/object: {objs[0].get('drops')!r}")
    if errs:
        return errs
    prev = None
    for i, o in enumerate(objs):
        where = f"status object {i + 1} {json.dumps(o)}"
        if prev is None:
            if not 0.5 <= o["elapsed"] <= 1.6:
                errs.append(f"{where}: first elapsed {o['elapsed']}, expected ~1 s")
        else:
            d = o["elapsed"] - prev["elapsed"]
            if not 0.5 <= d <= 1.6:
                errs.append(f"{where}: {d:.3f} s after the previous one (one a second)")
            for k in ("sent", "percent", "received"):
                if o[k] < prev[k]:
                    errs.append(f"{where}: {k} went back from {prev[k]}")
            # (A second in which the pacer forgave a stall - the CPU taken away - is not judged.)
            stalled = o.get("counters", {}).get("tx_pacing_forgiven") != \
                prev.get("counters", {}).get("tx_pacing_forgiven")
            if o["sent"] < NPROBES and prev["sent"] > 0 and not stalled and \
                    not 0.7 * RATE <= o["rate_pps"] <= 1.3 * RATE:
                errs.append(f"{where}: rate_pps {o['rate_pps']} while sending at {RATE} pps")
        if not 0 <= o["sent"] <= NPROBES:
            errs.append(f"{where}: sent out of 0..{NPROBES}")
        if not 0 <= o["percent"] <= 100 or abs(o["percent"] - 100.0 * o["sent"] / NPROBES) > 2:
            errs.append(f"{where}: percent {o['percent']} for {o['sent']}/{NPROBES} sent")
        if o["sent"] == NPROBES and o["percent"] < 99.99:
            errs.append(f"{where}: all {NPROBES} probes sent but percent {o['percent']} (not 100)")
        if o["open"] != 0:
            errs.append(f"{where}: open {o['open']} (net_null answers nothing)")
        drops = o["drops"] if num(o["drops"]) else sum(v for v in o["drops"].values() if num(v))
        if o["received"] > 0 and drops == 0:
            errs.append(f"{where}: received {o['received']} empty frames but no drops")
        prev = o
    if objs[-1]["sent"] != NPROBES or s.get("sent") != NPROBES:
        errs.append(f"last status sent {objs[-1]['sent']}, summary sent {s.get('sent')}, "
                    f"expected {NPROBES}")
    if objs[-1]["received"] > s.get("received", 0):
        errs.append(f"last status received {objs[-1]['received']} > summary {s.get('received')}")
    return errs[:15]


def status_text_and_quiet(ns):
    errs = []
    base = [DPSCAN] + NULL + ["198.18.0.0/22", "-p", "80", "--rate", str(RATE), "--cooldown", "1",
                              "-o", os.devnull]
    p = ns.exec(base, timeout=60)
    lines = p.stderr.splitlines()
    if p.returncode != 0:
        errs.append(f"text status run: exit {p.returncode}: {p.stderr[-800:]}")
    elif not any(TEXT_STATUS.match(l) for l in lines) or any(l.startswith("{") for l in lines):
        errs.append(f"default (text) status: expected text status lines and no JSON: "
                    f"{p.stderr[-800:]!r}")
    q = ns.exec(base + ["-q"], timeout=60)
    if q.returncode != 0:
        errs.append(f"quiet run: exit {q.returncode}: {q.stderr[-800:]}")
    elif q.stderr.strip():
        errs.append(f"-q ('print only errors') still prints on stderr: {show(base + ['-q'])}\n"
                    f"  {q.stderr.strip()[:600]!r}")
    print(f"  text status / -q: {'ok' if not errs else 'FAIL'}")
    return errs


def expect_write_error(label, p, path):
    errs = []
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    errl = [l for l in lines if l.startswith("dpscan: error: ")]
    if p.returncode != 1:
        errs.append(f"{label}: exit {p.returncode}, expected 1 (run-time failure); stderr "
                    f"{p.stderr.strip()[-600:]!r}")
    if crash_text(p.stderr):
        errs.append(f"{label}: crash: {p.stderr[-1200:]}")
    if len(errl) != 1:
        errs.append(f"{label}: {len(errl)} 'dpscan: error:' lines, expected one: "
                    f"{p.stderr.strip()[-600:]!r}")
    elif path and path not in errl[0]:
        errs.append(f"{label}: the error does not name {path}: {errl[0]!r}")
    print(f"  {label}: exit {p.returncode}: {errl[0] if errl else '(no error line)'}")
    return errs


def write_failures(ns, work):
    errs = []
    dry = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/20", "-p", "80,443"]
    errs += expect_write_error("dry run -o /dev/full", run(dry + ["-o", "/dev/full"], timeout=60),
                               "/dev/full")
    errs += expect_write_error("dry run --output-spec ndjson:/dev/full",
                               run(dry + ["-o", os.devnull, "--output-spec", "ndjson:/dev/full"],
                                   timeout=60), "/dev/full")
    errs += expect_write_error("dry run --summary /dev/full",
                               run(dry + ["-o", os.devnull, "--summary", "/dev/full"], timeout=60),
                               "/dev/full")
    real = [DPSCAN] + NULL + ["198.18.0.0/24", "-p", "80", "--rate", "2000", "--cooldown", "1",
                              "-o", os.devnull, "--output-spec", "csv:/dev/full"]
    errs += expect_write_error("net_null scan --output-spec csv:/dev/full",
                               ns.exec(real, timeout=60), "/dev/full")
    # A closed pipe: 2.6 million records, the reader takes one line and goes.
    err = os.path.join(work, "pipe.err")
    pipe_cmd = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/15", "-p", "1-20",
                "-o", "-"]
    script = f"{show(pipe_cmd)} 2>{show([err])} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    b = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, _ = b.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(b.pid, signal.SIGKILL)
        b.communicate()
        return errs + [f"closed pipe: dpscan still running after 60 s: {script}"]
    rc = int(out.strip().splitlines()[-1])
    stderr = open(err).read()
    p = subprocess.CompletedProcess(script, rc, "", stderr)
    if rc > 128:
        errs.append(f"closed pipe: dpscan died of signal {rc - 128} (SIGPIPE is 13) without an "
                    f"error message: {script}; stderr {stderr.strip()[-300:]!r}")
    else:
        errs += expect_write_error("closed pipe (-o - | head -1)", p, None)
    return errs


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-formats-status.")
    try:
        with Netns("dpst") as ns:
            errors += status_ndjson(ns, work)
            errors += status_text_and_quiet(ns)
            errors += write_failures(ns, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main(NAME, body)
