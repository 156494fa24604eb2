#!/usr/bin/env /usr/bin/python3
"""ICMP echo host discovery (--probe-module icmp-echo) in the lab, both families, through
net_af_packet at Linux's default settings: the target namespace's kernel answers echo
requests for every address it holds (the AnyIP 198.18.0.0/16 and 2001:db8:1::/64 and its
gateway addresses) and nothing else (no forwarding; 2001:db8::/32 beyond is blackholed):
  IPv4  198.18.0.0/16 plus 198.19.254.0/24 (silent): exactly the /16 is up
  IPv6  2001:db8:1::/112 plus 2001:db8:2::/120 (silent): exactly the /112 is up
Each result: status up, reason echo-reply, proto icmp, 64 validation bits (identifier,
sequence and payload echoed); the summary counts no cookie drop. The nmap XML lists the hosts
up with no ports (what `nmap -sn` writes). The IPv6 sweep is run again with the target's
link-local address as --gateway-ip (resolved by a neighbour solicitation from our own
link-local address, derived from the port's MAC)."""
import ipaddress
import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from campaign_common import Lab, check, diff_sets, main, run  # noqa: E402

CASES = {
    4: ("198.18.0.0/16,198.19.254.0/24", "198.18.0.0/16", "LAB_SRC_IP", "LAB_GW_IP"),
    6: ("2001:db8:1::/112,2001:db8:2::/120", "2001:db8:1::/112", "LAB_SRC_IP6", "LAB_GW_IP6"),
}


def body():
    errors = []
    work = os.path.join("/tmp", f"scan_icmp_echo.{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    try:
        with Lab("ie") as lab:
            ll = run(["ip", "-n", lab.env["LAB_TGT_NS"], "-6", "-o", "addr", "show", "dev",
                      lab.env["LAB_TGT_IFACE"], "scope", "link"], check_rc=0).stdout.split()
            lab.env["LAB_GW_LL6"] = ll[ll.index("inet6") + 1].split("/")[0]
            cases = dict(CASES)
            cases["6ll"] = (CASES[6][0], CASES[6][1], CASES[6][2], "LAB_GW_LL6")
            for family, (targets, up, src_key, gw_key) in cases.items():
                out, summary, xml = (os.path.join(work, f"{family}.{x}") for x in ("json", "summary", "xml"))
                p = run(lab.scan_cmd("--no-default-blocklist", "-M", "icmp-echo", targets, "--rate", 50000,
                                     "--cooldown", 3, "--device", f"net_af_packet0,iface={lab.env['LAB_IFACE']}",
                                     "--source-ip", lab.env[src_key], "--gateway-ip", lab.env[gw_key],
                                     "--status-format", "none", "--output-format", "ndjson", "-o", out,
                                     "--output-spec", "xml:" + xml, "--summary", summary),
                        timeout=120, check_rc=0)
                rows = [json.loads(line) for line in open(out)]
                got = {r["ip"] for r in rows}
                want = {str(a) for a in ipaddress.ip_network(up)}
                check(len(got) == len(rows), f"IPv{family}: {len(rows) - len(got)} hosts reported twice")
                errors += diff_sets(f"IPv{family} icmp-echo", want, got)
                odd = [r for r in rows if (r["status"], r["reason"], r["proto"], r["validation_bits"], r["port"])
                       != ("up", "echo-reply", "icmp", 64, 0)]
                if odd:
                    errors.append(f"IPv{family}: results not up/echo-reply/icmp/64 bits: {odd[:3]}")
                s = json.load(open(summary))
                if s["dropped"]["bad_cookie"] or s["up"] != len(want):
                    errors.append(f"IPv{family}: summary up {s['up']}, bad_cookie {s['dropped']['bad_cookie']}")
                hosts = ET.parse(xml).getroot().findall("host")
                xml_up = {h.find("address").get("addr") for h in hosts if h.find("status").get("state") == "up"}
                if xml_up != want or any(h.find("ports") is not None and len(h.find("ports")) for h in hosts):
                    errors.append(f"IPv{family}: XML lists {len(xml_up)} hosts up (want {len(want)}), or ports")
                print(f"IPv{family} icmp-echo: {len(got)} hosts up = {len(want)} the kernel holds; sent "
                      f"{s['sent']}, received {s['received']}, {p.stderr.count('error')} errors")
    finally:
        run(["rm", "-rf", work])
    return errors


if __name__ == "__main__":
    main("scan_icmp_echo", body)
