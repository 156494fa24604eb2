#!/usr/bin/env /usr/bin/python3
"""metrics_server.py - the /metrics endpoint (--metrics-listen) against hostile and busy
clients, while a dry run (nothing is sent; the endpoint is on 127.0.0.1) with --max-runtime
5 writes probes of a big space. Each case is its own run, and every run must end on time:
exit 0 within max-runtime + END_SLACK seconds of its start, whatever the clients do.

- slowloris: one byte every 1.5 s; the server closes it at its 2 s deadline, a scrape made
  meanwhile is answered at once, and dpscan_metrics_timed_out_total counts it;
- a client that sends a request and never reads a big answer (a long --scan-name is in every
  sample's label: about 6 MB, more than the kernel's socket buffers take); closed at the
  deadline too, and a scrape made meanwhile is answered at once;
- 100 scrapes at once, all connected before any sends: all answered 200 with the same
  families, each a well-formed exposition (promtool check metrics, when Debian's prometheus
  package is installed; the sample syntax here in any case);
- junk bytes: 400; GET of another path: 404; POST: 405 with Allow; a request ending in a
  bare "\\n\\n": 200 with the text; HEAD: 200, the header only;
- a campaign whose scans serve on one port, spelt 127.0.0.1:PORT, then 127.0.0.1:0PORT twice
  (as 127.0.0.1:PORT and *:PORT would be, without listening beyond loopback): one server per
  spelling, each stopped before the next binds, shared by the scans with the same one.
Exit 0 pass, 1 fail. Env: DPSCAN."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Failure, check, main  # noqa: E402

MAX_RUNTIME = 5
END_SLACK = 2.0  # set-up, the last checkpoint-free steps, exit (measured: well under 1 s)
SAMPLE = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """A dry run serving /metrics on 127.0.0.1:PORT; end() says how long it took."""

    def __init__(self, name="scan"):
        self.port = free_port()
        self.cmd = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/15", "-p", "1-65535",
                    "--seed", "1", "-o", "/dev/null", "--cooldown", "0", "--max-runtime",
                    str(MAX_RUNTIME), "--scan-name", name, "--status-format", "none",
                    "--metrics-listen", f"127.0.0.1:{self.port}"]
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        deadline = time.monotonic() + 10
        while True:  # up, and the run's first counters published
            status, _, body, _ = request(self.port, b"GET /metrics HTTP/1.1\r\n\r\n")
            if status.endswith("200 OK") and "dpscan_probes_sent_total" in body:
                break
            check(self.p.poll() is None and time.monotonic() < deadline,
                  f"the metrics server did not come up: {self.stderr()}")
            time.sleep(0.05)

    def stderr(self):
        if self.p.poll() is None:
            return "(running)"
        return self.p.stderr.read()

    def end(self, errors, case):
        """Waits for the run (killed after 30 s); checks it ended on time and exited 0."""
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        took = time.monotonic() - self.t0
        err = self.p.stderr.read()
        if self.p.returncode != 0:
            errors.append(f"{case}: dpscan exited {self.p.returncode}: {err.strip()[-800:]}")
        if took > MAX_RUNTIME + END_SLACK:
            errors.append(f"{case}: the run took {took:.1f} s (max-runtime {MAX_RUNTIME} + "
                          f"{END_SLACK} s at most)")
        print(f"  {case}: the run took {took:.2f} s", flush=True)
        return err


def request(port, data, timeout=5):
    """Sends data, reads the whole answer; (status line, headers, body, seconds)."""
    t = time.monotonic()
    chunks = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
    except OSError as e:
        return f"error: {e}", [], "", time.monotonic() - t
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    return lines[0], lines[1:], body.decode(errors="replace"), time.monotonic() - t


def exposition_errors(text):
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#") and not SAMPLE.match(line):
            out.append(f"not an exposition sample: {line[:120]!r}")
    return out


def families(text):
    return sorted(set(m.group(1) for m in map(SAMPLE.match, text.splitlines()) if m))


def sample(text, name):
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == name:
            return float(m.group(3))
    return None


def slowloris(errors):
    run = Run()
    closed_after = []

    def loris():
        s = socket.create_connection(("127.0.0.1", run.port))
        t = time.monotonic()
        try:
            for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n":
                s.sendall(bytes([b]))
                s.settimeout(1.5)
                try:
                    if s.recv(1) == b"":  # closed by the server
                        break
                except socket.timeout:
                    pass
                if time.monotonic() - t > 20:
                    break
        except OSError:
            pass  # reset by the server
        closed_after.append(time.monotonic() - t)
        s.close()

    th = threading.Thread(target=loris)
    th.start()
    time.sleep(0.5)
    status, _, body, took = request(run.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    if not status.endswith("200 OK") or took > 1.0:
        errors.append(f"slowloris: a scrape beside it: {status!r} after {took:.2f} s")
    th.join()
    if not closed_after or closed_after[0] > 2.5:
        errors.append(f"slowloris: closed after {closed_after} s (the deadline is 2 s)")
    time.sleep(1.2)  # the counters are published once a second
    _, _, body, _ = request(run.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    if not (sample(body, "dpscan_metrics_timed_out_total") or 0) >= 1:
        errors.append("slowloris: dpscan_metrics_timed_out_total does not count it")
    err = run.end(errors, "slowloris")
    if "closed at their 2000 ms deadline" not in err:
        errors.append(f"slowloris: no word of the timed-out connection: {err.strip()[-400:]!r}")


def never_reads(errors):
    run = Run("n" * 120000)  # one argument holds up to 128 KiB
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", run.port))
    s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    status, headers, _, took = request(run.port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
    length = [int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length")]
    if not status.endswith("200 OK") or not length or length[0] < 5000000:
        errors.append(f"never reads: the answer is not big: {status!r} {headers}")
    if took > 1.0:
        errors.append(f"never reads: a scrape beside it took {took:.2f} s")
    time.sleep(3.2)  # its deadline (2 s), then the next publication (once a second)
    _, _, body, _ = request(run.port, b"GET /metrics HTTP/1.1\r\n\r\n")
    if not (sample(body, "dpscan_metrics_timed_out_total") or 0) >= 1:
        errors.append("never reads: dpscan_metrics_timed_out_total does not count it")
    run.end(errors, "never reads")
    s.close()


def answers(errors):
    run = Run()
    port = run.port
    n, results, barrier = 100, [None] * 100, threading.Barrier(100)

    def scrape(i):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                barrier.wait(timeout=10)  # every client connected before any sends
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                raw = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    raw += b
            results[i] = raw.decode()
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = f"error: {e}"

    threads = [threading.Thread(target=scrape, args=(i,)) for i in range(n)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.monotonic() - t
    ok = [r for r in results if r.startswith("HTTP/1.1 200 OK\r\n")]
    if len(ok) != n:
        bad = [r[:80] for r in results if not r.startswith("HTTP/1.1 200 OK\r\n")]
        errors.append(f"100 scrapes: {len(ok)} answered 200; the others: {bad[:3]}")
    print(f"  100 scrapes at once: {len(ok)} answered in {took:.2f} s", flush=True)
    names = None
    for r in ok:
        body = r.partition("\r\n\r\n")[2]
        errors.extend(exposition_errors(body)[:2])
        if names is None:
            names = families(body)
            if shutil.which("promtool"):
                p = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                                   capture_output=True)
                if p.returncode != 0:
                    errors.append(f"promtool check metrics: {p.stdout}{p.stderr}")
            else:
                print("  (promtool is not installed: the syntax checked here only)")
        elif families(body) != names:
            errors.append("100 scrapes: the answers do not have the same families")
    check(names and "dpscan_probes_sent_total" in names, f"no dpscan_probes_sent_total: {names}")

    cases = [
        ("junk", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\r\n\r\n", "400 Bad Request"),
        ("junk text", b"hello there\r\n\r\n", "400 Bad Request"),
        ("404", b"GET /other HTTP/1.1\r\n\r\n", "404 Not Found"),
        ("405", b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "405 Method Not Allowed"),
        ("bare LF", b"GET /metrics HTTP/1.0\nHost: x\n\n", "200 OK"),
        ("HEAD", b"HEAD /metrics HTTP/1.1\r\n\r\n", "200 OK"),
    ]
    for case, data, want in cases:
        status, headers, body, took = request(port, data)
        if status != "HTTP/1.1 " + want or took > 1.0:
            errors.append(f"{case}: {status!r} after {took:.2f} s (expected {want})")
        if case == "405" and "Allow: GET, HEAD" not in headers:
            errors.append(f"405: no Allow header: {headers}")
        if case == "bare LF" and "dpscan_probes_sent_total" not in body:
            errors.append(f"bare LF: no metrics in the answer: {body[:200]!r}")
        if case == "HEAD" and body:
            errors.append(f"HEAD: a body of {len(body)} bytes")
    run.end(errors, "answers")


CAMPAIGN = """defaults:
  dry-run: true
  no-default-blocklist: true
  ports: 80
  output: /dev/null
  status-format: none
scans:
  - name: first
    targets: [198.18.0.0/24]
    metrics-listen: "127.0.0.1:{port}"
  - name: second
    targets: [198.18.1.0/24]
    metrics-listen: "127.0.0.1:0{port}"
  - name: third
    targets: [198.18.2.0/24]
    metrics-listen: "127.0.0.1:0{port}"
"""


def campaign(errors):
    """Scans of a campaign on one port, spelt two ways: each binds once the last let go."""
    work = tempfile.mkdtemp(prefix="dpscan-metrics-campaign.")
    try:
        path = os.path.join(work, "c.yaml")
        with open(path, "w") as f:
            f.write(CAMPAIGN.format(port=free_port()))
        p = subprocess.run([DPSCAN, "-c", path], capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or p.stderr.count("metrics: http://") != 2:
            errors.append(f"campaign: exit {p.returncode}: {p.stderr.strip()[-600:]!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def body():
    errors = []
    for case in (slowloris, never_reads, answers, campaign):
        try:
            case(errors)
        except Failure as e:
            errors.append(f"{case.__name__}: {e}")
    return errors


if __name__ == "__main__":
    main("metrics_server", body, needs_root=False)
