#!/usr/bin/python3
"""campaign_lab.py - a campaign of three real scans against the lab, one after another.

Lab (scripts/lab.sh, unique prefix). The campaign file (written per run: the device name
follows the lab prefix) has defaults for the device (net_af_packet0,iface=$LAB_IFACE),
source 198.19.255.2, gateway 198.19.255.1, no-default-blocklist, rate and cooldown, and
three scans with their own targets, ports, report and outputs ({scan} in every path):
  s22    198.18.0.0/22  x 22,80,443  report open                    csv + ndjson
  alt    198.18.8.0/24  x 8080,443   report open,closed             csv + list
  unr    198.18.16.0/23 x 80,443     report open,closed,unreachable csv + ndjson
`ip netns exec $LAB_SCAN_NS dpscan -c campaign.yaml` must exit 0; then for each scan:
  - its csv (Python's csv module) holds exactly `lab.sh truth TARGETS PORTS REPORT`
    (ip, port, status), each pair once; its ndjson/list hold the same set, ndjson with
    scan = the scan's name and reason syn-ack/reset/port-unreach/host-unreach as the lab
    answers;
  - its summary: scan name, sent = probes = addresses x ports, open/closed/unreachable =
    the truth's counts (whatever the report), plan.targets / plan.ports = the scan's own,
    seed, send_rate_pps, received, duplicates numbers and dropped an object;
  - the scans ran in order, one after another (summary start/end times do not overlap);
  - no other file was written (e.g. no output of one scan under another's name).
Exit 0 pass, 1 fail, 77 skip (not root). Env: DPSCAN, LAB, SRCDIR.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import (Failure, Lab, check, crash_text, diff_sets, main,  # noqa: E402
                             model_addresses, model_ports, read_csv, read_list, read_ndjson,
                             reason_of, run, show)

NAME = "campaign_lab"
SCANS = [
    dict(name="s22", targets="198.18.0.0/22", ports="22,80,443", report="open",
         extra=("ndjson", "{scan}.ndjson")),
    dict(name="alt", targets="198.18.8.0/24", ports="8080,443", report="open,closed",
         extra=("list", "{scan}.list")),
    dict(name="unr", targets="198.18.16.0/23", ports="80,443", report="open,closed,unreachable",
         extra=("ndjson", "{scan}-results.ndjson")),
]

CAMPAIGN = """\
# campaign_lab.py: three scans of the lab {prefix}
defaults:
  device: net_af_packet0,iface={iface}
  source-ip: {src}
  gateway-ip: {gw}
  no-default-blocklist: true
  rate: 20000
  cooldown: 3
  summary: "{{scan}}-summary.json"
scans:
"""
SCAN = """\
  - name: {name}
    targets: {targets}
    ports: [{ports}]
    report: {report}
    outputs:
      - {{format: csv, path: "{{scan}}.csv"}}
      - {{format: {efmt}, path: "{epath}"}}
"""


def check_scan(work, sc, truth_all, prev_end):
    errs = []
    name = sc["name"]
    report = set(sc["report"].split(","))
    truth = {k: v for k, v in truth_all.items() if v in report}
    want = {(ip, p, st) for (ip, p), st in truth.items()}
    # csv
    path = os.path.join(work, f"{name}.csv")
    if not os.path.exists(path):
        return errs + [f"scan {name}: {name}.csv was not written"], prev_end
    header, rows = read_csv(path)
    if header != ["ip", "port", "status", "ttl", "window", "timestamp"]:
        errs.append(f"scan {name}: csv header {header}")
    try:
        got = [(r["ip"], int(r["port"]), r["status"]) for r in rows]
    except (KeyError, ValueError) as e:
        return errs + [f"scan {name}: csv rows unreadable ({e})"], prev_end
    if len(got) != len(set(got)):
        errs.append(f"scan {name}: {len(got) - len(set(got))} csv rows written twice")
    errs += diff_sets(f"scan {name}: {name}.csv vs lab.sh truth {sc['targets']} {sc['ports']} "
                      f"{sc['report']}", want, set(got))
    # the second output
    efmt, epath = sc["extra"]
    epath = os.path.join(work, epath.replace("{scan}", name))
    if not os.path.exists(epath):
        errs.append(f"scan {name}: {os.path.basename(epath)} was not written")
    elif efmt == "ndjson":
        try:
            objs = read_ndjson(epath)
        except Failure as e:
            objs = []
            errs.append(f"scan {name}: {e}")
        eg = {(o.get("ip"), o.get("port"), o.get("status")) for o in objs}
        errs += diff_sets(f"scan {name}: {os.path.basename(epath)} vs truth", want, eg)
        bad = [o for o in objs if o.get("scan") != name or
               o.get("reason") != reason_of(o.get("ip"), o.get("port"), o.get("status"))]
        if bad:
            errs.append(f"scan {name}: {len(bad)} ndjson objects with a wrong scan name or reason, "
                        f"e.g. {bad[:2]}")
    else:
        try:
            head, body, foot = read_list(epath)
            check((head, foot) == ("#masscan", "# end"), f"list header/footer {head!r}/{foot!r}")
            eg = {(ip, port, st) for st, port, ip, _ in body}
            errs += diff_sets(f"scan {name}: {os.path.basename(epath)} vs truth", want, eg)
        except Failure as e:
            errs.append(f"scan {name}: {e}")
    # summary
    spath = os.path.join(work, f"{name}-summary.json")
    try:
        s = json.load(open(spath))
    except (OSError, ValueError) as e:
        return errs + [f"scan {name}: summary: {e}"], prev_end
    naddr = len(model_addresses([sc["targets"]]))
    nports = len(model_ports(sc["ports"]))
    expect = {"scan": name, "sent": naddr * nports, "probes": naddr * nports,
              "interrupted": False, "dry_run": False}
    for st in ("open", "closed", "unreachable"):
        expect[st] = sum(1 for v in truth_all.values() if v == st)
    for k, v in expect.items():
        if s.get(k) != v:
            errs.append(f"scan {name}: summary {k} = {s.get(k)!r}, expected {v!r}")
    for k in ("seed", "send_rate_pps", "received", "duplicates"):
        v = s.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            errs.append(f"scan {name}: summary {k} = {v!r}, expected a number >= 0")
    if not isinstance(s.get("dropped"), dict):
        errs.append(f"scan {name}: summary dropped = {s.get('dropped')!r}, expected an object")
    plan = s.get("plan") or {}
    try:
        pt = plan.get("targets")
        pt = pt if isinstance(pt, list) else [pt]
        if model_addresses([t for x in pt for t in str(x).replace(",", " ").split()]) != \
                model_addresses([sc["targets"]]):
            errs.append(f"scan {name}: summary plan.targets {plan.get('targets')!r}")
        if model_ports(str(plan.get("ports"))) != model_ports(sc["ports"]):
            errs.append(f"scan {name}: summary plan.ports {plan.get('ports')!r}")
    except (ValueError, AttributeError) as e:
        errs.append(f"scan {name}: summary plan unreadable ({e}): {plan!r}")
    start, end = s.get("start_time"), s.get("end_time")
    if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or start > end:
        errs.append(f"scan {name}: summary start/end {start!r}/{end!r}")
    elif prev_end is not None and start < prev_end:
        errs.append(f"scan {name}: started at {start} before the previous scan ended ({prev_end})")
    print(f"  scan {name}: {len(got)} results ({sc['report']}), summary sent {s.get('sent')} open "
          f"{s.get('open')} closed {s.get('closed')} unreachable {s.get('unreachable')}: "
          f"{'ok' if not errs else 'FAIL'}")
    return errs, end


def body():
    errors = []
    work = tempfile.mkdtemp(prefix="dpscan-campaign-lab.")
    try:
        with Lab("cl") as lab:
            text = CAMPAIGN.format(prefix=lab.prefix, iface=lab.env["LAB_IFACE"],
                                   src=lab.env["LAB_SRC_IP"], gw=lab.env["LAB_GW_IP"])
            for sc in SCANS:
                text += SCAN.format(name=sc["name"], targets=sc["targets"], ports=sc["ports"],
                                    report=sc["report"], efmt=sc["extra"][0], epath=sc["extra"][1])
            cpath = os.path.join(work, "campaign.yaml")
            with open(cpath, "w") as f:
                f.write(text)
            truths = {sc["name"]: lab.truth(sc["targets"], sc["ports"], "open,closed,unreachable")
                      for sc in SCANS}
            cmd = lab.scan_cmd("-c", cpath)
            p = run(cmd, cwd=work, timeout=180)
            if p.returncode != 0 or crash_text(p.stderr) or "dpscan: error" in p.stderr:
                raise Failure(f"{show(cmd)}: exit {p.returncode}\n{p.stderr.strip()[-2000:]}\n"
                              f"campaign:\n{text}")
        prev_end = None
        for sc in SCANS:
            errs, prev_end = check_scan(work, sc, truths[sc["name"]], prev_end)
            errors += errs
        expected = {"campaign.yaml"}
        for sc in SCANS:
            expected |= {f"{sc['name']}.csv", f"{sc['name']}-summary.json",
                         sc["extra"][1].replace("{scan}", sc["name"])}
        extra = set(os.listdir(work)) - expected
        if extra:
            errors.append(f"unexpected files written: {sorted(extra)}")
        if p.stdout.strip():  # not specified either way: only said
            print(f"  note: the campaign also wrote {len(p.stdout.splitlines())} lines to stdout")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return errors


if __name__ == "__main__":
    main(NAME, body)
