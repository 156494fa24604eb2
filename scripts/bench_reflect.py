#!/usr/bin/env /usr/bin/python3
"""bench_reflect.py - the accuracy-against-rate benchmark; run it through scripts/bench-reflect.sh.

dpscan against dpscan-reflect (the simulated internet) on this machine, each program pinned to
its own CPU (the reflector on CPU 0, the scanner on CPU 1), sweeping the asked rate:

  memif    dpscan (--lcores 1, net_memif client) <-> dpscan-reflect (net_memif server)
  virtio   dpscan (net_virtio_user, in hugepages reserved here) <-> dpscan-reflect (net_vhost)
           both with the `internet` world (seed 7: loss, delays, duplicates, rate limits,
           retransmissions, noise) and the `dense` world (every probe answered);
  veth     a veth pair between two namespaces, dpscan-reflect on net_af_packet at one end and,
           at the other, dpscan (net_af_packet), masscan and ZMap at the same asked rates,
           against the `internet` world with --ideal (nothing lost on purpose: every miss is
           the scanner's or the path's).

For each run it prints asked and achieved pps, probes the reflector received, answers it sent,
the results the scanner reported against what it should have reported, and every counter on
either side that explains a miss. Expected results: the reflector's --answered log (the first
answer that left for each pair while the scanner listened) for dpscan over memif/virtio, and
over the veth, the open ports among them (masscan and ZMap report only those), each checked
against the reflector's --truth; probes lost on the way to the reflector are counted apart.

Writes the table into docs/benchmarks.md (between the bench-reflect markers) and the plot to
docs/bench-reflect.png, unless --no-write. Safety: everything runs in namespaces made here, on
198.18.0.0/15 addresses.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("DPSCAN", os.path.join(ROOT, "build", "src", "dpscan"))
from campaign_common import Netns, run, show  # noqa: E402
from reflect_common import (SRC, Hugepages, Reflector, triples, truth, veth_pair,  # noqa: E402
                            wait_or_wake)
import reflect_common  # noqa: E402

DPSCAN = os.environ["DPSCAN"]
SPACE = "198.18.0.0/15"   # 131,072 addresses
EDGE_S = 0.05             # answers this close to the scanner's end may still have been in flight
WORLDS = {"internet": ["--world", "internet", "--seed", "7"],
          "dense": ["--world", "dense", "--seed", "7"]}
IDEAL = ["--world", "internet", "--ideal"]
BEGIN, END = "<!-- bench-reflect:begin -->", "<!-- bench-reflect:end -->"


def sized_ports(rate, secs, cap):
    """Ports 1-N over SPACE so that a run lasts about `secs` at `rate` (0: `cap` probes)."""
    want = cap if rate == 0 else min(cap, max(2 * 131072, int(rate * secs)))
    n = max(1, math.ceil(want / 131072))
    return f"1-{n}" if n > 1 else "1"


def reflector_rate(log_path):
    """Probes per second the reflector received while the scanner sent (mean of the status
    seconds at or above half the peak: the ramp-up and cooldown seconds left out)."""
    v = []
    for line in open(log_path):
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not rec.get("final"):
                v.append(rec["rx_pps"])
    if not v or max(v) == 0:
        return 0.0
    busy = [x for x in v if x >= max(v) / 2]
    return sum(busy) / len(busy)


def backlog_drops():
    """Frames the kernel dropped because a CPU's input backlog was full (netdev_max_backlog),
    summed over CPUs: where a veth's frames are lost when the receiver falls behind."""
    return sum(int(line.split()[1], 16) for line in open("/proc/net/softnet_stat"))


def misses(dp, rf):
    """The nonzero drop counters on either side: dpscan's (bad_cookie there is mostly the
    world's background noise, answers to no probe) and the reflector's (frames its device
    dropped, answers it could not send: those never reach the --answered log)."""
    why = {}
    for k, n in (dp or {}).get("dropped", {}).items():
        if n:
            why["dpscan " + k] = n
    if (dp or {}).get("tx_pacing_stalls"):
        # not a loss: the sending lcore fell over 100 ms behind the asked rate (--lcores 1 with
        # every probe answered) and the pacer forgave the lag
        why["dpscan tx_pacing_stalls"] = dp["tx_pacing_stalls"]
    for k in ("device_imissed", "device_rx_nombuf", "device_ierrors", "not_sent", "queue_full",
              "no_buffer"):
        if rf.get(k):
            why["reflector " + k] = rf[k]
    return why


class Table:
    def __init__(self):
        self.rows = []

    def add(self, **r):
        self.rows.append(r)
        why = ", ".join(f"{k} {v}" for k, v in r["why"].items()) or "none"
        print(f"  {r['scanner']:7} {r['path']:6} {r['world']:8} asked {fmt_rate(r['asked']):>6}: "
              f"achieved {r['achieved'] / 1e6:.3f} Mpps, sent {num(r['sent'])}, reflector probes "
              f"{r['probes']}, answers {r['answers']}; results {r['found']} of {r['expected']} "
              f"expected, {r['missing']} missing, {r['extra']} extra, {r['twice']} twice; "
              f"counters: {why}", flush=True)

    def markdown(self):
        out = ["| scanner | path | world | asked pps | achieved pps | sent | reflector probes | "
               "answers sent | expected | found | missing | extra | twice | drops counted |", "|" + "---|" * 14]
        for r in self.rows:
            why = ", ".join(f"{k} {v:,}" for k, v in r["why"].items()) or "-"
            out.append(f"| {r['scanner']} | {r['path']} | {r['world']} | {fmt_rate(r['asked'])} | "
                       f"{r['achieved']:,.0f} | {num(r['sent'])} | {r['probes']:,} | "
                       f"{r['answers']:,} | {r['expected']:,} | {r['found']:,} | {r['missing']:,} | "
                       f"{r['extra']:,} | {r['twice']:,} | {why} |")
        return "\n".join(out)


def num(n):
    return "?" if n is None else f"{n:,}"


def fmt_rate(r):
    if r == 0:
        return "max"
    return f"{r / 1e6:g}M" if r >= 1e6 else f"{r / 1e3:g}k"


def answered_split(reflector, end_time):
    end = end_time - EDGE_S
    a = reflector.answered()
    return (triples([r for r in a if float(r["timestamp"]) < end]),
            triples([r for r in a if float(r["timestamp"]) >= end]))


def dpscan_run(table, path, world, rate, ns, work, dev_reflect, dev_scan, eal_scan, ready, secs,
               cap):
    # dense: every probe is a result to check here; half the probes keep the run short
    ports = sized_ports(rate, secs, cap if world == "internet" else cap // 2)
    with Reflector(ns, work, dev_reflect, WORLDS[world], ready=ready()) as r:
        got_rows, s = reflect_common.scan(ns, work, "scan", dev_scan, SPACE, ports, rate,
                                          cooldown=3, eal_args=eal_scan)
        rs = r.stop()
        want, late = answered_split(r, s["end_time"])
    late_pairs = {(ip, port) for ip, port, _ in late}
    got_rows = [g for g in got_rows if (g["ip"], int(g["port"])) not in late_pairs]
    got = triples(got_rows)
    table.add(scanner="dpscan", path=path, world=world, asked=rate, achieved=s["send_rate_pps"],
              sent=s["sent"], probes=rs["probes"],
              answers=rs["sent_synack"] + rs["sent_rst"] + rs["sent_icmp"], expected=len(want),
              found=len(got & want), missing=len(want - got), extra=len(got - want),
              twice=len(got_rows) - len(got), why=misses(s, rs))


def sweep_transport(table, path, rates, secs, cap, work):
    if path == "memif":
        with Netns("bm") as ns:
            sock = os.path.join(work, "memif.sock")
            for world in WORLDS:
                for rate in rates:
                    dpscan_run(table, path, world, rate, ns.name, work,
                               f"net_memif0,role=server,socket={sock}",
                               f"net_memif0,role=client,socket={sock}", "", lambda: None, secs, cap)
        return
    with Hugepages(300, os.path.join(work, "hugepages")) as hp, Netns("bv") as ns:
        sock = os.path.join(work, "vhost.sock")

        def ready():
            if os.path.exists(sock):
                os.remove(sock)
            return sock

        for world in WORLDS:
            for rate in rates:
                dpscan_run(table, path, world, rate, ns.name, work,
                           f"net_vhost0,iface={sock},queues=2",
                           f"net_virtio_user0,path={sock},queues=2", f"--huge-dir {hp.mount}",
                           ready, secs, cap)


def sweep_veth(table, rates, secs, work, scanners):
    port = "80"
    with Netns("bs") as scan_ns, Netns("bt") as tgt_ns:
        a, b, mac_a, mac_b = veth_pair(scan_ns, tgt_ns, "br")
        # ZMap takes its source address from the interface's and needs one to start...
        scan_ns.exec(["ip", "addr", "add", SRC + "/24", "dev", a], check_rc=0)
        # ...and then the kernel would answer SYN-ACKs with RSTs of its own: keep it out of
        # the way, as a ZMap user's firewall does.
        scan_ns.exec(["iptables", "-A", "INPUT", "-i", a, "-j", "DROP"], check_rc=0)
        dev_b = f"net_af_packet0,iface={b}"
        for rate in rates:
            targets = "198.18.0.0/16" if rate * secs <= 65536 else SPACE
            truth_open = {(ip, p) for ip, p, st in truth(IDEAL, targets, port) if st == "open"}
            for scanner in scanners:
                out = os.path.join(work, f"{scanner}.out")
                if os.path.exists(out):
                    os.remove(out)
                s = None
                backlog0 = backlog_drops()
                with Reflector(tgt_ns.name, work, dev_b, IDEAL) as r:
                    t0 = time.time()
                    if scanner == "dpscan":
                        got_rows, s = reflect_common.scan(scan_ns.name, work, "dpscan-veth",
                                                          f"net_af_packet0,iface={a}", targets,
                                                          port, rate, cooldown=3)
                        found_rows = [(g["ip"], int(g["port"])) for g in got_rows
                                      if g["status"] == "open"]
                    elif scanner == "masscan":
                        cmd = ["ip", "netns", "exec", scan_ns.name, "taskset", "-c", "1", "masscan",
                               targets, f"-p{port}", "--source-ip", SRC, "--router-mac", mac_b,
                               "--adapter-mac", mac_a, "-e", a, "--rate", str(rate), "--wait",
                               "3", "-oL", out]
                        m = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
                        rc = wait_or_wake(m, scan_ns.name, a, 20 + 2 * secs)
                        if rc != 0:
                            raise RuntimeError(f"masscan exit {rc}: {show(cmd)}")
                        found_rows = [(f[3], int(f[2])) for f in
                                      (line.split() for line in open(out))
                                      if len(f) == 5 and f[0] == "open"]
                    else:
                        meta = os.path.join(work, "zmap.json")
                        cmd = ["ip", "netns", "exec", scan_ns.name, "taskset", "-c", "1", "zmap",
                               "-i", a, "-S", SRC, "-G", mac_b, "-p", port, "-r", str(rate),
                               "-c", "3", "-b", "/dev/null", "--disable-syslog", "-q",
                               "-o", out, "-m", meta, targets]
                        p = run(cmd, timeout=120 + 2 * secs)
                        if p.returncode != 0:
                            raise RuntimeError(f"zmap exit {p.returncode}: {show(cmd)}\n"
                                               f"{p.stderr[-1500:]}")
                        found_rows = [(ip.strip(), int(port)) for ip in open(out) if ip.strip()]
                    wall = time.time() - t0
                    rs = r.stop()
                    achieved = (s["send_rate_pps"] if s else reflector_rate(r.log_path))
                found = set(found_rows)
                # What the scanner could have found: the open ports the reflector answered (no
                # impairments: every probe it received was answered at once). Probes lost on
                # the way to it are counted below, as a loss of the path.
                want_open = {(a["ip"], int(a["port"])) for a in r.answered() if a["status"] == "open"}
                if not want_open <= truth_open:
                    raise RuntimeError("the reflector answered open ports the truth does not have")
                why = misses(s, rs)
                if backlog_drops() > backlog0:
                    why["kernel backlog drops (softnet_stat)"] = backlog_drops() - backlog0
                # masscan does not say how many it sent; dpscan and ZMap do
                sent = (s["sent"] if s else
                        json.load(open(meta))["total_sent"] if scanner == "zmap" else None)
                if sent is not None and sent > rs["probes"]:
                    # DPDK 22.11's af_packet does not count what its ring dropped (tp_drops)
                    why["lost before the reflector"] = sent - rs["probes"]
                if len(want_open) < len(truth_open):
                    why["open ports the reflector never saw probed"] = len(truth_open) - len(want_open)
                table.add(scanner=scanner, path="veth", world="ideal", asked=rate,
                          achieved=achieved, sent=sent, probes=rs["probes"],
                          answers=rs["sent_synack"] + rs["sent_rst"] + rs["sent_icmp"],
                          expected=len(want_open), found=len(found & want_open),
                          missing=len(want_open - found), extra=len(found - want_open),
                          twice=len(found_rows) - len(found), why=why)
                print(f"    ({scanner}: {wall:.1f} s wall)", flush=True)


def plot(table, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    explicit = [r["asked"] for r in table.rows if r["asked"]]
    x_max = (max(explicit) if explicit else 1e6) * 3
    lines = {}
    for r in table.rows:
        key = f"{r['scanner']} over {r['path']} ({r['world']})"
        x = r["asked"] or x_max
        pct = 100.0 * r["found"] / r["expected"] if r["expected"] else 100.0
        lines.setdefault(key, []).append((x, pct, r["achieved"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    for key, pts in lines.items():
        pts.sort()
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
        ax2.plot([p[0] for p in pts], [p[2] for p in pts], marker="o", label=key)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("asked pps (rightmost point: as fast as it goes)")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_ylabel("found, % of what the reflector answered")
    ax1.set_title("accuracy")
    low = min(p[1] for pts in lines.values() for p in pts)
    ax1.set_ylim(min(99.0, low - 0.5), 100.2)
    ax2.set_yscale("log")
    ax2.set_ylabel("achieved pps")
    ax2.set_title("speed")
    ax2.legend(fontsize=8)
    fig.suptitle(f"dpscan-reflect sweep, {cpu_name()}, {os.cpu_count()} CPUs")
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def table_from_doc(doc):
    """The rows of the table last written into `doc` (for --replot)."""
    text = open(doc).read()
    block = text[text.index(BEGIN):text.index(END)]
    t = Table()
    for line in block.splitlines():
        f = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(f) != 14 or f[0] in ("scanner", "---"):
            continue
        n = [None if x == "?" else int(x.replace(",", "")) for x in f[4:13]]
        asked = 0 if f[3] == "max" else int(float(f[3][:-1]) * (1e6 if f[3][-1] == "M" else 1e3))
        t.rows.append(dict(scanner=f[0], path=f[1], world=f[2], asked=asked, achieved=n[0],
                           sent=n[1], probes=n[2], answers=n[3], expected=n[4], found=n[5],
                           missing=n[6], extra=n[7], twice=n[8], why={}))
    return t


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def write_doc(table, command, doc, png):
    text = open(doc).read()
    block = (f"{BEGIN}\n_Generated by `{command}` on {datetime.date.today()}: {cpu_name()}, "
             f"{os.cpu_count()} CPUs. Plot: [bench-reflect.png](bench-reflect.png)._\n\n"
             f"{table.markdown()}\n\n![accuracy and speed against the asked rate]"
             f"(bench-reflect.png)\n{END}")
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## dpscan against dpscan-reflect\n\n" + block + "\n"
    open(doc, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", default="memif,virtio,veth", help="which of memif,virtio,veth")
    ap.add_argument("--rates", default="100k,1M,3M,0",
                    help="asked rates for memif and virtio (0: as fast as it goes)")
    ap.add_argument("--veth-rates", default="20k,100k,300k,1M", help="asked rates over the veth")
    ap.add_argument("--scanners", default="dpscan,masscan,zmap", help="over the veth")
    ap.add_argument("--secs", type=float, default=2.0, help="about how long each run sends")
    ap.add_argument("--cap", type=int, default=40 * 131072, help="most probes in one run")
    ap.add_argument("--no-write", action="store_true", help="print only; docs/ left alone")
    ap.add_argument("--replot", action="store_true",
                    help="only draw docs/bench-reflect.png again from the table in docs/benchmarks.md")
    a = ap.parse_args()
    if a.replot:
        plot(table_from_doc(os.path.join(ROOT, "docs", "benchmarks.md")),
             os.path.join(ROOT, "docs", "bench-reflect.png"))
        return

    def rates(s):
        m = {"k": 1e3, "M": 1e6}
        return [int(float(x[:-1]) * m[x[-1]]) if x[-1] in m else int(x) for x in s.split(",")]

    for tool in ("masscan", "zmap"):
        if tool in a.scanners and not shutil.which(tool):
            sys.exit(f"bench-reflect: {tool} is not installed (scripts/install-deps.sh --bench)")
    table = Table()
    work = tempfile.mkdtemp(prefix="dpscan-bench-reflect.")
    print(f"bench-reflect: {cpu_name()}, {os.cpu_count()} CPUs; reflector on CPU 0, scanner on "
          f"CPU 1", flush=True)
    try:
        for path in a.paths.split(","):
            print(f"bench-reflect: {path}", flush=True)
            if path == "veth":
                sweep_veth(table, rates(a.veth_rates), a.secs, work, a.scanners.split(","))
            else:
                sweep_transport(table, path, rates(a.rates), a.secs, a.cap, work)
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", work])
    print(table.markdown())
    if not a.no_write:
        doc, png = os.path.join(ROOT, "docs", "benchmarks.md"), os.path.join(ROOT, "docs",
                                                                              "bench-reflect.png")
        plot(table, png)
        command = "scripts/bench-reflect.sh" + "".join(f" {x}" for x in sys.argv[1:])
        write_doc(table, command, doc, png)
        print(f"bench-reflect: wrote {doc} and {png}")


if __name__ == "__main__":
    main()
