#!/usr/bin/env /usr/bin/python3
"""TSC pacing: asked 10 kpps, 100 kpps and 1 Mpps on net_null for 5 s each, the achieved
send rate in the summary (probes sent / time from first to last burst) is within 1% of the
asked rate, and the number sent matches rate x run time within 1%. Runs in a network
namespace of its own (net_null sends nothing anywhere)."""
import json
import os
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DPSCAN = os.environ.get("DPSCAN", os.path.join(HERE, "../../build/src/dpscan"))
SECONDS = float(os.environ.get("PACING_SECONDS", "5"))


def main():
    if os.geteuid() != 0:
        print("tx_pacing: needs root")
        return 77
    ns = f"dpspace-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    failures = []
    try:
        with tempfile.TemporaryDirectory(prefix="dpscan-pacing.") as work:
            for rate in (10_000, 100_000, 1_000_000):
                summary = os.path.join(work, f"{rate}.json")
                r = subprocess.run(
                    ["ip", "netns", "exec", ns, DPSCAN, "-q", "--no-default-blocklist", "0.0.0.0/0", "-p", "80",
                     "--device", "net_null0,no-rx=1", "--source-ip", "198.19.255.2",
                     "--gateway-mac", "02:00:00:00:00:01", "--rate", str(rate), "--max-runtime", str(SECONDS),
                     "--cooldown", "0", "-o", os.devnull, "--summary", summary],
                    capture_output=True, text=True, timeout=60)
                if r.returncode != 0:
                    failures.append(f"rate {rate}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                s = json.load(open(summary))
                achieved = s["send_rate_pps"]
                err = (achieved - rate) / rate
                expected_sent = rate * SECONDS
                sent_err = (s["sent"] - expected_sent) / expected_sent
                print(f"tx_pacing: asked {rate} pps: achieved {achieved:.1f} pps ({err * 100:+.3f}%), "
                      f"sent {s['sent']} in {s['send_duration_s']:.3f} s ({sent_err * 100:+.3f}% of rate x time), "
                      f"tx_retries {s['tx_retries']}")
                if abs(err) > 0.01:
                    failures.append(f"rate {rate}: achieved {achieved:.1f} pps, more than 1% off")
                if abs(sent_err) > 0.01:
                    failures.append(f"rate {rate}: sent {s['sent']}, want {expected_sent:.0f} +- 1%")
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
