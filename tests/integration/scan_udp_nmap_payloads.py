#!/usr/bin/python3
"""scan_udp_nmap_payloads.py - `--udp-payload nmap:PORT` and `nmap:all` (docs/udp-payloads.md)
against nmap's own payload file, read here by a parser of this script's (Python's unescaping).

- The probes dpscan writes through DPDK's net_pcap driver (nothing is sent anywhere), dissected
  by scapy: for every address and port, the UDP payloads are exactly nmap's payloads for that
  port in /usr/share/nmap/nmap-payloads, one frame each (a port nmap has none for gets an empty
  datagram); nmap:PORT alone gives that port nmap's payloads and the others their defaults.
- The dry run's csv and ndjson records name each probe's payload as nmap:FILE:LINE, the line
  of its "udp" here; its log says "N ports, M probe slots"; a campaign's udp-payload list
  takes nmap:all too.
- Errors, exit 2: a missing file (the message names it and Debian's package nmap-common), a
  port nmap has no payload for, a port not scanned, a malformed spec.
Skips (77) without root (a network namespace for net_pcap) or without nmap's file (Debian's
nmap-common; scripts/install-deps.sh --bench installs nmap).
Env: DPSCAN. Exit 0 pass, 1 fail.
"""
import ast
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid

from scapy.all import IP, UDP, rdpcap
from scapy.utils import PcapWriter

HERE = os.path.dirname(os.path.abspath(__file__))
DPSCAN = os.environ.get("DPSCAN", os.path.join(HERE, "../../build/src/dpscan"))
NMAP = "/usr/share/nmap/nmap-payloads"
TARGETS = "198.18.0.0/30"
ADDRS = [f"198.18.0.{i}" for i in range(4)]
# two payloads each (53, 123, 161), three (137), a range entry's (40000), none (9999)
PORTS = [53, 123, 137, 161, 9999, 40000]
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def nmap_entries(path):
    """[(port ranges, bytes, line of its "udp")], read from nmap-payloads by a tokenizer of
    this script's own."""
    text = open(path, encoding="latin-1").read()
    toks = [(m.group(0), text.count("\n", 0, m.start()) + 1)
            for m in re.finditer(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"|[^\s"#]+', text)]
    entries, i = [], 0
    while i < len(toks):
        t, line = toks[i]
        if t != "udp":
            i += 1
            continue
        ranges = []
        for item in toks[i + 1][0].split(","):
            lo, _, hi = item.partition("-")
            ranges.append((int(lo), int(hi or lo)))
        data, i = b"", i + 2
        while i < len(toks) and (toks[i][0].startswith('"') or toks[i][0].startswith("#")):
            if toks[i][0].startswith('"'):
                data += ast.literal_eval("b" + toks[i][0])
            i += 1
        entries.append((ranges, data, line))
    return entries


def for_port(entries, port):
    return [(d, line) for ranges, d, line in entries if any(lo <= port <= hi for lo, hi in ranges)]


def dpscan(*args, timeout=60):
    return subprocess.run([DPSCAN, "-q", "--no-default-blocklist", *args], capture_output=True,
                          text=True, timeout=timeout)


def sent_payloads(ns, work, name, specs):
    """{(address, port): sorted payloads} dpscan writes to a pcap for these --udp-payload specs."""
    empty = os.path.join(work, "empty.pcap")
    if not os.path.exists(empty):
        w = PcapWriter(empty, linktype=1)
        w._write_header(None)
        w.close()
    out = os.path.join(work, f"{name}.pcap")
    args = ["ip", "netns", "exec", ns, DPSCAN, "-q", "--no-default-blocklist", TARGETS, "-M", "udp",
            "-p", ",".join(map(str, PORTS)), "--device", f"net_pcap0,rx_pcap={empty},tx_pcap={out}",
            "--source-ip", "198.19.255.2", "--gateway-mac", "02:00:00:00:00:01", "--cooldown", "0",
            "-o", os.devnull]
    for s in specs:
        args += ["--udp-payload", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    expect(r.returncode == 0, f"{name}: dpscan exited {r.returncode}: {r.stderr.strip()[-400:]}")
    got = collections.defaultdict(list)
    if r.returncode == 0:
        for f in rdpcap(out):
            if IP in f and UDP in f:
                got[(f[IP].dst, f[UDP].dport)].append(bytes(f[UDP].payload))
    return {k: sorted(v) for k, v in got.items()}


def check_sent(entries, ns, work):
    got = sent_payloads(ns, work, "all", ["nmap:all"])
    for port in PORTS:
        want = sorted(d for d, _ in for_port(entries, port)) or [b""]
        for a in ADDRS:
            expect(got.get((a, port)) == want,
                   f"nmap:all {a}:{port}: sent {len(got.get((a, port), []))} payloads "
                   f"{[p[:8].hex() for p in got.get((a, port), [])]}, nmap-payloads has "
                   f"{[p[:8].hex() for p in want]}")
    print(f"nmap:all: {sum(len(v) for v in got.values())} probes, each port's payloads as nmap's file has them")

    got = sent_payloads(ns, work, "one", ["nmap:161"])
    want = sorted(d for d, _ in for_port(entries, 161))
    expect(all(got.get((a, 161)) == want for a in ADDRS), "nmap:161: port 161 sends nmap's payloads")
    # the others: the built-in DNS query (one payload, 30 bytes, not nmap's), nothing for 9999
    expect(all(len(got.get((a, 53), [])) == 1 and len(got[(a, 53)][0]) == 30 for a in ADDRS),
           f"nmap:161: port 53 keeps the built-in payload: {got.get((ADDRS[0], 53))}")
    expect(all(got.get((a, 9999)) == [b""] for a in ADDRS), "nmap:161: port 9999 an empty datagram")


def check_dry_run(entries, work):
    ports = ",".join(map(str, PORTS))
    slots = sum(max(1, len(for_port(entries, p))) for p in PORTS)
    want = collections.Counter()
    for a in ADDRS:
        for p in PORTS:
            names = [f"nmap:{NMAP}:{line}" for _, line in for_port(entries, p)] or ["hex"]
            for n in names:
                want[(a, p, n)] += 1
    csv = os.path.join(work, "dry.csv")
    r = subprocess.run([DPSCAN, "--no-default-blocklist", TARGETS, "-M", "udp", "-p", ports,
                        "--udp-payload", "nmap:all", "--dry-run", "-o", csv],
                       capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, f"dry run exited {r.returncode}: {r.stderr[-300:]}")
    expect(f"x {len(PORTS)} ports, {slots} probe slots = {len(ADDRS) * slots} targets" in r.stderr,
           f"dry run log: want '{len(PORTS)} ports, {slots} probe slots': {r.stderr.strip()[:300]}")
    lines = open(csv).read().splitlines()
    expect(lines[0] == "ip,port,payload", f"dry-run csv header {lines[0]!r}")
    got = collections.Counter()
    for l in lines[1:]:
        ip, port, name = l.split(",", 2)
        got[(ip, int(port), name)] += 1
    expect(got == want, f"dry-run csv: {sum(got.values())} records, want {sum(want.values())}; "
           f"extra {list((got - want).items())[:3]} missing {list((want - got).items())[:3]}")
    nd = os.path.join(work, "dry.ndjson")
    r = dpscan(TARGETS, "-M", "udp", "-p", ports, "--udp-payload", "nmap:all", "--dry-run", "-o", nd,
               "--output-format", "ndjson")
    got = collections.Counter()
    for l in open(nd).read().splitlines():
        o = json.loads(l)
        expect(sorted(o) == ["ip", "payload", "port"], f"dry-run ndjson keys {sorted(o)}")
        got[(o["ip"], o["port"], o.get("payload"))] += 1
    expect(got == want, f"dry-run ndjson: {sum(got.values())} records, want {sum(want.values())}")
    print(f"dry run: {sum(want.values())} records name nmap's payloads by their line")


def check_campaign(entries, work):
    """The campaign key udp-payload takes the same nmap: specs."""
    path = os.path.join(work, "c.yaml")
    open(path, "w").write(f"""defaults:
  no-default-blocklist: true
  dry-run: true
scans:
  - name: nm
    targets: [198.18.0.1]
    ports: 53,9999
    probe-module: udp
    udp-payload: ['nmap:all']
    output: {work}/{{scan}}.csv
""")
    r = subprocess.run([DPSCAN, "-q", "-c", path], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, f"campaign exited {r.returncode}: {r.stderr[-300:]}")
    if r.returncode == 0:
        got = sorted(open(os.path.join(work, "nm.csv")).read().splitlines()[1:])
        want = sorted([f"198.18.0.1,53,nmap:{NMAP}:{line}" for _, line in for_port(entries, 53)] +
                      ["198.18.0.1,9999,hex"])
        expect(got == want, f"campaign dry run {got}, want {want}")


def check_errors():
    cases = [
        (["-p", "53", "--udp-payload", "nmap:53:/nonexistent/nmap-payloads"],
         ["/nonexistent/nmap-payloads", "No such file", "nmap-common"]),
        (["-p", "53", "--udp-payload", "nmap:all:/nonexistent/nmap-payloads"],
         ["/nonexistent/nmap-payloads", "nmap-common"]),
        (["-p", "53", "--udp-payload", "nmap:70000"], ["bad port '70000'"]),
        (["-p", "53", "--udp-payload", "nmap:"], ["bad port ''"]),
        (["-p", "53", "--udp-payload", "nmap:53:"], ["expected a file name"]),
    ]
    if os.path.exists(NMAP):  # these read the file before they judge the port
        cases.append((["-p", "53", "--udp-payload", "nmap:161"], ["port 161 is not scanned"]))
        cases.append((["-p", "9999", "--udp-payload", "nmap:9999"], [f"{NMAP} has no payload for port 9999"]))
    for args, words in cases:
        r = dpscan("198.18.0.1", "-M", "udp", "--dry-run", "-o", os.devnull, *args)
        expect(r.returncode == 2 and all(w in r.stderr for w in words),
               f"{args}: exit {r.returncode}, want 2 and {words} in: {r.stderr.strip()[:300]}")


def main():
    check_errors()
    if not os.path.exists(NMAP):
        print(f"no {NMAP} (Debian's nmap-common): skipped")
        return 77 if not failures else 1
    entries = nmap_entries(NMAP)
    expect(len(entries) > 40, f"nmap-payloads: {len(entries)} entries")
    for p in PORTS:
        print(f"  port {p}: nmap-payloads has {len(for_port(entries, p))} payloads")
    with tempfile.TemporaryDirectory(prefix="dpscan-nmap-payloads.") as work:
        check_dry_run(entries, work)
        check_campaign(entries, work)
        if os.geteuid() != 0:
            print("not root: the net_pcap part is skipped")
            return 77 if not failures else 1
        ns = f"dpsnm-{uuid.uuid4().hex[:6]}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            check_sent(entries, ns, work)
        finally:
            subprocess.run(["ip", "netns", "del", ns])
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("scan_udp_nmap_payloads: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
