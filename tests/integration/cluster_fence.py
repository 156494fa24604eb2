#!/usr/bin/env /usr/bin/python3
"""cluster_fence.py - an owner cut off from the cluster while the other worker is not: it
stops sending its shard before the other takes it over (fencing), through Debian's
nats-server, started by this test in a namespace of its own and stopped by it.

Two labs (scripts/lab.sh, each a kernel answering for 198.18.0.0/16 with the same truth) and
a namespace holding one nats-server, joined to each lab's scanner namespace by a veth
(198.19.254.0/30 and .4/30): each worker reaches the server only through its veth. The
campaign: one shard, 198.18.0.0/19 x 22,80,443 (open, closed, unreachable), claim-ttl 3 s,
heartbeat 0.5 s, checkpoints every 0.5 s. tshark in each lab's target namespace records
every SYN the target receives, with the kernel's time.

1. Worker A (2,000 pps) claims the shard. Worker B (20,000 pps) starts and waits for it; its
   CPU time (utime + stime, /proc/PID/stat) over 4 s of waiting is printed and must stay
   under 10% of one CPU.
2. 5 s after A began sending, A's veth is set down (in the server's namespace): A is cut
   off, B is not. B takes the shard over once A's claim has been silent for claim-ttl, and
   resumes it from A's checkpoint.
3. A must have sent its last probe before B sent its first (none of A's probes after B
   began: no pair scanned by both at once). The probes A sent between the cut-off and its
   stop are counted and printed (B sends them again: they are after A's last checkpoint).
4. A's veth is set up again: A reconnects, finds the shard done and exits 0, its spool
   replayed. `dpscan collect` equals the labs' truth, each pair once; `cluster status` says
   the shard is done.
Exit 0 pass, 1 fail, 77 skip (not root, no nats-server, no tshark). Env: DPSCAN, LAB."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Lab, Netns, Skip, check, main, read_csv, run  # noqa: E402
from nats_common import NatsCluster, cpu_seconds, wait_for  # noqa: E402

TARGETS, PORTS, STATUSES = "198.18.0.0/19", "22,80,443", "open,closed,unreachable"
TSHARK = shutil.which("tshark") or "/usr/bin/tshark"

CAMPAIGN = """\
shards: 1
cluster:
  bucket: fence
  claim-ttl: 3
  heartbeat: 0.5
defaults:
  no-default-blocklist: true
  rate: 2000
  cooldown: 0.5
  checkpoint-interval: 0.5
  report: {statuses}
  status-format: none
  output: /dev/null
scans:
  - name: lab
    targets: {targets}
    ports: {ports}
"""


class Capture:
    """tshark in a lab's target namespace: (time, ip, port) of every SYN that arrives."""

    def __init__(self, lab, path):
        self.path = path
        self.out = open(path, "w")
        self.err = open(path + ".err", "w+")
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", lab.env["LAB_TGT_NS"], TSHARK, "-n", "-l", "-i",
             lab.env["LAB_TGT_IFACE"], "-f", "tcp[13] == 2", "-T", "fields", "-e",
             "frame.time_epoch", "-e", "ip.dst", "-e", "tcp.dstport"],
            stdout=self.out, stderr=self.err)

    def ready(self):
        self.err.flush()
        with open(self.err.name) as f:
            return "Capturing on" in f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()
        rows = []
        with open(self.path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    rows.append((float(parts[0]), parts[1], int(parts[2])))
        return rows


class Worker:
    def __init__(self, lab, url, camp, workdir, name, extra=()):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        cmd = lab.scan_cmd("-c", camp, "--cluster", url, "--device", lab.device(),
                           "--source-ip", lab.env["LAB_SRC_IP"], "--gateway-ip",
                           lab.env["LAB_GW_IP"], *extra)
        self.p = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=self.err)

    def stderr(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def pid(self):
        """dpscan's own pid (the Popen is `ip netns exec`, which execs it: the same pid)."""
        return self.p.pid

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            check(False, f"a worker did not end within {timeout} s: {self.stderr()[-1500:]}")


def body():
    if not os.access(TSHARK, os.X_OK):
        raise Skip("tshark is not installed")
    work = tempfile.mkdtemp(prefix="dpscan-fence.")
    os.chmod(work, 0o755)
    workers, caps = [], []
    try:
        with Netns("fens") as ns, Lab("fa") as la, Lab("fb") as lb, \
                NatsCluster(os.path.join(work, "nats"), nodes=1, netns=ns.name) as nc:
            os.makedirs(nc.workdir)
            for k, lab in enumerate((la, lb)):
                near, far = f"198.19.254.{4 * k + 1}", f"198.19.254.{4 * k + 2}"
                ns.exec(["ip", "link", "add", f"fn{k}", "type", "veth", "peer", "name", f"fw{k}",
                         "netns", lab.env["LAB_SCAN_NS"]], check_rc=0)
                ns.exec(["ip", "addr", "add", near + "/30", "dev", f"fn{k}"], check_rc=0)
                ns.exec(["ip", "link", "set", f"fn{k}", "up"], check_rc=0)
                for c in (["ip", "addr", "add", far + "/30", "dev", f"fw{k}"],
                          ["ip", "link", "set", f"fw{k}", "up"]):
                    run(["ip", "netns", "exec", lab.env["LAB_SCAN_NS"]] + c, check_rc=0)
            nc.start().wait_ready()
            urls = [nc.url(f"198.19.254.{4 * k + 1}") for k in range(2)]
            truth = {(ip, port, st) for (ip, port), st in
                     la.truth(TARGETS, PORTS, STATUSES).items()}
            check(truth == {(ip, port, st) for (ip, port), st in
                            lb.truth(TARGETS, PORTS, STATUSES).items()}, "the labs' truths differ")
            camp = os.path.join(work, "fence.yaml")
            with open(camp, "w") as f:
                f.write(CAMPAIGN.format(statuses=STATUSES, targets=TARGETS, ports=PORTS))
            caps = [Capture(la, os.path.join(work, "a.syn")),
                    Capture(lb, os.path.join(work, "b.syn"))]
            wait_for(lambda: all(c.ready() for c in caps), 60, "tshark capturing")

            wa = Worker(la, urls[0], camp, work, "a")
            workers.append(wa)
            wait_for(lambda: "scanning" in wa.stderr(), 60, "worker A sending")
            t_send = time.monotonic()
            wb = Worker(lb, urls[1], camp, work, "b", ("--rate", 20000))
            workers.append(wb)
            wait_for(lambda: "on bucket" in wb.stderr(), 60, "worker B waiting")
            time.sleep(0.5)
            c0, t0 = cpu_seconds(wb.pid()), time.monotonic()
            time.sleep(4)
            c1, t1 = cpu_seconds(wb.pid()), time.monotonic()
            share = (c1 - c0) / (t1 - t0)
            print(f"worker B waiting for the shard: {c1 - c0:.2f} s of CPU in {t1 - t0:.1f} s "
                  f"({100 * share:.1f}% of a CPU)", flush=True)
            check(share < 0.10, f"a waiting worker used {100 * share:.1f}% of a CPU")

            # Cut A off 5 s after it began sending (about 10,000 of 24,576 probes out).
            time.sleep(max(0.0, t_send + 5 - time.monotonic()))
            check(wa.p.poll() is None and "claimed" not in wb.stderr(),
                  f"the shard is not A's: {wa.stderr()[-800:]} {wb.stderr()[-800:]}")
            t_cut = time.time()
            ns.exec(["ip", "link", "set", "fn0", "down"], check_rc=0)
            rc_b = wb.wait(90)
            eb = wb.stderr()
            check(rc_b == 0, f"worker B exited {rc_b}: {eb[-1500:]}")
            check("took over claim.lab.1" in eb, f"worker B did not take the shard over: "
                                                 f"{eb[-1500:]}")
            print("worker B: " + [ln for ln in eb.splitlines() if "took over" in ln][0].strip(),
                  flush=True)
            time.sleep(1)
            ns.exec(["ip", "link", "set", "fn0", "up"], check_rc=0)
            rc_a = wa.wait(90)
            ea = wa.stderr()
            check(rc_a == 0, f"worker A exited {rc_a} after its link came back: {ea[-1500:]}")
            fence = [ln for ln in ea.splitlines() if "stops sending" in ln]
            check(fence, f"worker A never stopped sending its shard: {ea[-1500:]}")
            print("worker A: " + fence[0].strip(), flush=True)

            syn_a, syn_b = caps[0].stop(), caps[1].stop()
            check(syn_a and syn_b, f"captured {len(syn_a)} and {len(syn_b)} SYNs")
            first_b = min(t for t, _, _ in syn_b)
            last_a = max(t for t, _, _ in syn_a)
            after_cut = [r for r in syn_a if r[0] >= t_cut]
            both = [r for r in syn_a if r[0] >= first_b]
            pairs_b = {(ip, port) for _, ip, port in syn_b}
            print(f"A: {len(syn_a)} SYNs, the last {last_a - t_cut:.2f} s after the cut-off, "
                  f"{len(after_cut)} after it (all sent again by B: "
                  f"{sum((ip, p) in pairs_b for _, ip, p in after_cut)}); B: {len(syn_b)} SYNs, "
                  f"the first {first_b - t_cut:.2f} s after the cut-off; A's SYNs after B's "
                  f"first: {len(both)}", flush=True)
            check(not both, f"A sent {len(both)} probes after B began the shard")
            check("resuming from its checkpoint" in eb,
                  f"worker B did not resume the shard from A's checkpoint: {eb[-1500:]}")

            out = os.path.join(work, "fence.csv")
            p = ns.exec([DPSCAN, "collect", "--cluster", nc.url(), "fence", "-o", out,
                         "--output-format", "csv"], timeout=120)
            check(p.returncode == 0, f"collect exited {p.returncode}: {p.stderr[-800:]}")
            _, rows = read_csv(out)
            got = [(r["ip"], int(r["port"]), r["status"]) for r in rows]
            missing, extra = truth - set(got), set(got) - truth
            print(f"collect: {len(got)} results of {len(truth)} in the truth, {len(missing)} "
                  f"missing, {len(extra)} extra; {p.stderr.strip().splitlines()[-1]}",
                  flush=True)
            check(not missing and not extra and len(got) == len(set(got)),
                  f"collect: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} "
                  f"extra (e.g. {sorted(extra)[:3]}), {len(got) - len(set(got))} twice")
            st = json.loads(ns.exec([DPSCAN, "cluster", "status", "--cluster", nc.url(), "fence",
                                     "--json"], check_rc=0).stdout)
            check(st["shards_done"] == 1 and st["done"], f"cluster status: {st}")
    finally:
        for w in workers:
            if w.p.poll() is None:
                w.p.kill()
                w.p.wait()
        for c in caps:
            c.stop()
        if os.environ.get("CLUSTER_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main("cluster_fence", body)
