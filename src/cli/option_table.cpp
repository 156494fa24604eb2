#include "option_table.hpp"

#include "dpscan/campaign.hpp"

namespace dpscan {

void describe(Descriptions& d, ScanPlan& plan, CliVars& v) {
  // clang-format off
  po::options_description scan("Targets");
  scan.add_options()
      ("targets-file", po::value(&v.targets_files)->composing(), "read targets from FILE (one CIDR, a-b range or address per line; # comments)")
      ("hitlist", po::value(&v.hitlists)->composing(), "IPv6 targets from hitlist FILE: one address (or prefix up to /112) per line, # comments; plain, .gz, .xz or .zst (repeatable)")
      ("ipv6-iid", po::value(&v.ipv6_iid)->default_value("low"), "interface ID of each prefix a generator target (2001:db8::/32-48) names: low (::1), random (keyed by the seed), or a fixed one such as ::dead:beef")
      ("ports,p", po::value(&v.ports), "ports to scan: list and ranges, e.g. 22,80,8000-8100")
      ("exclude", po::value(&v.excludes)->composing(), "exclude addresses (CIDR, range, address, either family; comma-separated; repeatable)")
      ("exclude-file", po::value(&v.exclude_files)->composing(), "exclude the addresses listed in FILE")
      ("no-default-blocklist", po::bool_switch(), "do not exclude the IANA special-purpose ranges (config/blocklist.conf, config/blocklist6.conf); needed for lab scans of 198.18.0.0/15 and 2001:db8::/32")
      ("seed", po::value(&v.seed), "seed of the scan order (default: random, written to the summary)")
      ("shard", po::value(&v.shard), "scan only shard I of N (1-based, e.g. 2/4); all shards need the same --seed")
      ("retries", po::value(&plan.retries)->default_value(0), "send each target N more probes, spread over the scan")
      ("max-targets", po::value(&v.max_targets), "probe at most N targets, or N% of the target space (per shard)")
      ("max-runtime", po::value(&plan.max_runtime_s)->default_value(0), "stop sending after SEC seconds (0: no limit)")
      ("checkpoint", po::value(&plan.checkpoint_path), "write resume state to FILE every few seconds and on Ctrl-C/SIGTERM")
      ("checkpoint-interval", po::value(&plan.checkpoint_interval_s)->default_value(5), "seconds between checkpoints")
      ("resume", po::value(&plan.resume_path), "continue the scan saved in checkpoint FILE (same targets, ports, shard, lcores); file outputs are appended to")
      ("force", po::bool_switch(), "start afresh even though --checkpoint FILE exists and the outputs hold its results (they are overwritten)")
      ("overwrite", po::bool_switch(), "the same as --force");

  po::options_description net("Sending");
  net.add_options()
      ("probe-module,M", po::value(&v.probe_module)->default_value("tcp-syn"), "what to send (ZMap's -M): tcp-syn, udp (payloads per port: docs/udp-payloads.md) or icmp-echo (host discovery, no -p)")
      ("udp-payload", po::value(&v.udp_payloads)->composing(), "udp: a payload for a port, PORT:FILE, PORT:hex:BYTES or PORT:text:TEXT, with {cookie32}-style fields, or nmap's payloads from /usr/share/nmap/nmap-payloads, nmap:PORT or nmap:all[:FILE] (repeatable; several for one port are each sent); ports without one get the built-in payload, or an empty datagram")
      ("udp-any-sport", po::bool_switch(&plan.udp_any_sport), "udp: accept answers from another source port than the one probed (counted in udp_sport otherwise)")
      ("udp-response-bytes", po::value(&plan.udp_response_bytes)->default_value(0), "udp, icmp-echo: keep the first N bytes (at most 512) of each answer's payload, in hex (the 'data' field)")
      ("rate", po::value(&plan.rate_pps)->default_value(10000), "probes per second; 0 sends as fast as the device accepts")
      ("bandwidth", po::value(&v.bandwidth), "send rate in bits per second on the wire instead of --rate, e.g. 10G, 500M (frame + FCS + preamble + gap)")
      ("tx-lcores", po::value(&plan.tx_lcores)->default_value(1), "TX lcores, each with its own queue and part of the scan")
      ("rx-lcores", po::value(&plan.rx_lcores)->default_value(1), "RX lcores (queues spread by RSS where the device has it)")
      ("lcores", po::value(&v.lcores), "1: one lcore does everything (sends, receives and writes results, in turns), for a machine with one CPU to spare; by default the main, TX and RX lcores are separate")
      ("tx-cpus", po::value(&v.tx_cpus), "pin the TX lcores to these CPUs, one each, e.g. 2,3 or 2-5 (sets --tx-lcores)")
      ("rx-cpus", po::value(&v.rx_cpus), "pin the RX lcores to these CPUs, one each (sets --rx-lcores)")
      ("device", po::value(&plan.device), "DPDK device: a PCI address (0000:01:00.0) or a virtual device string (net_af_packet0,iface=veth0)")
      ("eal-args", po::value(&v.eal_args), "further DPDK EAL options, e.g. \"--lcores 0@0,1@1,2@1\"")
      ("source-ip", po::value(&v.source_ip), "source address(es) of the probes, of the targets' family: an address, a list or a range (required unless --dry-run)")
      ("gateway-ip", po::value(&v.gateway_ip), "next-hop address, resolved by ARP (IPv4) or neighbour discovery (IPv6; link-local or global)")
      ("gateway-mac", po::value(&v.gateway_mac), "next-hop MAC address (instead of --gateway-ip)")
      ("source-port", po::value(&v.source_port)->default_value("32768-65535"), "range of TCP source ports the cookie picks from")
      ("probe-options", po::value(&v.probe_options)->default_value("windows"), "TCP option profile: none, mss, windows, linux, bsd")
      ("ttl", po::value(&v.ttl)->default_value(64), "time to live (IPv6: hop limit) of the probes")
      ("window", po::value(&v.window)->default_value(65535), "TCP window of the probes")
      ("no-rst", po::bool_switch(), "do not answer SYN-ACKs with an RST")
      ("cookie", po::value(&v.cookie)->default_value("auto"), "probe cookie PRF: auto (aes where the CPU has AES-NI), aes, siphash")
      ("rx-checksum", po::value(&v.rx_checksum)->default_value("auto"), "answers' checksums: auto (use what the device checked, verify the rest, accept the partial TCP checksums of veth/tap/virtio paths), verify (all in software, complete ones only), trust (none; the cookie decides)");

  po::options_description out("Results");
  out.add_options()
      ("output,o", po::value(&v.output)->default_value("-"), "write results to FILE (- is standard output)")
      ("output-format", po::value(&v.output_format)->default_value("csv"), "format of --output: csv, ndjson, list (masscan -oL) or xml (nmap -oX)")
      ("output-spec", po::value(&v.output_specs)->composing(), "one more output, FORMAT:PATH (repeatable), e.g. ndjson:results.json")
      ("output-fields", po::value(&v.output_fields), "csv columns, from ip,port,status,ttl,window,timestamp,scan,reason")
      ("status-format", po::value(&v.status_format)->default_value("text"), "status on standard error: text, ndjson or none")
      ("report", po::value(&v.report)->default_value("open"), "statuses to report: open[,closed,unreachable]")
      ("summary", po::value(&plan.summary_path), "write a JSON summary of the run to FILE")
      ("metrics-listen", po::value(&plan.metrics_listen), "serve the counters to Prometheus at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9100)")
      ("nats-creds", po::value(&plan.nats_creds), "NATS credentials file (user JWT and NKey seed) for nats: outputs and --cluster")
      ("nats-ca", po::value(&plan.nats_ca), "CA certificate file for tls:// NATS servers")
      ("cooldown", po::value(&plan.cooldown_s)->default_value(8), "seconds to keep receiving after the last probe")
      ("dedup-memory", po::value(&plan.dedup_memory)->default_value(uint64_t{1} << 30), "bytes for exact duplicate suppression")
      ("dry-run", po::bool_switch(&plan.dry_run), "send nothing: write one record (ip, port) per probe instead; needs no device")
      ("bench-responder", po::bool_switch(&plan.bench_responder), "benchmark: no device; an in-process responder answers every probe with a SYN-ACK (scripts/bench.sh)");

  po::options_description misc("General");
  misc.add_options()
      ("config,c", po::value(&v.config), "run the scans of campaign FILE (YAML); options given here override the file")
      ("print-config", po::bool_switch(), "print the effective configuration as a campaign (YAML) and exit")
      ("cluster", po::value<std::string>(), "run the shards of a cluster campaign (-c FILE with shards and cluster) as one of its workers, with the NATS JetStream servers at URL (nats://HOST:PORT[,HOST:PORT...])")
      ("scan-name", po::value(&plan.name)->default_value("scan"), "name of the scan in results and summaries")
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("verbose,v", "also print DPDK's own log")
      ("quiet,q", "print only errors");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("target", po::value(&v.targets)->composing(), "target");
  d.positional.add("target", -1);
  d.visible.add(scan).add(net).add(out).add(misc);
  d.all.add(d.visible).add(hidden);
}

const std::vector<OptionInfo>& option_catalog() {
  static const std::vector<OptionInfo> catalog = [] {
    ScanPlan plan;
    CliVars cli;
    Descriptions d;
    describe(d, plan, cli);
    std::vector<OptionInfo> out;
    for (const auto& o : d.all.options()) {
      const auto& sem = *o->semantic();
      out.push_back({o->long_name(), sem.max_tokens() == 0, sem.is_composing()});
    }
    return out;
  }();
  return catalog;
}

const OptionInfo* find_option(const std::string& name) {
  for (const auto& o : option_catalog())
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace dpscan
