#!/usr/bin/python3
"""order_resume.py - interrupted and resumed dry runs lose nothing and repeat nothing.

dpscan's output goes into a pipe this test reads (-o FIFO, or stdout), so dpscan
cannot run more than its buffers ahead of the reader: signals land at chosen,
random record counts however fast the build is (the sanitizer build too).

(a) SIGINT: a dry run of ~1.2 million pairs (198.18.0.0/15 minus a /18, 11 ports)
    with --checkpoint and --checkpoint-interval 0.2 gets SIGINT after a random
    number of records (0-12% of the rest), must exit 130 having written no more
    than MARGIN records past that point, is resumed with --resume, interrupted
    again, 5..7 times, then resumed to completion (exit 0). Variant a1: no
    --seed (the checkpoint carries the random seed), --tx-lcores 3, -o FIFO: the
    concatenated outputs must be exactly the expected set (computed with
    ipaddress), each pair once. Variant a2: --shard 2/3, --tx-lcores 2, 30 ports,
    stdout, --seed on the first run only: the concatenation must equal an
    uninterrupted run's output byte for byte (order included), which itself holds
    about a third of the space, no pair twice. A finished scan resumed again
    writes no probe.
(b) SIGKILL: the same space, --tx-lcores 2, --checkpoint-interval 0.02, killed
    5..7 times, each time resumed from the last periodic checkpoint (started
    afresh if none was written yet), then run to completion: the union of the
    outputs (a cut-off last line ignored) must be the full set - nothing lost,
    duplicates allowed - and nothing unexpected. Most kills come right after the
    checkpoint file was replaced while the test reads slowly (so dpscan sits in
    write() with a full buffer): a checkpoint written before its output was
    flushed loses pairs then (a race: a build without that flush is caught in
    most runs, not all). The others come at random record counts.
(c) A checkpoint of another plan (other ports, --tx-lcores, --shard / no
    --shard, --retries, targets, --seed) and a corrupted checkpoint (16 single
    bytes changed at random positions of its content, truncated, without its
    check line, empty, missing) are refused with exit 2 and a "dpscan: error:"
    line naming the checkpoint, and the refused file is left unchanged; the same
    checkpoint with its own plan resumes with exactly the rest of the
    uninterrupted output. (Bytes after the 16 check digits, and case changes of
    those digits, are not changed: dpscan ignores them.)

Env: DPSCAN, SRCDIR, TEST_SEED. Exit 0 pass, 1 fail.
"""
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_common import (DPSCAN, Failure, address_intervals, check, check_sanitizer,  # noqa: E402
                          cmdline, ip2int, main_wrapper, parse_ports, run, test_seed)

NAME = "order_resume"
BASE = "198.18.0.0"
BLOCK = 2**17  # 198.18.0.0/15
TARGETS = ["--no-default-blocklist", "198.18.0.0/15", "--exclude", "198.19.128.0/18"]
ERR = "dpscan: error:"


class Space:
    """Expected pairs as a bitmap over 198.18.0.0/15 x ports; counts outputs into it."""

    def __init__(self, ports_text):
        self.ports_text = ports_text
        self.ports = parse_ports(ports_text)
        self.pidx = {p: i for i, p in enumerate(self.ports)}
        self.np = len(self.ports)
        self.base = ip2int(BASE)
        ivs = address_intervals(["198.18.0.0/15"], ["198.19.128.0/18"], False)
        self.want = bytearray(BLOCK * self.np)
        for lo, hi in ivs:
            a, b = (lo - self.base) * self.np, (hi - self.base + 1) * self.np
            self.want[a:b] = b"\x01" * (b - a)
        self.size = sum(hi - lo + 1 for lo, hi in ivs) * self.np
        self.args = TARGETS + ["-p", ports_text]

    def index(self, line):
        ip, port = line.split(b",")
        a = int.from_bytes(socket.inet_aton(ip.decode()), "big") - self.base
        pi = self.pidx.get(int(port))
        if pi is None or not 0 <= a < BLOCK:
            return None
        return a * self.np + pi

    def count(self, data, counts, what, allow_cut=False):
        """Adds the records of csv output `data` (bytes) to counts; returns records."""
        check(data.startswith(b"ip,port\n"), f"{what}: output does not start with 'ip,port'")
        body = data[len(b"ip,port\n"):]
        if not body.endswith(b"\n") and body:
            check(allow_cut, f"{what}: output does not end with a newline")
            body = body[:body.rfind(b"\n") + 1]  # a line cut off by SIGKILL
        n = 0
        for line in body.split(b"\n")[:-1]:
            try:
                i = self.index(line)
            except (ValueError, OSError):
                raise Failure(f"{what}: malformed record {line[:80]!r}")
            if i is None or not self.want[i]:
                raise Failure(f"{what}: unexpected record {line.decode()!r}")
            if counts[i] < 255:
                counts[i] += 1
            n += 1
        return n

    def describe(self, i):
        a, pi = divmod(i, self.np)
        return f"{socket.inet_ntoa((self.base + a).to_bytes(4, 'big'))},{self.ports[pi]}"

    def check_counts(self, counts, what, exact):
        missing = [i for i in range(len(self.want)) if self.want[i] and not counts[i]]
        dups = [i for i in range(len(self.want)) if counts[i] > 1] if exact else []
        check(not missing and not dups,
              f"{what}: {len(missing)} pairs missing (e.g. "
              f"{[self.describe(i) for i in missing[:8]]}), {len(dups)} pairs more than once"
              f" (e.g. {[self.describe(i) + ' x' + str(counts[i]) for i in dups[:8]]})")
        return sum(counts) - self.size  # duplicates


MARGIN = 150000  # records dpscan may run ahead of the reader (1 MiB stdio buffer, pipe, 4096)


def full_run(args):
    rc, out, err = run(args, timeout=600)
    return out.encode()


def paced_run(args, tmp, name, mode, sig=None, stop_after=None, after_checkpoint=None):
    """Runs dpscan with its output going into a pipe that this process reads, so dpscan
    runs no further ahead than its buffers: mode 'fifo' (-o FIFO) or 'stdout' (a pipe).
    After `stop_after` records have been read, sends `sig`, then reads to the end. With
    after_checkpoint=PATH it first waits, reading slowly, until that checkpoint file has
    been replaced twice (the second time it is beyond what an earlier killed run may have
    written) and signals at once. Returns (rc, output bytes, stderr text, command line)."""
    fifo = os.path.join(tmp, name + ".fifo")
    errpath = os.path.join(tmp, name + ".stderr")
    cmd = [DPSCAN] + args
    if mode == "fifo":
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # before dpscan opens it to write
        cmd += ["-o", fifo]
    with open(errpath, "wb") as se:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE if mode == "stdout" else
                             subprocess.DEVNULL, stderr=se)
    if mode == "stdout":
        fd = p.stdout.fileno()
        os.set_blocking(fd, False)
    chunks, lines, connected, signalled = [], 0, mode == "stdout", False
    ck_key, changes = None, -1
    deadline = time.monotonic() + 600
    try:
        while True:
            check(time.monotonic() < deadline, f"no end after 600 s: {cmdline(cmd)}")
            watching = (sig is not None and not signalled and after_checkpoint is not None
                        and lines - 1 >= stop_after)
            if watching:
                # Read slowly, so that the pipe stays full and dpscan waits in write() with
                # its buffer in hand; look at the checkpoint before every read and kill as
                # soon as it was replaced (twice): whatever the checkpoint counts as done must
                # already be in the pipe by then.
                st = os.stat(after_checkpoint) if os.path.exists(after_checkpoint) else None
                key = st and (st.st_ino, st.st_mtime_ns, st.st_size)
                if changes < 0 or key != ck_key:
                    ck_key, changes = key, changes + 1
                if changes == 2:
                    p.send_signal(sig)
                    signalled = True
                    continue
                time.sleep(0.0005)
            try:
                b = os.read(fd, 4096 if watching else 1 << 16)
            except BlockingIOError:
                select.select([fd], [], [], 0.001 if watching else 0.05)
                b = None
            if b:
                connected = True
                chunks.append(b)
                lines += b.count(b"\n")
            elif b == b"":
                if connected or p.poll() is not None:
                    break  # end of output (or dpscan exited before opening the FIFO)
                time.sleep(0.001)  # the writer has not opened the FIFO yet
            if (sig is not None and not signalled and after_checkpoint is None
                    and lines - 1 >= stop_after):
                p.send_signal(sig)
                signalled = True
        rc = p.wait(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(fd)
        if mode == "fifo":
            os.unlink(fifo)
    with open(errpath, "rb") as f:
        err = f.read().decode(errors="replace")
    check_sanitizer(err, cmd)
    return rc, b"".join(chunks), err, cmdline(cmd)


def records_in(data):
    return max(0, data.count(b"\n") - 1)


def sigint_series(rng, tmp, tag, first_args, resume_args, total, mode, keep_checkpoint_after=None):
    """(a): SIGINT 5..7 times at random points, then to completion. Returns (outputs, saved
    checkpoint, output before it). The k-th SIGINT comes after 0-12% of the rest of the scan
    has been read; dpscan may run up to MARGIN records further before it stops."""
    ck = os.path.join(tmp, tag + ".ck")
    want_interrupts = rng.randint(5, 7)
    done = 0
    outputs, saved, saved_prefix, stops = [], None, None, []
    for k in range(want_interrupts + 1):
        finish = k == want_interrupts
        args = (first_args + ["--checkpoint", ck]) if k == 0 else (resume_args + ["--resume", ck])
        left = total - done
        stop = None if finish else max(0, min(int(rng.uniform(0, 0.12) * left), left - MARGIN))
        rc, data, err, cmd = paced_run(args, tmp, f"{tag}.{k}", mode,
                                       None if finish else signal.SIGINT, stop)
        outputs.append(data)
        if finish:
            check(rc == 0, f"{tag}: final resume exit {rc}, want 0: {cmd}\n{err[-1500:]}")
            break
        check(rc == 130, f"{tag}: exit {rc} after SIGINT at record {stop} of the {left} left, "
              f"want 130 (interrupted): {cmd}\n{err[-1500:]}")
        check(ERR not in err, f"{tag}: error after SIGINT: {err[-1500:]}")
        check(os.path.exists(ck), f"{tag}: no checkpoint {ck} after SIGINT (exit 130)")
        n = records_in(data)
        check(stop <= n < stop + MARGIN, f"{tag}: SIGINT after reading {stop} records, but the "
              f"run wrote {n}: {cmd}")
        stops.append(f"{done + stop}->{done + n}")
        done += n
        if keep_checkpoint_after == k + 1:
            saved = os.path.join(tmp, tag + ".saved.ck")
            shutil.copyfile(ck, saved)
            saved_prefix = b"".join(o[len(b"ip,port\n"):] for o in outputs)
    # A finished scan resumed again writes nothing.
    rc, out, err = run(resume_args + ["--resume", ck])
    check(out == "ip,port\n", f"{tag}: resuming a finished scan wrote {out[:200]!r}")
    print(f"{NAME}: {tag}: {want_interrupts} SIGINTs, at record (signal->stop) {stops} "
          f"of {total}", flush=True)
    return outputs, saved, saved_prefix


def variant_a1(rng, tmp):
    space = Space("1-10,443")
    common = ["--dry-run", "-q"] + space.args + ["--tx-lcores", "3",
                                                  "--checkpoint-interval", "0.2"]
    outputs, _, _ = sigint_series(rng, tmp, "a1", common, common, space.size, "fifo")
    counts = bytearray(len(space.want))
    n = sum(space.count(o, counts, f"a1 output {i}") for i, o in enumerate(outputs))
    space.check_counts(counts, "a1 (SIGINT, no --seed, 3 lcores, -o): concatenation", exact=True)
    print(f"{NAME}: a1: {n} records = the {space.size} expected pairs, each once", flush=True)


def variant_a2(rng, tmp):
    space = Space("1-30")
    seed = rng.randrange(2**64)
    common = ["--dry-run", "-q"] + space.args + ["--shard", "2/3", "--tx-lcores", "2",
                                                  "--checkpoint-interval", "0.2"]
    first = common + ["--seed", str(seed)]
    ref = full_run(first)
    counts = bytearray(len(space.want))
    nref = space.count(ref, counts, "a2 uninterrupted run")
    dups = [space.describe(i) for i in range(len(counts)) if counts[i] > 1]
    check(not dups, f"a2: uninterrupted shard 2/3 output repeats pairs: {dups[:8]}")
    check(abs(nref - space.size / 3) < 0.05 * space.size,
          f"a2: shard 2/3 holds {nref} of {space.size} pairs, far from a third")
    outputs, saved, prefix = sigint_series(rng, tmp, "a2", first, common, nref, "stdout",
                                           keep_checkpoint_after=2)
    for i, o in enumerate(outputs):
        check(o.startswith(b"ip,port\n"), f"a2 output {i} does not start with 'ip,port'")
    cat = b"".join(o[len(b"ip,port\n"):] for o in outputs)
    refbody = ref[len(b"ip,port\n"):]
    if cat != refbody:
        a, b = cat.split(b"\n"), refbody.split(b"\n")
        at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        raise Failure(f"a2 (SIGINT, --shard 2/3, 2 lcores, seed {seed}): the concatenated "
                      f"outputs ({len(a) - 1} records) differ from the uninterrupted run "
                      f"({len(b) - 1} records) at record {at}: {a[at:at + 3]} vs {b[at:at + 3]}")
    print(f"{NAME}: a2: concatenation == uninterrupted output ({nref} records, seed {seed})",
          flush=True)
    return space, common, seed, saved, prefix, refbody


def variant_b(rng, tmp):
    space = Space("1-10,443")
    seed = rng.randrange(2**64)
    common = ["--dry-run", "-q"] + space.args + ["--tx-lcores", "2", "--seed", str(seed),
                                                  "--checkpoint-interval", "0.02"]
    ck = os.path.join(tmp, "b.ck")
    kills = rng.randint(5, 7)
    counts = bytearray(len(space.want))
    records = fresh = killed = 0
    log = []
    for k in range(kills + 1):
        last = k == kills
        if os.path.exists(ck):
            args = common + ["--resume", ck]
        else:
            args = common + ["--checkpoint", ck]
            fresh += 1
        # Most kills come right after a checkpoint was written (the moment when a
        # checkpoint ahead of the flushed output would lose pairs), the others anywhere.
        stop = None if last else int(rng.uniform(0, 0.08) * space.size)
        watch = ck if not last and rng.random() < 0.8 else None
        rc, data, err, cmd = paced_run(args, tmp, f"b.{k}", "fifo",
                                       None if last else signal.SIGKILL, stop, watch)
        if last:
            check(rc == 0, f"b: final run exit {rc}, want 0: {cmd}\n{err[-1500:]}")
        else:
            check(rc in (0, -signal.SIGKILL), f"b: exit {rc}: {cmd}\n{err[-1500:]}")
        if data:
            records += space.count(data, counts, f"b output {k}", allow_cut=rc != 0)
        log.append(f"{records_in(data)}{'+ck' if watch else ''}")
        if rc == 0:
            break
        killed += 1
    dups = space.check_counts(counts, f"b (SIGKILL x{killed}, 2 lcores, seed {seed}): union",
                              exact=False)
    rc, out, err = run(common + ["--resume", ck])
    check(out == "ip,port\n", f"b: resuming the finished scan wrote {out[:200]!r}")
    print(f"{NAME}: b: {killed} SIGKILLs ({fresh} starts without a checkpoint; records per "
          f"run {log}; +ck: killed right after a checkpoint), {records} records cover all "
          f"{space.size} pairs ({dups} repeated)", flush=True)
    check(killed >= 5, f"b: only {killed} runs were killed before they finished (want >= 5)")


def refused(args, ck, what):
    before = None
    if os.path.exists(ck):
        with open(ck, "rb") as f:
            before = f.read()
    rc, out, err = run(args + ["--resume", ck], check_rc=None)
    check(rc == 2, f"c: {what}: exit {rc}, want 2: {cmdline([DPSCAN] + args + ['--resume', ck])}"
          f"\nstderr: {err.strip()[-800:]}\nstdout: {out[:200]!r}")
    check(any(line.startswith(ERR) for line in err.splitlines()),
          f"c: {what}: no '{ERR}' line in stderr: {err.strip()[-800:]!r}")
    check(ERR + " " in err and "checkpoint" in err,
          f"c: {what}: the error does not mention the checkpoint: {err.strip()[-800:]!r}")
    if before is not None:
        with open(ck, "rb") as f:
            check(f.read() == before, f"c: {what}: the refused checkpoint file was changed")
    return err.strip().splitlines()[0]


def variant_c(rng, tmp, space, common, seed, saved, prefix, refbody):
    check(saved is not None, "c: no checkpoint saved from a2")
    other = {
        "other ports": [a if a != "1-30" else "1-29" for a in common],
        "other --tx-lcores": [a if a != "2" else "3" for a in common],
        "other --shard": [a if a != "2/3" else "1/3" for a in common],
        "no --shard": [a for i, a in enumerate(common)
                       if a != "--shard" and (i == 0 or common[i - 1] != "--shard")],
        "other --retries": common + ["--retries", "1"],
        "other targets": common + ["--exclude", "198.18.0.7"],
        "other --seed": common + ["--seed", str((seed + 1) % 2**64)],
    }
    for what, args in other.items():
        check(args != common, f"c: test bug: {what} did not change the command")
        ck = os.path.join(tmp, "c.ck")
        shutil.copyfile(saved, ck)
        line = refused(args, ck, "checkpoint of another plan (" + what + ")")
    print(f"{NAME}: c: {len(other)} other plans refused, e.g. {line!r}", flush=True)

    with open(saved, "rb") as f:
        good = f.read()
    body_end = good.rfind(b"check ") + len(b"check ") + 16  # bytes after it are not content
    positions = rng.sample(range(body_end), min(16, body_end))
    for pos in sorted(positions):
        bad = bytearray(good)
        old = bad[pos]
        choices = [b for b in range(256) if b != old]
        if pos >= body_end - 16:  # a hex digit of the check value: keep it a different value
            choices = [b for b in choices if chr(b).lower() != chr(old).lower()]
        bad[pos] = rng.choice(choices)
        ck = os.path.join(tmp, "c.bad.ck")
        with open(ck, "wb") as f:
            f.write(bad)
        refused(common, ck, f"byte {pos} changed {bytes([old])!r} -> {bytes([bad[pos]])!r}")
    for what, data in (("truncated", good[:len(good) // 2]), ("empty", b""),
                       ("without its last line", good[:good.rfind(b"check ")])):
        ck = os.path.join(tmp, "c.bad.ck")
        with open(ck, "wb") as f:
            f.write(data)
        line = refused(common, ck, f"{what} checkpoint")
    missing = os.path.join(tmp, "no-such.ck")
    refused(common, missing, "missing checkpoint")
    check(not os.path.exists(missing), "c: refusing a missing checkpoint created the file")
    print(f"{NAME}: c: {len(positions)} one-byte corruptions, truncated/empty/missing files "
          f"refused, e.g. {line!r}", flush=True)

    # The good checkpoint still resumes with its own plan: exactly the rest of the scan.
    ck = os.path.join(tmp, "c.ck")
    shutil.copyfile(saved, ck)
    rc, out, err = run(common + ["--resume", ck])
    check(out.startswith("ip,port\n"), "c: resumed output lacks the header")
    rest = out[len("ip,port\n"):].encode()
    check(prefix + rest == refbody,
          f"c: resuming the saved checkpoint gave {len(rest.splitlines())} records after "
          f"{len(prefix.splitlines())}, not the rest of the uninterrupted "
          f"{len(refbody.splitlines())}")
    print(f"{NAME}: c: the saved checkpoint resumes with exactly the remaining "
          f"{len(rest.splitlines())} records", flush=True)


def body():
    seed = test_seed(NAME)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="order_resume.") as tmp:
        variant_a1(rng, tmp)
        space, common, scan_seed, saved, prefix, refbody = variant_a2(rng, tmp)
        variant_b(rng, tmp)
        variant_c(rng, tmp, space, common, scan_seed, saved, prefix, refbody)


if __name__ == "__main__":
    main_wrapper(NAME, body)
