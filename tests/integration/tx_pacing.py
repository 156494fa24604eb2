#!/usr/bin/env /usr/bin/python3
"""TSC pacing on net_null, asked 1 kpps, 10 kpps, 100 kpps, 1 Mpps and 10 Mpps for 5 s each.
What holds under any load (this suite runs beside builds and other tests on two CPUs): when
the TX lcore loses its CPU for over 100 ms the pacer forgives the lag (the probes go later)
and counts the forgiven slots (tx_pacing_forgiven), so:
- probes sent + slots forgiven = rate x run time within 1%, less at most the lag still
  being caught up when the run stops (up to 100 ms' worth, the pacer's kMaxLagSeconds);
- every 1-second window of the ndjson status lines (sent and elapsed, read together once a
  second) in which nothing was forgiven is within 1% of the asked rate (a window shorter
  than 0.5 s, the last one cut by the end of the run, is not judged: one probe more or less
  is 0.2% of 1 kpps x 0.5 s);
- on a quiet run (nothing forgiven) the achieved send rate in the summary is within 1%;
- no bursts above the rate at low rates: at 1 kpps through net_pcap, the capture's
  timestamps (read here with struct, not by dpscan) show probes one at a time. When the TX
  lcore was stalled (the VM or the kernel took its CPU), dpscan catches the lag up at no
  more than twice the rate, so: no two probes closer than 0.4 interval (half, less timer
  jitter) and no 10 ms holding more than 21 probes (2 x 10 + 1). These are judged on a run
  without a stall over 100 ms only: a TX lcore that loses its CPU between handing a probe
  to net_pcap and net_pcap's timestamp makes a gap look shorter than it was.
Runs in a network namespace of its own (net_null and net_pcap send nothing anywhere)."""
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import DPSCAN, Netns, main  # noqa: E402  (throwaway namespace, exit codes)

SECONDS = float(os.environ.get("PACING_SECONDS", "5"))
RATES = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
COMMON = ["-q", "--no-default-blocklist", "0.0.0.0/0", "-p", "80", "--source-ip", "198.19.255.2",
          "--gateway-mac", "02:00:00:00:00:01", "--cooldown", "0", "-o", os.devnull]


def pcap_times(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise ValueError(f"{path}: not a little-endian pcap file (magic {magic:#x})")
    times, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        times.append(sec + frac / (1e9 if nano else 1e6))
        off += 16 + incl
    return times


def check_rates(ns, work, failures):
    for rate in RATES:
        summary = os.path.join(work, f"{rate}.json")
        r = ns.exec([DPSCAN, *COMMON, "--device", "net_null0,no-rx=1", "--rate", str(rate),
                     "--max-runtime", str(SECONDS), "--status-format", "ndjson", "--summary", summary],
                    timeout=60)
        if r.returncode != 0:
            failures.append(f"rate {rate}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        s = json.load(open(summary))
        achieved = s["send_rate_pps"]
        err = (achieved - rate) / rate
        expected_sent = rate * SECONDS
        forgiven = s["tx_pacing_forgiven"]
        sent_err = (s["sent"] + forgiven - expected_sent) / expected_sent
        status = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
        status = [st for st in status if not st["final"]]  # the end-of-run record
        windows, prev, skipped = [], {"elapsed": 0.0, "sent": 0, "counters": {"tx_pacing_forgiven": 0}}, 0
        for st in status:
            dt = st["elapsed"] - prev["elapsed"]
            stalled = st["counters"]["tx_pacing_forgiven"] != prev["counters"]["tx_pacing_forgiven"]
            skipped += stalled
            if dt >= 0.5 and not stalled:
                windows.append((st["elapsed"], (st["sent"] - prev["sent"]) / dt))
            prev = st
        worst = max((abs(w - rate) / rate for _, w in windows), default=None)
        print(f"tx_pacing: asked {rate} pps: achieved {achieved:.1f} pps ({err * 100:+.3f}%), "
              f"sent {s['sent']} + forgiven {forgiven} in {s['send_duration_s']:.3f} s "
              f"({sent_err * 100:+.3f}% of rate x time; {s['tx_pacing_stalls']} stalls), "
              f"tx_retries {s['tx_retries']}; {len(windows)} 1-s windows judged ({skipped} with a stall), worst "
              f"{'-' if worst is None else f'{worst * 100:.3f}%'} off: "
              + " ".join(f"{w:.0f}" for _, w in windows))
        if forgiven == 0 and abs(err) > 0.01:
            failures.append(f"rate {rate}: achieved {achieved:.1f} pps, more than 1% off (nothing forgiven)")
        # The lag being caught up when --max-runtime stops the run: at most 100 ms' worth.
        if sent_err > 0.01 or sent_err < -0.01 - (0.1 / SECONDS if forgiven else 0):
            failures.append(f"rate {rate}: sent {s['sent']} + forgiven {forgiven}, want {expected_sent:.0f} +- 1%")
        if len(windows) + skipped < SECONDS - 1:
            failures.append(f"rate {rate}: only {len(windows) + skipped} status windows in {SECONDS} s")
        for t, w in windows:
            if abs(w - rate) / rate > 0.01:
                failures.append(f"rate {rate}: the window ending at {t:.3f} s ran at {w:.1f} pps, more than 1% off")


def check_no_bursts(ns, work, failures):
    rate, secs = 1000, 3
    empty, out = os.path.join(work, "empty.pcap"), os.path.join(work, "slow.pcap")
    with open(empty, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    summary = os.path.join(work, "slow.json")
    r = ns.exec([DPSCAN, *COMMON, "--device", f"net_pcap0,rx_pcap={empty},tx_pcap={out}",
                 "--rate", str(rate), "--max-runtime", str(secs), "--summary", summary], timeout=60)
    if r.returncode != 0:
        failures.append(f"pcap at {rate} pps: exit {r.returncode}: {r.stderr.strip()}")
        return
    t = pcap_times(out)
    gaps = [b - a for a, b in zip(t, t[1:])]
    s = json.load(open(summary))
    if s["tx_pacing_stalls"]:
        print(f"tx_pacing: {rate} pps through net_pcap: {len(t)} probes + {s['tx_pacing_forgiven']} forgiven "
              f"in {s['tx_pacing_stalls']} stalls: a busy CPU, bursts not judged")
        if len(t) != s["sent"]:
            failures.append(f"pcap at {rate} pps: {len(t)} probes captured, {s['sent']} sent")
        return
    if len(t) < rate * secs * 0.99:
        failures.append(f"pcap at {rate} pps: {len(t)} probes captured in {secs} s")
        return
    most, j = 0, 0
    for i in range(len(t)):
        while t[i] - t[j] >= 0.01:
            j += 1
        most = max(most, i - j + 1)
    print(f"tx_pacing: {rate} pps through net_pcap: {len(t)} probes, gaps {min(gaps) * 1e3:.3f}-"
          f"{max(gaps) * 1e3:.3f} ms (median {sorted(gaps)[len(gaps) // 2] * 1e3:.3f}), at most {most} in 10 ms")
    if min(gaps) < 0.4 / rate:
        failures.append(f"pcap at {rate} pps: two probes {min(gaps) * 1e6:.0f} us apart (a burst)")
    if most > 2 * rate * 0.01 + 1:
        failures.append(f"pcap at {rate} pps: {most} probes within 10 ms")


def body():
    failures = []
    with Netns("dpspace") as ns, tempfile.TemporaryDirectory(prefix="dpscan-pacing.") as work:
        check_rates(ns, work, failures)
        check_no_bursts(ns, work, failures)
    return failures


if __name__ == "__main__":
    main("tx_pacing", body)
