#!/usr/bin/env /usr/bin/python3
"""nats_sink_tls.py - the results sink (--output-spec nats:) is never silently plaintext, and a
refusal that waiting does not mend ends the run (exit 1) with the server's text.

Two nats-servers on 127.0.0.1 (random ports, store directories of their own): one requiring
TLS with a certificate from a CA made here with openssl, one plaintext only (standing for a
server that is not what the URL says). The servers' own records of their connections
(/connz?state=closed: tls_version, in_msgs) are the judge:
- nats://TLS-SERVER with --nats-ca: TLS;
- nats://PLAIN,tls://TLS-SERVER with --nats-ca: exit 0, TLS to the TLS server, nothing sent
  to the plaintext one (a tls:// server makes the connection TLS to every server);
- nats://DEAD,tls://PLAIN: refused (exit 1), not plaintext: the scheme is per server, not the
  first one's (before, tls://PLAIN became nats://PLAIN);
- nats://PLAIN with --nats-ca: refused (exit 1), not plaintext;
- tls:// without --nats-ca: refused (the certificate), exit 1.
Then results to subject t.a_b, then to t.a.b (the same stream name, DPSCAN_t_a_b): exit 1
naming both subjects, at once rather than spooling.
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
        extra = f"tls {{ cert_file: {ca['cert']}, key_file: {ca['key']} }}"
        with NatsCluster(os.path.join(work, "tls"), nodes=1, extra=extra) as tls, \
                NatsCluster(os.path.join(work, "plain"), nodes=1) as plain:
            for nc in (tls, plain):
                os.makedirs(nc.workdir)
                nc.start().wait_ready()
            t, p_ = tls.client_ports[0], plain.client_ports[0]
            with_ca = ["--nats-ca", ca["ca"]]
            cases = [  # what, URL, extra options, expected exit
                ("nats://TLS with --nats-ca", f"nats://127.0.0.1:{t}/t.up", with_ca, 0),
                ("nats://PLAIN,tls://TLS with --nats-ca",
                 f"nats://127.0.0.1:{p_},tls://127.0.0.1:{t}/t.mixed", with_ca, 0),
                ("nats://DEAD,tls://PLAIN", f"nats://127.0.0.1:{dead_port()},tls://127.0.0.1:{p_}/t.m2",
                 [], 1),
                ("nats://PLAIN with --nats-ca", f"nats://127.0.0.1:{p_}/t.ca", with_ca, 1),
                ("tls://TLS without --nats-ca", f"tls://127.0.0.1:{t}/t.noca", [], 1),
            ]
            for what, url, opts, rc in cases:
                before = {nc: len(closed_conns(nc)) for nc in (tls, plain)}
                p = scan(work, url, opts)
                to_tls = closed_conns(tls)[before[tls]:]
                to_plain = closed_conns(plain)[before[plain]:]
                versions = [c.get("tls_version") for c in to_tls]
                sent_plain = sum(c.get("in_msgs", 0) + c.get("in_bytes", 0) for c in to_plain)
                print(f"  {what}: exit {p.returncode}; TLS server: TLS versions {versions}; "
                      f"plaintext server: {len(to_plain)} connections, {sent_plain} bytes and "
                      f"messages in; {p.stderr.strip().splitlines()[-1:] if rc else ''}",
                      flush=True)
                if p.returncode != rc:
                    errors.append(f"{what}: exit {p.returncode}, not {rc}: {p.stderr[-800:]}")
                if sent_plain:
                    errors.append(f"{what}: the plaintext server got {sent_plain} bytes/messages")
                if rc == 0 and (not to_tls or not all(versions)):
                    errors.append(f"{what}: connections to the TLS server: {versions}")
                if rc == 1 and "cannot connect" not in p.stderr:
                    errors.append(f"{what}: no clear refusal: {p.stderr[-600:]}")

            base = f"nats://127.0.0.1:{p_}"
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
