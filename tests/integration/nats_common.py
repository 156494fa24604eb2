"""nats_common.py - a NATS JetStream cluster of Debian's nats-server for the cluster tests (not
a test itself): N nodes with JetStream and routes between them, each with its own store
directory, started in a given network namespace (or the root one, on 127.0.0.1), stopped,
restarted and killed by the test, and always stopped at the end.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time

from campaign_common import Failure, Skip, check

NATS_SERVER = shutil.which("nats-server") or "/usr/bin/nats-server"


def free_port_base(count):
    """A random base port with `count` ports after it (the test's own namespace, or loopback
    where a collision is unlikely; a node that cannot listen fails the start)."""
    return random.SystemRandom().randrange(20000, 60000 - count)


class NatsCluster:
    """nodes: 1 (a single server) or 3 (a RAFT cluster). netns: run inside it (listening on
    0.0.0.0 there) or None (127.0.0.1 in the root namespace). extra: lines added to each
    node's configuration (e.g. an authorization block). tags: each node's server_tags (for
    stream placement), or None."""

    def __init__(self, workdir, nodes=3, netns=None, extra="", tags=None):
        if not os.access(NATS_SERVER, os.X_OK):
            raise Skip("nats-server is not installed (scripts/install-deps.sh installs it)")
        self.workdir = workdir
        self.n = nodes
        self.netns = netns
        self.extra = extra
        self.tags = tags
        base = free_port_base(3 * nodes)
        self.client_ports = [base + i for i in range(nodes)]
        self.route_ports = [base + nodes + i for i in range(nodes)]
        self.http_ports = [base + 2 * nodes + i for i in range(nodes)]
        self.procs = [None] * nodes
        self.host = "0.0.0.0" if netns else "127.0.0.1"

    def _cmd(self, args):
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + args

    def _conf(self, i):
        store = os.path.join(self.workdir, f"n{i}")
        os.makedirs(store, exist_ok=True)
        lines = [f"server_name: n{i}", f"listen: {self.host}:{self.client_ports[i]}",
                 f"http: 127.0.0.1:{self.http_ports[i]}",
                 "jetstream {", f"  store_dir: {store}", "  max_memory_store: 64MB",
                 "  max_file_store: 2GB", "}"]
        if self.n > 1:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for j, p in enumerate(self.route_ports)
                               if j != i)
            lines += ["cluster {", "  name: dpscan-test",
                      f"  listen: 127.0.0.1:{self.route_ports[i]}", f"  routes: [{routes}]", "}"]
        if self.tags:
            lines.append(f"server_tags: [{self.tags[i]}]")
        lines.append(self.extra)
        path = os.path.join(self.workdir, f"n{i}.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, i=None):
        for j in ([i] if i is not None else range(self.n)):
            log = open(os.path.join(self.workdir, f"n{j}.log"), "a")
            self.procs[j] = subprocess.Popen(self._cmd([NATS_SERVER, "-c", self._conf(j)]),
                                             stdout=log, stderr=subprocess.STDOUT)
        return self

    def _ready(self, j, strict):
        if strict:  # JetStream ready and every stream current
            out = self._http(j, "/healthz")
            return bool(out and '"ok"' in out)
        out = self._http(j, "/jsz")  # up, and the cluster has a meta leader
        try:
            return bool(json.loads(out).get("meta_cluster", {}).get("leader")) if out else False
        except ValueError:
            return False

    def wait_ready(self, timeout=30, strict=True):
        """Every running node answers /healthz with ok (strict: JetStream ready, a meta leader,
        every stream current), or (not strict, after a restart, while the streams may still
        catch up) is up and sees a meta leader."""
        t_end = time.monotonic() + timeout
        pending = [j for j in range(self.n) if self.procs[j] and self.procs[j].poll() is None]
        while pending and time.monotonic() < t_end:
            for j in list(pending):
                if self._ready(j, strict):
                    pending.remove(j)
            time.sleep(0.2)
        for j in range(self.n):
            if self.procs[j] and self.procs[j].poll() is not None:
                raise Failure(f"nats-server n{j} exited {self.procs[j].returncode}: "
                              f"{self.log(j)[-1500:]}")
        check(not pending, f"nats-server nodes {pending} not ready after {timeout} s: "
                           f"{self.log(pending[0])[-1500:] if pending else ''}")
        return self

    def _http(self, j, path):
        code = ("import sys,urllib.request\ntry:\n sys.stdout.write(urllib.request.urlopen("
                f"'http://127.0.0.1:{self.http_ports[j]}{path}',timeout=2).read().decode())\n"
                "except Exception as e:\n sys.exit(1)\n")
        p = subprocess.run(self._cmd(["/usr/bin/python3", "-c", code]), capture_output=True,
                           text=True, timeout=10)
        return p.stdout if p.returncode == 0 else None

    def jsz(self, j, query="streams=true"):
        out = self._http(j, "/jsz?" + query)
        return json.loads(out) if out else None

    def stop(self, i=None, sig=signal.SIGTERM):
        for j in ([i] if i is not None else range(self.n)):
            p = self.procs[j]
            if p and p.poll() is None:
                p.send_signal(sig)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.procs[j] = None

    def url(self, host="127.0.0.1"):
        return ",".join(f"nats://{host}:{p}" for p in self.client_ports)

    def log(self, j):
        try:
            return open(os.path.join(self.workdir, f"n{j}.log")).read()
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for j in range(self.n):
            p = self.procs[j]
            if p and p.poll() is None:
                p.kill()
                p.wait()
        return False


def js_request(port, subject, payload, host="127.0.0.1", timeout=10):
    """One JetStream API request (e.g. $JS.API.STREAM.CREATE.NAME with a JSON config) over
    NATS' text protocol, for what dpscan does not do itself (placing a stream on tagged
    nodes); returns the decoded JSON answer."""
    data = json.dumps(payload).encode()
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.dpscantest 1\r\n'
                  b"PUB %s _INBOX.dpscantest %d\r\n%s\r\n" % (subject.encode(), len(data), data))
        while True:
            line = f.readline()
            if not line:
                raise Failure(f"{subject}: the server closed the connection")
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise Failure(f"{subject}: {line.decode().strip()}")
            elif line.startswith(b"MSG"):
                body = f.read(int(line.split()[-1]) + 2)[:-2]
                return json.loads(body)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(cond, timeout, what):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if cond():
            return
        time.sleep(0.05)
    check(False, f"timed out waiting for {what}")
