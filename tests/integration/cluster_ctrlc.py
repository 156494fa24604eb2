#!/usr/bin/env /usr/bin/python3
"""cluster_ctrlc.py - a second Ctrl-C in a cluster shard whose results the stream has not
acknowledged, and a worker waiting for a shard, through a 3-node NATS JetStream cluster
(Debian's nats-server on 127.0.0.1, started and stopped by this test). Dry runs: no device.

The campaign's bucket is placed on node n1 and its results stream on node n0 (server_tags and
streams created here through the JetStream API, before any worker runs). n0 is then stopped
with SIGSTOP: the bucket answers, the stream never acknowledges. The workers know only n1 and
n2. One shard: 198.18.0.0/18 x 22,80 (32,768 probes, each a record).

1. Worker 1 claims the shard, writes every probe (they wait in its sink and its spool) and
   waits for the stream's acknowledgements, heartbeating.
2. Worker 2 starts and waits for the shard. Its CPU time (utime + stime of /proc/PID/stat)
   over 5 s of waiting is printed and must stay under 10% of one CPU.
3. Worker 1 gets SIGINT twice. It must exit 130 without marking the shard done and without a
   checkpoint past what the stream acknowledged (here: none); its summary reports the batches
   left in its spool (in_spool > 0).
4. n0 is continued (SIGCONT). Worker 2 takes the shard over (it was released), runs it and
   exits 0; `dpscan collect` gives every (address, port) of the space (Python's ipaddress),
   and `dpscan cluster status` says 1 of 1 shard done.
Exit 0 pass, 1 fail, 77 skip (no nats-server). Env: DPSCAN."""
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, check, main, run  # noqa: E402
from nats_common import NatsCluster, cpu_seconds, js_request, wait_for  # noqa: E402

TARGETS, PORTS, BUCKET = "198.18.0.0/18", (22, 80), "fenc"

CAMPAIGN = f"""\
shards: 1
cluster:
  bucket: {BUCKET}
  claim-ttl: 3
  heartbeat: 0.5
defaults:
  no-default-blocklist: true
  dry-run: true
  status-format: none
  checkpoint-interval: 0.5
scans:
  - name: dry
    targets: {TARGETS}
    ports: {",".join(map(str, PORTS))}
    output: /dev/null
"""


def create_stream(port, config):
    ans = js_request(port, f"$JS.API.STREAM.CREATE.{config['name']}", config)
    check("error" not in ans, f"creating stream {config['name']}: {ans}")


class Worker:
    def __init__(self, work, name, camp, url):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.err_path = os.path.join(self.dir, "stderr")
        with open(self.err_path, "w") as err:
            self.p = subprocess.Popen(
                [DPSCAN, "-c", camp, "--cluster", url, "--summary",
                 os.path.join(self.dir, "summary-{shard}.json")],
                cwd=self.dir, stdout=subprocess.DEVNULL, stderr=err)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            check(False, f"a worker did not end within {timeout} s: {self.stderr()[-1500:]}")

    def summary(self):
        with open(os.path.join(self.dir, "summary-1-of-1.json")) as f:
            return json.load(f)


def body():
    work = tempfile.mkdtemp(prefix="dpscan-clusterctrlc.")
    workers = []
    try:
        with NatsCluster(os.path.join(work, "nats"), nodes=3, tags=["x", "y", "z"]) as nc:
            os.makedirs(nc.workdir)
            nc.start().wait_ready()
            n1 = nc.client_ports[1]
            create_stream(n1, {"name": f"KV_{BUCKET}", "subjects": [f"$KV.{BUCKET}.>"],
                               "max_msgs_per_subject": 1, "discard": "new",
                               "allow_rollup_hdrs": True, "deny_delete": True,
                               "allow_direct": True, "storage": "file", "num_replicas": 1,
                               "placement": {"tags": ["y"]}})
            subject = f"dpscan.{BUCKET}.results"
            create_stream(n1, {"name": "DPSCAN_" + subject.replace(".", "_"),
                               "subjects": [subject], "storage": "file", "num_replicas": 1,
                               "duplicate_window": 120 * 10**9, "placement": {"tags": ["x"]}})
            nc.procs[0].send_signal(signal.SIGSTOP)

            def meta_leader_alive():
                j = nc.jsz(1, "")
                return bool(j) and j.get("meta_cluster", {}).get("leader") in ("n1", "n2")
            wait_for(meta_leader_alive, 30, "a meta leader among n1 and n2")
            url = f"nats://127.0.0.1:{n1},nats://127.0.0.1:{nc.client_ports[2]}"
            camp = os.path.join(work, "c.yaml")
            with open(camp, "w") as f:
                f.write(CAMPAIGN)

            w1 = Worker(work, "w1", camp, url)
            workers.append(w1)
            wait_for(lambda: "cluster: claimed" in w1.stderr(), 30, "worker 1's claim")
            w2 = Worker(work, "w2", camp, url)
            workers.append(w2)
            wait_for(lambda: "on bucket" in w2.stderr(), 30, "worker 2 waiting")
            time.sleep(1)
            c0, t0 = cpu_seconds(w2.p.pid), time.monotonic()
            time.sleep(5)
            c1, t1 = cpu_seconds(w2.p.pid), time.monotonic()
            share = (c1 - c0) / (t1 - t0)
            print(f"worker 2 waiting for the shard: {c1 - c0:.2f} s of CPU in {t1 - t0:.1f} s "
                  f"({100 * share:.1f}% of a CPU)", flush=True)
            check(w2.p.poll() is None and "claimed" not in w2.stderr(),
                  f"worker 2 ran the shard that worker 1 holds: {w2.stderr()[-1000:]}")
            check(share < 0.10, f"a waiting worker used {100 * share:.1f}% of a CPU")

            # A double Ctrl-C while worker 1 waits for the stream.
            check(w1.p.poll() is None, f"worker 1 ended early: {w1.stderr()[-1500:]}")
            w1.p.send_signal(signal.SIGINT)
            time.sleep(0.5)
            w1.p.send_signal(signal.SIGINT)
            rc = w1.wait(60)
            e1 = w1.stderr()
            check(rc == 130, f"worker 1 exited {rc} after a double Ctrl-C: {e1[-1500:]}")
            check("cluster: claim.dry.1 done" not in e1,
                  f"worker 1 marked the shard done with its results unacknowledged: {e1[-1500:]}")
            outs = [o for o in w1.summary().get("outputs", []) if "in_spool" in o]
            in_spool = sum(o["in_spool"] for o in outs)
            print(f"worker 1 after a double Ctrl-C: exit {rc}, {in_spool} batches left in its "
                  f"spool ({', '.join(o['spool'] for o in outs)})", flush=True)
            check(in_spool > 0, f"worker 1's summary reports no batch in its spool: {outs}")

            nc.procs[0].send_signal(signal.SIGCONT)
            rc = w2.wait(90)
            e2 = w2.stderr()
            check(rc == 0, f"worker 2 exited {rc}: {e2[-1500:]}")
            check("took over claim.dry.1" in e2, f"worker 2 did not take the shard over: "
                                                 f"{e2[-1500:]}")
            print("worker 2: " + [ln for ln in e2.splitlines() if "took over" in ln][0].strip(),
                  flush=True)

            want = {(str(a), p) for a in ipaddress.ip_network(TARGETS) for p in PORTS}
            nd = run([DPSCAN, "collect", "--cluster", url, BUCKET, "--output-format", "ndjson"],
                     check_rc=0, timeout=120)
            got = [(r["ip"], r["port"]) for r in map(json.loads, nd.stdout.splitlines())]
            missing, extra = want - set(got), set(got) - want
            print(f"collect: {len(got)} records of {len(want)} pairs, {len(missing)} missing, "
                  f"{len(extra)} extra; {nd.stderr.strip().splitlines()[-1]}", flush=True)
            check(not missing and not extra and len(got) == len(set(got)),
                  f"collect: {len(missing)} missing (e.g. {sorted(missing)[:3]}), "
                  f"{len(extra)} extra, {len(got) - len(set(got))} twice")
            st = json.loads(run([DPSCAN, "cluster", "status", "--cluster", url, BUCKET, "--json"],
                                check_rc=0).stdout)
            check(st["shards_done"] == 1 and st["done"], f"cluster status: {st}")
    finally:
        for w in workers:
            if w.p.poll() is None:
                w.p.kill()
                w.p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main("cluster_ctrlc", body, needs_root=False)
