#!/usr/bin/env /usr/bin/python3
"""metrics_prometheus.py - --metrics-listen scraped by a real Prometheus (Debian's), which this
test starts in the lab's scanner namespace on 127.0.0.1 and stops.

A lab scan (198.18.0.0/18 x 22,80,443 at 20 kpps, shard 2/2, --cooldown 4) serves its
counters; once it has sent everything (dpscan_sending_done 1):
- promtool (Prometheus' own checker) accepts the exposition, without lint complaints;
- every counter of the final status record (--status-format ndjson: the counter table) is
  there once, under Prometheus' names (dpscan_probes_sent_total, dpscan_<name>_total,
  dpscan_results_total{status}, dpscan_dropped_total{reason}), with scan and shard labels,
  one sample per lcore (lcore="tx0", "rx0") for the lcores' counters, summed here;
- the sending counters and the results by status equal the run's summary;
- Prometheus stored the same figures (its HTTP query API) and up{job="dpscan"} is 1.
Bad values of --metrics-listen and a port already taken are refused with a clear error.
Exit 0 pass, 1 fail, 77 skip (not root, or no prometheus). Env: DPSCAN, LAB."""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Lab, Skip, check, main, run  # noqa: E402

TARGETS, PORTS = "198.18.0.0/18", "22,80,443"
SAMPLE = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')

FETCH = r'''
import sys, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=3)
    sys.stdout.write(r.read().decode())
except Exception as e:
    sys.stderr.write(str(e)); sys.exit(1)
'''


def parse(text):
    """{(name, frozenset(labels)): value} and the list of sample lines (for 'once')."""
    out, lines = {}, []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m, f"not an exposition sample: {line!r}")
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        key = (m.group(1), labels)
        check(key not in out, f"sample twice: {line!r}")
        out[key] = float(m.group(3))
        lines.append(line)
    return out


def body():
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            raise Skip(f"{tool} is not installed (scripts/install-deps.sh)")
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-metrics.")
    prom = None
    try:
        # Refused before anything starts: the value, and a port already taken.
        for bad, want in (("9100", "expected ADDR:PORT"), ("localhost:9100", "not an IPv4"),
                          ("127.0.0.1:70000", "not a port")):
            p = run([DPSCAN, "--dry-run", "198.18.0.0/24", "-p", "80", "--no-default-blocklist",
                     "-o", "/dev/null", "--metrics-listen", bad])
            if p.returncode != 2 or want not in p.stderr:
                errors.append(f"--metrics-listen {bad}: exit {p.returncode}, {p.stderr.strip()!r}")
        with Lab("mp") as lab:
            ns = lab.env["LAB_SCAN_NS"]
            mport, pport = random.randrange(20000, 30000), random.randrange(30000, 40000)

            def get(url):
                p = run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", FETCH, url], timeout=10)
                return p.stdout if p.returncode == 0 else None

            taken = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                                      f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', "
                                      f"{mport + 1})); s.listen(); time.sleep(30)"])
            time.sleep(0.5)
            p = run(lab.scan_cmd("--dry-run", "198.18.0.0/24", "-p", "80", "--no-default-blocklist",
                                 "-o", "/dev/null", "--metrics-listen", f"127.0.0.1:{mport + 1}"))
            taken.kill()
            taken.wait()
            if p.returncode != 1 or "cannot listen" not in p.stderr:
                errors.append(f"a port already taken: exit {p.returncode}, {p.stderr.strip()!r}")

            cfg = os.path.join(work, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write(f"global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                        f"scrape_configs:\n  - job_name: dpscan\n    static_configs:\n"
                        f"      - targets: ['127.0.0.1:{mport}']\n")
            plog = open(os.path.join(work, "prometheus.log"), "w")
            prom = subprocess.Popen(["ip", "netns", "exec", ns, "prometheus", f"--config.file={cfg}",
                                     f"--storage.tsdb.path={work}/tsdb",
                                     f"--web.listen-address=127.0.0.1:{pport}", "--log.level=warn"],
                                    stdout=plog, stderr=subprocess.STDOUT)
            api = f"http://127.0.0.1:{pport}"
            deadline = time.time() + 30
            while get(api + "/-/ready") is None:
                check(prom.poll() is None and time.time() < deadline,
                      f"prometheus did not start: {open(plog.name).read()[-1500:]}")
                time.sleep(0.3)

            summary = os.path.join(work, "summary.json")
            status = os.path.join(work, "status.ndjson")
            with open(status, "w") as st:
                scan = subprocess.Popen(lab.scan_cmd(
                    "--no-default-blocklist", TARGETS, "-p", PORTS, "--rate", 20000, "--cooldown", 4,
                    "--shard", "2/2", "--seed", 5, "--device", lab.device(), "--source-ip",
                    lab.env["LAB_SRC_IP"], "--gateway-ip", lab.env["LAB_GW_IP"], "--report",
                    "open,closed,unreachable", "-o", os.path.join(work, "out.csv"), "--summary",
                    summary, "--status-format", "ndjson", "--metrics-listen", f"127.0.0.1:{mport}"),
                    stdout=subprocess.DEVNULL, stderr=st)
                text, deadline = None, time.time() + 60
                while time.time() < deadline:
                    t = get(f"http://127.0.0.1:{mport}/metrics")
                    if t and re.search(r"^dpscan_sending_done\{[^}]*\} 1$", t, re.M):
                        break
                    check(scan.poll() is None, f"dpscan ended ({scan.returncode}) before sending was done")
                    time.sleep(0.2)
                time.sleep(1.5)  # the lab answers within milliseconds; the rest of the cooldown is quiet
                text = get(f"http://127.0.0.1:{mport}/metrics")
                check(text, "no /metrics during the cooldown")
                # Prometheus has scraped a sample with sending done (1 s interval)
                # (the per-lcore series summed, as a user's query would)
                # One query (one request) per look: the run ends a few seconds after sending,
                # and its series go stale then. Each part is tagged by a label q.
                names = {"done": "dpscan_sending_done", "up": "up",
                         "sent": "dpscan_probes_sent_total", "results": "dpscan_results_total"}
                query = " or ".join(f'label_replace({e}, "q", "{q}", "", "")' for q, e in (
                    ("done", "dpscan_sending_done"), ("up", "up"),
                    ("sent", "sum(dpscan_probes_sent_total)"),
                    ("results", "sum by (status) (dpscan_results_total)")))
                stored, deadline = {}, time.time() + 10
                while time.time() < deadline:
                    q = get(api + "/api/v1/query?query=" + urllib.parse.quote(query))
                    stored = {(names[r["metric"]["q"]], r["metric"].get("status", "")):
                              float(r["value"][1]) for r in (json.loads(q)["data"]["result"]
                                                             if q else [])}
                    if stored.get(("dpscan_sending_done", "")) == 1:
                        break
                    time.sleep(0.5)
                scan.wait(timeout=60)
            check(scan.returncode == 0, f"dpscan exited {scan.returncode}")
            p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                               text=True)
            if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
                errors.append(f"promtool check metrics: exit {p.returncode}: {p.stdout}{p.stderr}")
            per_lcore = parse(text)
            # Counters of the TX and RX lcores come once per lcore (lcore="tx0", "rx0", ...),
            # the device's without that label; summed over lcores they are the run's counters.
            got, lcores = {}, {}
            for (name, labels_), v in per_lcore.items():
                lc = dict(labels_).get("lcore")
                key = (name, frozenset(l for l in labels_ if l[0] != "lcore"))
                got[key] = got.get(key, 0) + v
                if lc:
                    lcores.setdefault(name, {})[lc] = v
            if set(lcores.get("dpscan_probes_sent_total", {})) != {"tx0"} or \
                    min(lcores["dpscan_probes_sent_total"].values()) <= 0:
                errors.append(f"dpscan_probes_sent_total per lcore: {lcores.get('dpscan_probes_sent_total')}")
            if set(lcores.get("dpscan_frames_received_total", {})) != {"rx0"}:
                errors.append(f"dpscan_frames_received_total per lcore: "
                              f"{lcores.get('dpscan_frames_received_total')}")
            s = json.load(open(summary))
            final = [json.loads(l) for l in open(status) if l.startswith("{")][-1]
            check(final.get("final"), "no final status record")
            labels = {("scan", "scan"), ("shard", "2/2")}
            statuses = {"open", "closed", "unreachable", "filtered", "up"}
            for name in final["counters"]:
                if name in s["dropped"]:
                    key = ("dpscan_dropped_total", frozenset(labels | {("reason", name)}))
                elif name in statuses:
                    key = ("dpscan_results_total", frozenset(labels | {("status", name)}))
                else:
                    metric = {"sent": "dpscan_probes_sent_total",
                              "received": "dpscan_frames_received_total"}.get(name, f"dpscan_{name}_total")
                    key = (metric, frozenset(labels))
                if key not in got:
                    errors.append(f"counter {name}: no sample {key[0]}{sorted(key[1])}")
            # The endpoint's own counters (not the table's): nobody was refused or timed out.
            for own in ("dpscan_metrics_refused_total", "dpscan_metrics_timed_out_total"):
                if got.get((own, frozenset(labels))) != 0:
                    errors.append(f"{own}: {got.get((own, frozenset(labels)))}, expected 0")
            n_counters = sum(1 for k in got if k[0].endswith("_total")
                             and not k[0].startswith("dpscan_metrics_"))
            if n_counters != len(final["counters"]):
                errors.append(f"{n_counters} counter samples, the table has {len(final['counters'])}")
            exact = {("dpscan_probes_sent_total", ""): s["sent"],
                     ("dpscan_results_total", "open"): s["open"],
                     ("dpscan_results_total", "closed"): s["closed"],
                     ("dpscan_results_total", "unreachable"): s["unreachable"]}
            for (metric, st_), want in exact.items():
                key = (metric, frozenset(labels | ({("status", st_)} if st_ else set())))
                if got.get(key) != want:
                    errors.append(f"/metrics {metric} {st_}: {got.get(key)}, summary {want}")
                if stored.get((metric, st_)) != want:
                    errors.append(f"Prometheus stored {metric} {st_}: {stored.get((metric, st_))}, "
                                  f"summary {want}")
            if stored.get(("up", "")) != 1:
                errors.append(f"up{{job=\"dpscan\"}} = {stored.get(('up', ''))}")
            print(f"metrics: {len(got)} samples, promtool clean; sent {s['sent']} (shard 2/2), open "
                  f"{s['open']}, closed {s['closed']}, unreachable {s['unreachable']}; Prometheus "
                  f"stored {stored}", flush=True)
    finally:
        if prom and prom.poll() is None:
            prom.terminate()
            try:
                prom.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main("metrics_prometheus", body)
