#!/usr/bin/env /usr/bin/python3
"""dry_run_cluster.py - a cluster campaign's shards split between workers through a real NATS
JetStream (Debian's nats-server, started by this test on 127.0.0.1 and stopped by it), as dry
runs: no device, so it runs in the sanitizer build too.

- Two workers run `dpscan -c CAMPAIGN --cluster URL` at once on a campaign of 8 shards (a dry
  run of 198.18.0.0/16 x 22,80: every probe is a record): both exit 0, each ran some shards,
  `dpscan collect` gives every (address, port) of the space (Python's ipaddress) exactly once,
  in csv and in ndjson; the same for an IPv6 campaign (the generator 2001:db8::/40-56 with
  interface ID ::1: 65,536 addresses x 22,80 over 8 shards); `dpscan cluster status --json` says 8 of 8 shards done and the probes
  sent add up to the space.
- A worker with another seed, or another plan (other ports) on the same bucket, is refused
  (exit 2) before it runs anything; an unreachable server, wrong credentials (a second server
  with a password) and a missing credentials file exit 1 with NATS' reason; a TLS server
  (a CA and certificate made with openssl) is reached with tls:// and --nats-ca, for the
  workers and for collect, and refused without the CA; malformed URLs,
  cluster sections and --cluster without a cluster campaign exit 2 with line and column.
Exit 0 pass, 1 fail, 77 skip (no nats-server). Env: DPSCAN."""
import csv
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, check, main, run  # noqa: E402
from nats_common import NatsCluster  # noqa: E402
from nats_creds import NKey, Operator  # noqa: E402

TARGETS, PORTS, SHARDS = "198.18.0.0/16", (22, 80), 8

CAMPAIGN = """\
shards: {shards}
cluster:
  bucket: {bucket}
  claim-ttl: 2
  heartbeat: 0.5
defaults:
  no-default-blocklist: true
  dry-run: true
  status-format: none
scans:
  - name: dry
    targets: {targets}
    ports: {ports}
    output: /dev/null
"""


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def make_ca(work):
    """A CA and a certificate for 127.0.0.1 signed by it (openssl), for the TLS server."""
    d = os.path.join(work, "pki")
    os.makedirs(d)
    f = {k: os.path.join(d, k + ".pem") for k in ("ca", "ca_key", "cert", "key", "csr")}
    ext = os.path.join(d, "ext")
    with open(ext, "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1\n")
    for cmd in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                 "/CN=dpscan test CA", "-keyout", f["ca_key"], "-out", f["ca"]],
                ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
                 f["key"], "-out", f["csr"]],
                ["x509", "-req", "-in", f["csr"], "-CA", f["ca"], "-CAkey", f["ca_key"],
                 "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f["cert"]]):
        run(["openssl"] + cmd, check_rc=0)
    return f


def expect_fail(cmd, rc, needle, what, cwd=None):
    p = run(cmd, timeout=60, cwd=cwd)
    check(p.returncode == rc and needle in p.stderr,
          f"{what}: expected exit {rc} and '{needle}', got {p.returncode}: {p.stderr[-600:]}")
    check("claimed" not in p.stderr, f"{what}: a shard was claimed: {p.stderr[-600:]}")
    return p


def body():
    work = tempfile.mkdtemp(prefix="dpscan-drycluster.")
    try:
        with NatsCluster(os.path.join(work, "nats"), nodes=1) as nc:
            os.makedirs(nc.workdir)
            nc.start().wait_ready()
            url = nc.url()
            camp = write(os.path.join(work, "c.yaml"), CAMPAIGN.format(
                shards=SHARDS, bucket="dry", targets=TARGETS, ports=",".join(map(str, PORTS))))
            dirs = [os.path.join(work, f"w{i}") for i in range(2)]
            procs = []
            for d in dirs:
                os.makedirs(d)
                procs.append(subprocess.Popen([DPSCAN, "-c", camp, "--cluster", url], cwd=d,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                              text=True))
            errs = []
            for p in procs:
                _, err = p.communicate(timeout=120)
                errs.append(err)
                check(p.returncode == 0, f"a worker exited {p.returncode}: {err[-1500:]}")
            ran = [e.count("cluster: claimed") + e.count("cluster: took over") for e in errs]
            print(f"workers ran {ran} of {SHARDS} shards", flush=True)
            check(sum(ran) == SHARDS, f"shards run: {ran}, not {SHARDS} in all")

            want = {(str(a), p) for a in ipaddress.ip_network(TARGETS) for p in PORTS}
            out_csv = os.path.join(work, "all.csv")
            p = run([DPSCAN, "collect", "--cluster", url, "dry", "-o", out_csv], check_rc=0)
            # Every probe was published once: nothing for collect to leave out.
            check(" 0 duplicates left out" in p.stderr, f"collect: {p.stderr.strip()[-300:]}")
            with open(out_csv) as f:
                rows = [(r["ip"], int(r["port"])) for r in csv.DictReader(f)]
            check(len(rows) == len(set(rows)), f"collect wrote {len(rows) - len(set(rows))} "
                                               "pairs twice")
            got = set(rows)
            check(got == want, f"collect: {len(want - got)} missing, {len(got - want)} extra")
            nd = run([DPSCAN, "collect", "--cluster", url, "dry", "--output-format", "ndjson"],
                     check_rc=0).stdout
            got_nd = {(r["ip"], r["port"]) for r in map(json.loads, nd.splitlines())}
            check(got_nd == want, "collect --output-format ndjson differs from the space")
            st = json.loads(run([DPSCAN, "cluster", "status", "--cluster", url, "dry", "--json"],
                                check_rc=0).stdout)
            check(st["shards_done"] == SHARDS and st["done"] and st["sent"] == len(want),
                  f"cluster status: {st}")
            text = run([DPSCAN, "cluster", "status", "--cluster", url, "dry"], check_rc=0).stdout
            check(f"total: {SHARDS} of {SHARDS} shards done" in text, f"status text: {text}")
            print(f"collected {len(got)} = the space; cluster status: {st['shards_done']} done, "
                  f"sent {st['sent']}", flush=True)

            # IPv6: a prefix generator's space over the same shards, collected whole.
            camp6 = write(os.path.join(work, "c6.yaml"), CAMPAIGN.format(
                shards=SHARDS, bucket="dry6", targets="2001:db8::/40-56", ports="22,80").replace(
                "    output: /dev/null", "    output: /dev/null\n    ipv6-iid: '::1'"))
            procs = [subprocess.Popen([DPSCAN, "-c", camp6, "--cluster", url], cwd=d,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for d in dirs]
            for p6 in procs:
                _, err = p6.communicate(timeout=120)
                check(p6.returncode == 0, f"an IPv6 worker exited {p6.returncode}: {err[-1500:]}")
            want6 = {(str(n.network_address + 1), p) for n in
                     ipaddress.ip_network("2001:db8::/40").subnets(new_prefix=56) for p in (22, 80)}
            p6 = run([DPSCAN, "collect", "--cluster", url, "dry6", "--output-format", "ndjson"], check_rc=0)
            rows6 = [(r["ip"], r["port"]) for r in map(json.loads, p6.stdout.splitlines())]
            check(len(rows6) == len(set(rows6)) and set(rows6) == want6,
                  f"IPv6 collect: {len(rows6)} rows, {len(want6 - set(rows6))} missing, "
                  f"{len(set(rows6) - want6)} extra")
            print(f"IPv6: collected {len(rows6)} = the generator's space", flush=True)

            # Refused before anything runs.
            w = dirs[0]
            expect_fail([DPSCAN, "-c", camp, "--cluster", url, "--seed", "12345"], 2,
                        "needs the same seed", "another seed", cwd=w)
            expect_fail([DPSCAN, "-c", camp, "--cluster", url, "-p", "22"], 2,
                        "holds another plan", "another plan", cwd=w)
            expect_fail([DPSCAN, "-c", camp, "--cluster", url, "--max-runtime", "5"], 2,
                        "leave out 'max-runtime'", "--max-runtime in a cluster", cwd=w)
            expect_fail([DPSCAN, "-c", camp, "--cluster", "nats://127.0.0.1:1"], 1,
                        "cannot connect", "unreachable server", cwd=w)
            expect_fail([DPSCAN, "-c", camp, "--cluster", url, "--nats-creds",
                         os.path.join(work, "missing.creds")], 1, "missing.creds",
                        "missing credentials file", cwd=w)
            expect_fail([DPSCAN, "-c", camp, "--cluster", "http://127.0.0.1:4222"], 2,
                        "unknown scheme", "bad URL", cwd=w)
            expect_fail([DPSCAN, "198.18.0.0/24", "-p", "80", "--dry-run", "--cluster", url], 2,
                        "cluster campaign", "--cluster without a campaign", cwd=w)
            expect_fail([DPSCAN, "198.18.0.0/24", "-p", "80", "--dry-run", "--no-default-blocklist", "--output-spec",
                         f"nats:{nc.url().split(',')[0]}"], 2, "no /SUBJECT",
                        "nats output without a subject", cwd=w)
            bad = write(os.path.join(work, "bad.yaml"),
                        CAMPAIGN.format(shards=SHARDS, bucket="dry", targets=TARGETS,
                                        ports="22").replace("claim-ttl: 2", "claim-ttl: 0"))
            expect_fail([DPSCAN, "-c", bad, "--cluster", url], 2, "bad.yaml:4:14",
                        "claim-ttl 0", cwd=w)
            bad = write(os.path.join(work, "bad2.yaml"),
                        CAMPAIGN.format(shards=SHARDS, bucket="d r y", targets=TARGETS,
                                        ports="22"))
            expect_fail([DPSCAN, "-c", bad, "--cluster", url], 2, "bad2.yaml:3:11",
                        "a bucket name with spaces", cwd=w)
            expect_fail([DPSCAN, "collect", "--cluster", url, "nosuch"], 1, "no results stream",
                        "collect of an unknown campaign", cwd=w)

        # Wrong credentials: a server with a password.
        with NatsCluster(os.path.join(work, "auth"), nodes=1,
                         extra="authorization { user: scanner, password: right }") as auth:
            os.makedirs(auth.workdir)
            auth.start().wait_ready()
            port = auth.client_ports[0]
            expect_fail([DPSCAN, "-c", camp, "--cluster", f"nats://scanner:wrong@127.0.0.1:{port}"],
                        1, "Authorization", "wrong password", cwd=dirs[1])
            p = run([DPSCAN, "-c", camp, "--cluster", f"nats://scanner:right@127.0.0.1:{port}"],
                    cwd=dirs[1], timeout=120)
            check(p.returncode == 0, f"the right password: exit {p.returncode}: {p.stderr[-800:]}")
            check("right" not in p.stderr, "the password appears in dpscan's messages")

        # A credentials file (decentralized auth: an operator, an account with JetStream and
        # a user, made by nats_creds.py): the user's .creds works, a user of an account the
        # server does not know is refused.
        op = Operator()
        with NatsCluster(os.path.join(work, "creds"), nodes=1, extra=op.server_conf()) as cs:
            os.makedirs(cs.workdir)
            cs.start().wait_ready()
            curl = f"nats://127.0.0.1:{cs.client_ports[0]}"
            good = op.creds(os.path.join(work, "good.creds"))
            bad = op.creds(os.path.join(work, "bad.creds"), account=NKey("account"))
            expect_fail([DPSCAN, "-c", camp, "--cluster", curl, "--nats-creds", bad], 1,
                        "Authorization", "creds of an unknown account", cwd=dirs[1])
            expect_fail([DPSCAN, "-c", camp, "--cluster", curl], 1, "Authorization",
                        "no creds for a server that needs them", cwd=dirs[1])
            p = run([DPSCAN, "-c", camp, "--cluster", curl, "--nats-creds", good], cwd=dirs[1],
                    timeout=120)
            check(p.returncode == 0, f"--nats-creds: exit {p.returncode}: {p.stderr[-800:]}")
            got = run([DPSCAN, "collect", "--cluster", curl, "--nats-creds", good, "dry",
                       "--output-format", "ndjson"], check_rc=0).stdout
            check(len(got.splitlines()) == len(want), f"collect with creds: "
                                                      f"{len(got.splitlines())} records")
            print(f"creds: {len(want)} records with --nats-creds; an unknown account's user and "
                  f"no creds refused", flush=True)

        # TLS: a server with a certificate from a CA made here; tls:// with --nats-ca works,
        # without it the certificate is refused.
        ca = make_ca(work)
        with NatsCluster(os.path.join(work, "tls"), nodes=1,
                         extra=f"tls {{ cert_file: {ca['cert']}, key_file: {ca['key']} }}") as tls:
            os.makedirs(tls.workdir)
            tls.start().wait_ready()
            turl = f"tls://127.0.0.1:{tls.client_ports[0]}"
            expect_fail([DPSCAN, "-c", camp, "--cluster", turl], 1, "certificate",
                        "TLS without the CA", cwd=dirs[1])
            p = run([DPSCAN, "-c", camp, "--cluster", turl, "--nats-ca", ca["ca"]], cwd=dirs[1],
                    timeout=120)
            check(p.returncode == 0, f"TLS with --nats-ca: exit {p.returncode}: {p.stderr[-800:]}")
            got = run([DPSCAN, "collect", "--cluster", turl, "--nats-ca", ca["ca"], "dry",
                       "--output-format", "ndjson"], check_rc=0).stdout
            check(len(got.splitlines()) == len(want), "collect over TLS: "
                                                      f"{len(got.splitlines())} records")
            print(f"TLS: {len(want)} records through tls:// with --nats-ca; refused without",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main("dry_run_cluster", body, needs_root=False)
