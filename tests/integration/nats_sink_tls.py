#!/usr/bin/env /usr/bin/python3
"""nats_sink_tls.py - the results sink (--output-spec nats:) is never silently plaintext, and a
refusal that waiting does not mend ends the run (exit 1) with the server's text.

A nats-server on 127.0.0.1 (a random port, its own store directory) with a certificate from a
CA made here with openssl, that also accepts plaintext clients (allow_non_tls), so that only
the client decides. The server's own record of each connection (/connz?state=closed:
tls_version) is the judge:
- nats://HOST:PORT with --nats-ca: TLS (the CA upgrades it);
- nats://DEAD,tls://HOST:PORT: the tls:// server is reached with TLS (the scheme is per server,
  not the first one's), with --nats-ca;
- tls:// without --nats-ca: refused (the certificate), exit 1.
Then a plaintext server: results to subject t.a_b, then to t.a.b (the same stream name,
DPSCAN_t_a_b): exit 1 naming both subjects, at once rather than spooling.
Exit 0 pass, 1 fail, 77 skip (no nats-server). Env: DPSCAN."""
import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, check, main, run  # noqa: E402
from dry_run_cluster import make_ca  # noqa: E402
from nats_common import NatsCluster  # noqa: E402


def dead_port():
    """A port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_conns(nc):
    with urllib.request.urlopen(f"http://127.0.0.1:{nc.http_ports[0]}/connz?state=closed&limit=1000",
                                timeout=5) as r:
        return json.loads(r.read().decode()).get("connections") or []


def scan(work, url, extra=()):
    cmd = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/24", "-p", "80",
           "-o", "/dev/null", "--output-spec", "nats:" + url] + list(extra)
    return run(cmd, cwd=work, timeout=60)


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-sinktls.")
    try:
        ca = make_ca(work)
        extra = f"allow_non_tls: true\ntls {{ cert_file: {ca['cert']}, key_file: {ca['key']} }}"
        with NatsCluster(os.path.join(work, "tls"), nodes=1, extra=extra) as nc:
            os.makedirs(nc.workdir)
            nc.start().wait_ready()
            port = nc.client_ports[0]
            cases = [
                ("nats:// with --nats-ca", f"nats://127.0.0.1:{port}/t.up", True),
                ("nats://DEAD,tls://SERVER", f"nats://127.0.0.1:{dead_port()},tls://127.0.0.1:{port}/t.mixed",
                 True),
            ]
            for what, url, with_ca in cases:
                before = len(closed_conns(nc))
                p = scan(work, url, ["--nats-ca", ca["ca"]] if with_ca else [])
                conns = closed_conns(nc)[before:]
                tls = [c.get("tls_version") for c in conns]
                print(f"  {what}: exit {p.returncode}, connections' TLS versions {tls}", flush=True)
                if p.returncode != 0:
                    errors.append(f"{what}: exit {p.returncode}: {p.stderr[-800:]}")
                elif not conns or not all(tls):
                    errors.append(f"{what}: a connection without TLS: {tls}")
            p = scan(work, f"tls://127.0.0.1:{port}/t.noca")
            print(f"  tls:// without --nats-ca: exit {p.returncode}: "
                  f"{p.stderr.strip().splitlines()[-1:]}", flush=True)
            if p.returncode != 1 or "certificate" not in p.stderr:
                errors.append(f"tls:// without the CA: exit {p.returncode}: {p.stderr[-600:]}")

        with NatsCluster(os.path.join(work, "plain"), nodes=1) as nc:
            os.makedirs(nc.workdir)
            nc.start().wait_ready()
            base = f"nats://127.0.0.1:{nc.client_ports[0]}"
            p = scan(work, base + "/t.a_b")
            check(p.returncode == 0, f"t.a_b: exit {p.returncode}: {p.stderr[-800:]}")
            p = scan(work, base + "/t.a.b")
            print(f"  t.a.b after t.a_b: exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}",
                  flush=True)
            if p.returncode != 1 or "takes the subjects 't.a_b', not 't.a.b'" not in p.stderr:
                errors.append(f"t.a.b after t.a_b: exit {p.returncode}: {p.stderr[-800:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main("nats_sink_tls", body, needs_root=False)
