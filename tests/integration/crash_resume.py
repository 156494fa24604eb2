#!/usr/bin/env /usr/bin/python3
"""crash_resume.py - a lab scan killed with SIGKILL at 20 random moments and resumed from its
checkpoint loses nothing: every time, the union of the two runs' results equals the lab's
truth (open, closed, unreachable) exactly.

Each round: 198.18.0.0/19 x 22,80,443 (24,576 probes) at 40 kpps through net_af_packet with
--checkpoint (every 0.2 s) and --cooldown 1, killed -9 at a random moment between start-up
and the end of the cooldown; then --resume from the checkpoint (a fresh run with the same
--seed if none had been written yet) to the end. A checkpoint taken at the moment of writing
loses the answers to the probes sent just before it when the process dies before the next
flush; checkpoints one cooldown behind (engine/progress_history.hpp) lose none. The second
run sends the last window again, so pairs may be in both files; each file holds a pair once.

Variants (meson runs each): --tx-lcores N and --retries N are given to every run (the
checkpoint then holds one position per TX lcore; with retries each target is probed again
later in the scan); --while-sending kills only while probes go out: at a random moment
between the run's "scanning" line and the end of its sending (the uninterrupted run's
send_duration_s), never in the cooldown; --rounds N (default 20, or $CRASH_ROUNDS).
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, LAB."""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Lab, check, main, read_csv, run  # noqa: E402

TARGETS, PORTS, RATE, STATUSES = "198.18.0.0/19", "22,80,443", 40000, "open,closed,unreachable"

ap = argparse.ArgumentParser()
ap.add_argument("--tx-lcores", type=int, default=1)
ap.add_argument("--retries", type=int, default=0)
ap.add_argument("--while-sending", action="store_true")
ap.add_argument("--rounds", type=int, default=int(os.environ.get("CRASH_ROUNDS", "20")))
ARGS = ap.parse_args()
ROUNDS = ARGS.rounds


def wait_for_line(path, text, proc, deadline):
    """Seconds (monotonic) when `text` appeared in the file `path`, or None (proc ended)."""
    while time.monotonic() < deadline:
        with open(path) as f:
            if text in f.read():
                return time.monotonic()
        if proc.poll() is not None:
            return None
        time.sleep(0.005)
    return None


def rows_of(path):
    if not os.path.exists(path):
        return []
    _, rows = read_csv(path)
    if rows and "_bad" in rows[-1]:
        rows.pop()  # a record cut off by the kill
    return rows


def body():
    rng = random.Random(os.environ.get("CRASH_SEED") or os.getpid())
    work = tempfile.mkdtemp(prefix="dpscan-crash.")
    errors = []
    try:
        with Lab("cr") as lab:
            truth = {(ip, port, st) for (ip, port), st in lab.truth(TARGETS, PORTS, STATUSES).items()}

            def cmd(*extra):
                return lab.scan_cmd("--no-default-blocklist", TARGETS, "-p", PORTS, "--rate", RATE,
                                    "--cooldown", 1, "--device", lab.device(), "--source-ip",
                                    lab.env["LAB_SRC_IP"], "--gateway-ip", lab.env["LAB_GW_IP"],
                                    "--report", STATUSES, "--status-format", "none",
                                    "--tx-lcores", ARGS.tx_lcores, "--retries", ARGS.retries,
                                    *extra)

            # An uninterrupted run first: exact, and how long a run takes here (start-up,
            # ~0.6 s of sending, the cooldown), the span the kills are spread over.
            t0 = time.monotonic()
            full, full_json = os.path.join(work, "full.csv"), os.path.join(work, "full.json")
            run(cmd("-o", full, "--summary", full_json), timeout=120, check_rc=0)
            span = time.monotonic() - t0
            sending = json.load(open(full_json))["send_duration_s"]
            got = {(r["ip"], int(r["port"]), r["status"]) for r in rows_of(full)}
            check(got == truth, f"the uninterrupted run: {len(truth - got)} missing, "
                                f"{len(got - truth)} extra")
            print(f"uninterrupted ({ARGS.tx_lcores} TX lcore(s), --retries {ARGS.retries}): "
                  f"{len(got)} results = truth, {span:.2f} s, {sending:.2f} s of sending",
                  flush=True)
            for i in range(ROUNDS):
                ck, out1, out2 = (os.path.join(work, f"{i}.{x}") for x in ("ckpt", "1.csv", "2.csv"))
                seed = rng.randrange(1, 2**63)
                # --while-sending: seconds after the "scanning" line, within the sending.
                when = (rng.uniform(0.02, sending * 0.9) if ARGS.while_sending
                        else rng.uniform(0.3, span - 0.15))
                log1 = os.path.join(work, f"{i}.1.log")
                # A run faster than the uninterrupted one may end before its moment: then the
                # round is run again with an earlier one (it tested nothing).
                for _attempt in range(4):
                    for f in (ck, out1):
                        if os.path.exists(f):
                            os.unlink(f)
                    with open(log1, "w") as log:
                        p = subprocess.Popen(cmd("--seed", seed, "--checkpoint", ck,
                                                 "--checkpoint-interval", 0.2, "-o", out1),
                                             stdout=subprocess.DEVNULL, stderr=log)
                    if ARGS.while_sending:
                        began = wait_for_line(log1, "scanning ", p, time.monotonic() + 60)
                        if began is not None:
                            time.sleep(max(0.0, began + when - time.monotonic()))
                    else:
                        time.sleep(when)
                    p.send_signal(signal.SIGKILL)
                    p.wait(timeout=30)
                    err1 = open(log1).read()
                    if p.returncode == -signal.SIGKILL:
                        break
                    when = (rng.uniform(0.02, max(0.03, when / 2)) if ARGS.while_sending
                            else rng.uniform(0.3, max(0.35, when - 0.3)))
                first = rows_of(out1)
                resumed = os.path.exists(ck)
                second_args = ("--resume", ck) if resumed else ("--seed", seed)
                p2 = run(cmd(*second_args, "--checkpoint", ck, "--summary",
                             os.path.join(work, f"{i}.json"), "-o", out2), timeout=120)
                if p2.returncode != 0:
                    errors.append(f"round {i}: the second run exited {p2.returncode}: "
                                  f"{p2.stderr[-800:]}")
                    continue
                second = rows_of(out2)
                s = json.load(open(os.path.join(work, f"{i}.json")))
                got1 = {(r["ip"], int(r["port"]), r["status"]) for r in first}
                got2 = {(r["ip"], int(r["port"]), r["status"]) for r in second}
                union = got1 | got2
                missing, extra = truth - union, union - truth
                print(f"round {i}: killed at {when:.2f} s (exit {p.returncode}); first run "
                      f"{len(got1)} results, {'resumed' if resumed else 'no checkpoint yet: rerun'}"
                      f" with {len(got2)} (sent {s['sent']}), in both {len(got1 & got2)}; union "
                      f"{len(union)} of {len(truth)}: {len(missing)} missing, {len(extra)} extra",
                      flush=True)
                if p.returncode != -signal.SIGKILL:
                    errors.append(f"round {i}: the first run ended by itself ({p.returncode}) "
                                  f"before the kill at {when:.2f} s: {err1[-300:]}")
                if len(got1) != len(first) or len(got2) != len(second):
                    errors.append(f"round {i}: a pair reported twice within one run")
                if missing or extra:
                    errors.append(f"round {i} (kill at {when:.2f} s): {len(missing)} missing "
                                  f"(e.g. {sorted(missing)[:3]}), {len(extra)} extra "
                                  f"(e.g. {sorted(extra)[:3]})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main("crash_resume", body)
