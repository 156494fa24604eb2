#!/usr/bin/env /usr/bin/python3
"""nats_secrets.py - a NATS password never reaches a file or a log, and the files that hold the
cookie key or results are the owner's alone (0600).

A nats-server on 127.0.0.1 with user/password authorization (JetStream on). A dry run of
198.18.0.0/15 x 22,80,443 with the password in its nats: output URL, and csv, xml (-oX:
nmaprun args) and ndjson outputs, --checkpoint, --summary, --status-format ndjson and -v,
under umask 0 (so that a mode comes from dpscan, not the umask), with a summary and a spool
left 0644 by an earlier run (and a checkpoint's temporary file): the run's standard output and error and every file it wrote
must not contain the password (the user name and the masked form do appear, so the check
looks where the URL is written); the checkpoint, the summary and the spool (seen while the
run has it open: an empty one is removed at the end) are 0600. Then the messages that quote
the URL: a bad port (exit 2), a bad subject (exit 2), the wrong password (exit 1),
`collect` and `cluster status` of an unknown campaign (exit 1).
Exit 0 pass, 1 fail, 77 skip (no nats-server). Env: DPSCAN."""
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, check, main, run  # noqa: E402
from nats_common import NatsCluster  # noqa: E402

USER = "scanner"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def body():
    errors = []
    password = "Pw" + secrets.token_hex(8)
    work = tempfile.mkdtemp(prefix="dpscan-secrets.")
    try:
        with NatsCluster(os.path.join(work, "nats"), nodes=1,
                         extra=f"authorization {{ user: {USER}, password: {password} }}") as nc:
            os.makedirs(nc.workdir)
            nc.start().wait_ready()
            port = nc.client_ports[0]
            url = f"nats://{USER}:{password}@127.0.0.1:{port}"
            masked = f"nats://{USER}:***@127.0.0.1:{port}"
            out = os.path.join(work, "run")
            os.makedirs(out)
            spool = os.path.join(out, "results.spool")
            summary = os.path.join(out, "summary.json")
            for old in (spool, summary, os.path.join(out, "ck.tmp")):  # an earlier run's, 0644
                open(old, "w").close()
                os.chmod(old, 0o644)
            cmd = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/15", "-p", "22,80,443",
                   "--seed", "7", "-v", "-o", os.path.join(out, "out.csv"),
                   "--output-spec", "xml:" + os.path.join(out, "out.xml"),
                   "--output-spec", "ndjson:" + os.path.join(out, "out.ndjson"),
                   "--output-spec", f"nats:{url}/dpscan.secrets",
                   "--checkpoint", os.path.join(out, "ck"), "--summary", summary,
                   "--status-format", "ndjson"]
            env = dict(os.environ, DPSCAN_NATS_SPOOL=spool)
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                 cwd=out, preexec_fn=lambda: os.umask(0))
            spool_modes = []  # each mode seen, once per change
            while p.poll() is None:  # the spool while the sink has it open
                try:
                    m = mode(spool)
                    if not spool_modes or spool_modes[-1] != m:
                        spool_modes.append(m)
                except FileNotFoundError:
                    pass
                time.sleep(0.002)
            stdout, stderr = p.communicate()
            check(p.returncode == 0, f"the run exited {p.returncode}: {stderr.decode()[-1500:]}")
            check(os.path.getsize(os.path.join(out, "out.csv")) > 1000, "no results in out.csv")
            print(f"  the spool while open: {[oct(m) for m in spool_modes]}", flush=True)
            # 0644 until dpscan opens it, 0600 from then on.
            if not spool_modes or spool_modes[-1] != 0o600:
                errors.append(f"the spool's modes while open: {[oct(m) for m in spool_modes]}")
            for name in ("ck", "summary.json"):
                m = mode(os.path.join(out, name))
                if m != 0o600:
                    errors.append(f"{name}: mode {oct(m)}, not 0600")
            written = {"stdout": stdout, "stderr": stderr}
            for f in sorted(os.listdir(out)):
                with open(os.path.join(out, f), "rb") as fh:
                    written[f] = fh.read()
            print(f"  files written: {sorted(written)}", flush=True)
            for name, data in written.items():
                if password.encode() in data:
                    errors.append(f"the password is in {name}")
            xml = written["out.xml"].decode()
            if masked not in xml:
                errors.append(f"out.xml: the masked URL {masked} is not in its args")
            if masked not in written["summary.json"].decode():
                errors.append("summary.json: the masked URL is not in the plan's outputs")

            # Messages that quote the URL.
            base = [DPSCAN, "--dry-run", "--no-default-blocklist", "198.18.0.0/24", "-p", "80",
                    "-o", "/dev/null"]
            bad_port = f"nats://{USER}:{password}@127.0.0.1:99999"
            for case, cmd, rc in (
                ("a bad port", base + ["--output-spec", f"nats:{bad_port}/s"], 2),
                ("a bad subject", base + ["--output-spec", f"nats:{url}/bad..subject"], 2),
                ("the wrong password",
                 base + ["--output-spec", f"nats:nats://{USER}:x{password}@127.0.0.1:{port}/s"], 1),
                ("collect", [DPSCAN, "collect", "--cluster", url, "nosuch"], 1),
                ("cluster status", [DPSCAN, "cluster", "status", "--cluster", url, "nosuch"], 1),
            ):
                q = run(cmd, cwd=out, timeout=60)
                text = q.stdout + q.stderr
                if q.returncode != rc:
                    errors.append(f"{case}: exit {q.returncode} (expected {rc}): {text[-600:]!r}")
                if password in text:
                    errors.append(f"{case}: the password is in the message: {text[-600:]!r}")
                elif f"{USER}:***@" not in text and "127.0.0.1" not in text:
                    errors.append(f"{case}: the message does not say which server: {text[-600:]!r}")
                print(f"  {case}: exit {q.returncode}: {q.stderr.strip().splitlines()[-1:]}",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main("nats_secrets", body, needs_root=False)
