// Command line -> ScanPlan. Boost.Program_options does the syntax; everything semantic
// (addresses, ports, contradictions) is checked here so that a bad flag is one clear line
// and exit code 2, before any device is touched.
#include <sched.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "dpscan/addr.hpp"
#include "dpscan/campaign.hpp"
#include "dpscan/error.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/ports.hpp"
#include "dpscan_version.h"

namespace po = boost::program_options;

namespace dpscan {
namespace {

Ipv4Addr ip_or_throw(const std::string& text, const char* option) {
  if (auto ip = Ipv4Addr::parse(text)) return *ip;
  throw UsageError(fmt::format("--{}: '{}' is not an IPv4 address", option, text));
}

MacAddr mac_or_throw(const std::string& text) {
  if (auto mac = MacAddr::parse(text)) return *mac;
  throw UsageError(
      fmt::format("--gateway-mac: '{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", text));
}

// Splits --eal-args like a shell would for the simple cases: white space separates,
// single and double quotes group.
std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(cur), cur.clear(), in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw UsageError("--eal-args: unterminated quote");
  if (in_word) out.push_back(cur);
  return out;
}

// "2,3" or "4-7" or "2,4-5": CPU numbers for --tx-cpus/--rx-cpus, in the order given.
std::vector<unsigned> parse_cpu_list(const std::string& text, const char* option) {
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format("--{}: '{}' {}", option, text, why));
  };
  const auto syntax = [&] {
    return bad(
        fmt::format("is not a list of CPU numbers like 2,3 or 4-7 (each below {})", CPU_SETSIZE));
  };
  // A CPU number: 1 to 4 digits, below CPU_SETSIZE; advances `at`.
  auto number = [&](size_t& at) {
    size_t end = at;
    while (end < text.size() && end - at < 5 && std::isdigit(static_cast<unsigned char>(text[end])))
      ++end;
    if (end == at || end - at > 4) throw syntax();
    const auto v = static_cast<unsigned>(std::stoul(text.substr(at, end - at)));
    if (v >= CPU_SETSIZE) throw syntax();
    at = end;
    return v;
  };
  std::vector<unsigned> cpus;
  size_t at = 0;
  for (;;) {
    const unsigned a = number(at);
    unsigned b = a;
    if (at < text.size() && text[at] == '-') b = number(++at);
    if (a > b) throw syntax();
    for (unsigned c = a; c <= b; ++c) {
      if (std::find(cpus.begin(), cpus.end(), c) != cpus.end())
        throw bad(fmt::format("names CPU {} twice", c));
      cpus.push_back(c);
      if (cpus.size() > 64) throw bad("names more than 64 CPUs");
    }
    if (at == text.size()) break;
    if (text[at] != ',') throw syntax();
    ++at;
  }
  return cpus;
}

double seconds_or_throw(double v, const char* option) {
  if (!std::isfinite(v) || v < 0)
    throw UsageError(fmt::format("--{} must be 0 or more seconds", option));
  return v;
}

void parse_source_ports(const std::string& text, ScanPlan& plan) {
  unsigned a = 0, b = 0;
  char tail;
  const int n = std::sscanf(text.c_str(), "%u-%u%c", &a, &b, &tail);
  if (n == 1) b = a;
  if ((n != 1 && n != 2) || a == 0 || b > 65535 || a > b) {
    throw UsageError(fmt::format("--source-port: '{}' is not a port range like 32768-65535", text));
  }
  plan.sport_first = static_cast<uint16_t>(a);
  plan.sport_count = b - a + 1;
}

// "10G", "2.5g", "500M", "100k", "1000000": bits per second.
double parse_bandwidth(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end && *end) {
    const char unit = static_cast<char>(std::tolower(*end));
    v *= unit == 'k' ? 1e3 : unit == 'm' ? 1e6 : unit == 'g' ? 1e9 : unit == 't' ? 1e12 : -1;
    ++end;
    if (*end == 'b' || *end == 'B') ++end;  // "10Gb"
  }
  if (!end || *end || !std::isfinite(v) || v <= 0) {
    throw UsageError(fmt::format(
        "--bandwidth: '{}' is not a rate like 10G, 500M or 100k (bits per second)", text));
  }
  return v;
}

// Bytes a probe takes on an Ethernet wire: the frame (padded to 60), FCS (4), preamble and
// start delimiter (8), inter-frame gap (12). A 66-byte "windows" probe takes 90.
uint64_t wire_bytes(OptionProfile p) {
  ProbeConfig c;
  c.options = p;
  return std::max<uint64_t>(ProbeTemplate(c).size(), 60) + 4 + 20;
}

// Every option, bound to `plan` and `v`. One table serves the parser, --help, the campaign
// file's keys (option_catalog) and the command-line map that overrides a campaign.
struct CliVars {
  std::vector<std::string> targets, targets_files, excludes, exclude_files, output_specs;
  std::string ports, output, output_format, output_fields, status_format, report, gateway_ip,
      gateway_mac, source_ip, eal_args, probe_options, source_port, shard, max_targets, seed,
      cookie, bandwidth, config, tx_cpus, rx_cpus, rx_checksum;
  unsigned ttl = 64;
  unsigned window = 65535;
};

struct Descriptions {
  po::options_description visible;
  po::options_description all;
  po::positional_options_description positional;
};

void describe(Descriptions& d, ScanPlan& plan, CliVars& v) {
  // clang-format off
  po::options_description scan("Targets");
  scan.add_options()
      ("targets-file", po::value(&v.targets_files)->composing(), "read targets from FILE (one CIDR, a-b range or address per line; # comments)")
      ("ports,p", po::value(&v.ports), "ports to scan: list and ranges, e.g. 22,80,8000-8100")
      ("exclude", po::value(&v.excludes)->composing(), "exclude addresses (CIDR, range, address; comma-separated; repeatable)")
      ("exclude-file", po::value(&v.exclude_files)->composing(), "exclude the addresses listed in FILE")
      ("no-default-blocklist", po::bool_switch(), "do not exclude the IANA special-purpose ranges (config/blocklist.conf); needed for lab scans of 198.18.0.0/15")
      ("seed", po::value(&v.seed), "seed of the scan order (default: random, written to the summary)")
      ("shard", po::value(&v.shard), "scan only shard I of N (1-based, e.g. 2/4); all shards need the same --seed")
      ("retries", po::value(&plan.retries)->default_value(0), "send each target N more probes, spread over the scan")
      ("max-targets", po::value(&v.max_targets), "probe at most N targets, or N% of the target space (per shard)")
      ("max-runtime", po::value(&plan.max_runtime_s)->default_value(0), "stop sending after SEC seconds (0: no limit)")
      ("checkpoint", po::value(&plan.checkpoint_path), "write resume state to FILE every few seconds and on Ctrl-C/SIGTERM")
      ("checkpoint-interval", po::value(&plan.checkpoint_interval_s)->default_value(5), "seconds between checkpoints")
      ("resume", po::value(&plan.resume_path), "continue the scan saved in checkpoint FILE (same targets, ports, shard, lcores)");

  po::options_description net("Sending");
  net.add_options()
      ("rate", po::value(&plan.rate_pps)->default_value(10000), "probes per second; 0 sends as fast as the device accepts")
      ("bandwidth", po::value(&v.bandwidth), "send rate in bits per second on the wire instead of --rate, e.g. 10G, 500M (frame + FCS + preamble + gap)")
      ("tx-lcores", po::value(&plan.tx_lcores)->default_value(1), "TX lcores, each with its own queue and part of the scan")
      ("rx-lcores", po::value(&plan.rx_lcores)->default_value(1), "RX lcores (queues spread by RSS where the device has it)")
      ("tx-cpus", po::value(&v.tx_cpus), "pin the TX lcores to these CPUs, one each, e.g. 2,3 or 2-5 (sets --tx-lcores)")
      ("rx-cpus", po::value(&v.rx_cpus), "pin the RX lcores to these CPUs, one each (sets --rx-lcores)")
      ("device", po::value(&plan.device), "DPDK device: a PCI address (0000:01:00.0) or a virtual device string (net_af_packet0,iface=veth0)")
      ("eal-args", po::value(&v.eal_args), "further DPDK EAL options, e.g. \"--lcores 0@0,1@1,2@1\"")
      ("source-ip", po::value(&v.source_ip), "source address(es) of the probes: an address, a list or a range (required unless --dry-run)")
      ("gateway-ip", po::value(&v.gateway_ip), "next-hop IPv4 address, resolved by ARP")
      ("gateway-mac", po::value(&v.gateway_mac), "next-hop MAC address (instead of --gateway-ip)")
      ("source-port", po::value(&v.source_port)->default_value("32768-65535"), "range of TCP source ports the cookie picks from")
      ("probe-options", po::value(&v.probe_options)->default_value("windows"), "TCP option profile: none, mss, windows, linux, bsd")
      ("ttl", po::value(&v.ttl)->default_value(64), "IPv4 time to live of the probes")
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
      ("cooldown", po::value(&plan.cooldown_s)->default_value(8), "seconds to keep receiving after the last probe")
      ("dedup-memory", po::value(&plan.dedup_memory)->default_value(uint64_t{1} << 30), "bytes for exact duplicate suppression")
      ("dry-run", po::bool_switch(&plan.dry_run), "send nothing: write one record (ip, port) per probe instead; needs no device")
      ("bench-responder", po::bool_switch(&plan.bench_responder), "benchmark: no device; an in-process responder answers every probe with a SYN-ACK (scripts/bench.sh)");

  po::options_description misc("General");
  misc.add_options()
      ("config,c", po::value(&v.config), "run the scans of campaign FILE (YAML); options given here override the file")
      ("print-config", po::bool_switch(), "print the effective configuration as a campaign (YAML) and exit")
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

}  // namespace

std::optional<ScanPlan> parse_command_line(int argc, const char* const* argv) {
  ScanPlan plan;
  CliVars cli;
  Descriptions d;
  describe(d, plan, cli);
  auto& [targets, targets_files, excludes, exclude_files, output_specs, ports, output,
         output_format, output_fields, status_format, report, gateway_ip, gateway_mac, source_ip,
         eal_args, probe_options, source_port, shard, max_targets, seed, cookie, bandwidth, config,
         tx_cpus, rx_cpus, rx_checksum, ttl, window] = cli;
  (void)config;
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(d.all).positional(d.positional).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }

  if (vm.count("help")) {
    std::cout << "Usage: dpscan [OPTIONS] TARGET...\n"
                 "A kernel-bypass TCP SYN port scanner on DPDK. TARGETs are CIDR blocks,\n"
                 "a-b ranges or addresses, separated by spaces or commas.\n"
                 "Example (the lab): dpscan --no-default-blocklist 198.18.0.0/20 -p 22,80,443 \\\n"
                 "  --device net_af_packet0,iface=veth0 --source-ip 198.19.255.2 --gateway-ip "
                 "198.19.255.1\n"
              << d.visible << '\n';
    return std::nullopt;
  }
  if (vm.count("version")) {
    std::cout << "dpscan " << DPSCAN_VERSION << '\n';
    return std::nullopt;
  }
  plan.verbosity = vm.count("quiet") ? -1 : static_cast<int>(vm.count("verbose"));
  plan.seed_given = vm.count("seed") > 0;
  if (plan.seed_given) {
    const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), plan.seed);
    if (seed.empty() || ec != std::errc{} || end != seed.data() + seed.size()) {
      throw UsageError(fmt::format("--seed: '{}' is not a number from 0 to 2^64-1", seed));
    }
  }

  // Targets and exclusions.
  IpSet requested;
  for (const auto& t : targets) requested.add_specs(t);
  for (const auto& f : targets_files) requested.add_file(f);
  if (requested.empty())
    throw UsageError("no targets: give addresses, ranges or CIDR blocks, or --targets-file");
  if (ports.empty()) throw UsageError("no ports: give -p/--ports, e.g. -p 80 or -p 22,80,443");
  plan.ports = parse_ports(ports);
  IpSet excluded;
  for (const auto& e : excludes) excluded.add_specs(e);
  for (const auto& f : exclude_files) excluded.add_file(f);
  const bool use_blocklist = !vm["no-default-blocklist"].as<bool>();
  if (use_blocklist) excluded.add(default_blocklist());
  plan.requested_addresses = requested.size();
  plan.addresses = requested.minus(excluded);
  if (plan.addresses.empty()) {
    if (use_blocklist && !requested.minus(default_blocklist()).size() && requested.size())
      throw UsageError(
          "every target is in the default blocklist (IANA special-purpose ranges); for the "
          "lab's 198.18.0.0/15 add --no-default-blocklist");
    throw UsageError("no targets left after exclusions");
  }

  // Order, limits, resume.
  if (!shard.empty()) {
    unsigned i = 0, n = 0;
    char tail;
    if (std::sscanf(shard.c_str(), "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i == 0 || i > n) {
      throw UsageError(fmt::format("--shard: '{}' is not I/N with 1 <= I <= N", shard));
    }
    if (!plan.seed_given && plan.resume_path.empty()) {
      throw UsageError("--shard needs --seed: every shard must walk the same permutation");
    }
    plan.shard_index = i - 1;
    plan.shard_count = n;
  }
  for (auto [text, cpus, count, name] :
       {std::tuple{&tx_cpus, &plan.tx_cpus, &plan.tx_lcores, "tx"},
        std::tuple{&rx_cpus, &plan.rx_cpus, &plan.rx_lcores, "rx"}}) {
    if (text->empty() && !vm.count(fmt::format("{}-cpus", name))) continue;
    const std::string option = fmt::format("{}-cpus", name);
    *cpus = parse_cpu_list(*text, option.c_str());
    if (!vm[fmt::format("{}-lcores", name)].defaulted() && *count != cpus->size()) {
      throw UsageError(fmt::format("--{}-lcores {} and --{} with {} CPUs disagree; give one", name,
                                   *count, option, cpus->size()));
    }
    *count = static_cast<uint32_t>(cpus->size());
  }
  if (plan.tx_lcores == 0 || plan.tx_lcores > 64) throw UsageError("--tx-lcores must be 1 to 64");
  if (plan.rx_lcores == 0 || plan.rx_lcores > 64) throw UsageError("--rx-lcores must be 1 to 64");
  if (plan.retries > 100) throw UsageError("--retries must be 0 to 100");
  if (!max_targets.empty()) {
    char* end = nullptr;
    const double v = std::strtod(max_targets.c_str(), &end);
    const bool percent = end && *end == '%' && end[1] == 0;
    if (!end || end == max_targets.c_str() || (!percent && *end) || !std::isfinite(v) || v < 0 ||
        (percent && v > 100) || (!percent && v != std::floor(v))) {
      throw UsageError(
          fmt::format("--max-targets: '{}' is not a count or a percentage like 10%", max_targets));
    }
    if (plan.retries > 0) {
      // With retries the probes of a target are spread over the whole scan, so a cap on
      // probes would not be a cap on targets; an exact one needs state dpscan does not keep.
      throw UsageError("--max-targets cannot be combined with --retries");
    }
    if (percent)
      plan.max_targets_percent = v;
    else
      plan.max_targets = static_cast<uint64_t>(v);
  }
  plan.max_runtime_s = seconds_or_throw(plan.max_runtime_s, "max-runtime");
  if (!std::isfinite(plan.checkpoint_interval_s) || plan.checkpoint_interval_s <= 0) {
    throw UsageError("--checkpoint-interval must be more than 0 seconds");
  }
  if (!plan.resume_path.empty() && plan.checkpoint_path.empty())
    plan.checkpoint_path = plan.resume_path;

  // Sending.
  if (!std::isfinite(plan.rate_pps) || plan.rate_pps < 0)
    throw UsageError("--rate must be 0 or more probes per second");
  if (ttl == 0 || ttl > 255) throw UsageError("--ttl must be 1 to 255");
  plan.ttl = static_cast<uint8_t>(ttl);
  if (window > 65535) throw UsageError("--window must be 0 to 65535");
  plan.window = static_cast<uint16_t>(window);
  plan.probe_options = parse_option_profile(probe_options);
  if (!bandwidth.empty()) {
    if (!vm["rate"].defaulted()) throw UsageError("give --rate or --bandwidth, not both");
    plan.rate_pps =
        parse_bandwidth(bandwidth) / (8.0 * static_cast<double>(wire_bytes(plan.probe_options)));
  }
  parse_source_ports(source_port, plan);
  plan.send_rst = !vm["no-rst"].as<bool>();
  plan.cookie_algo = parse_cookie_algo(cookie);
  plan.rx_checksum = parse_rx_checksum(rx_checksum);
  plan.eal_args = split_args(eal_args);
  plan.cooldown_s = seconds_or_throw(plan.cooldown_s, "cooldown");
  if (plan.bench_responder) {
    if (!plan.device.empty())
      throw UsageError("--bench-responder replaces --device; give only one");
    plan.device = "bench_responder";
    if (gateway_ip.empty() && gateway_mac.empty()) gateway_mac = "02:00:00:00:00:01";
  }
  if (!plan.dry_run) {
    if (plan.device.empty())
      throw UsageError(
          "no --device given (a PCI address or a DPDK virtual device); or use --dry-run");
    if (source_ip.empty()) throw UsageError("no --source-ip given");
    if (gateway_ip.empty() && gateway_mac.empty())
      throw UsageError("give --gateway-ip (resolved by ARP) or --gateway-mac");
  }
  if (!source_ip.empty()) plan.sources = SourceAddresses::parse(source_ip);
  if (!gateway_ip.empty()) plan.gateway_ip = ip_or_throw(gateway_ip, "gateway-ip");
  if (!gateway_mac.empty()) plan.gateway_mac = mac_or_throw(gateway_mac);

  // Results.
  plan.outputs.push_back({parse_output_format(output_format), output});
  for (const auto& spec : output_specs) {
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || colon + 1 == spec.size()) {
      throw UsageError(
          fmt::format("--output-spec: '{}' is not FORMAT:PATH (e.g. ndjson:results.json)", spec));
    }
    plan.outputs.push_back({parse_output_format(spec.substr(0, colon)), spec.substr(colon + 1)});
  }
  if (!output_fields.empty()) plan.csv_fields = parse_output_fields(output_fields);
  if (status_format == "text")
    plan.status_format = StatusFormat::kText;
  else if (status_format == "ndjson")
    plan.status_format = StatusFormat::kNdjson;
  else if (status_format == "none")
    plan.status_format = StatusFormat::kNone;
  else
    throw UsageError(
        fmt::format("--status-format: '{}' is not one of text, ndjson, none", status_format));
  // -q: only errors, so no text status (an explicit ndjson status is for a program, and stays).
  if (plan.verbosity < 0 && plan.status_format == StatusFormat::kText)
    plan.status_format = StatusFormat::kNone;
  if (plan.name.empty() ||
      plan.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    throw UsageError(
        fmt::format("scan name '{}' must be letters, digits, '_', '.' or '-'", plan.name));
  }
  plan.report = {false, false, false};
  std::istringstream rs(report);
  for (std::string item; std::getline(rs, item, ',');) {
    if (item == "open")
      plan.report[0] = true;
    else if (item == "closed")
      plan.report[1] = true;
    else if (item == "unreachable")
      plan.report[2] = true;
    else
      throw UsageError(fmt::format("--report: '{}' is not one of open, closed, unreachable", item));
  }
  return plan;
}

}  // namespace dpscan

namespace dpscan {

OutputFormat parse_output_format(const std::string& name) {
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "ndjson") return OutputFormat::kNdjson;
  if (name == "list") return OutputFormat::kList;
  if (name == "xml") return OutputFormat::kXml;
  throw UsageError(fmt::format("output format '{}' is not one of csv, ndjson, list, xml", name));
}

RxChecksum parse_rx_checksum(const std::string& name) {
  if (name == "auto") return RxChecksum::kAuto;
  if (name == "verify") return RxChecksum::kVerify;
  if (name == "trust") return RxChecksum::kTrust;
  throw UsageError(fmt::format("--rx-checksum: '{}' is not one of auto, verify, trust", name));
}

std::string_view to_string(RxChecksum m) {
  switch (m) {
    case RxChecksum::kAuto:
      return "auto";
    case RxChecksum::kVerify:
      return "verify";
    case RxChecksum::kTrust:
      return "trust";
  }
  return "?";
}

std::string_view to_string(OutputFormat f) {
  switch (f) {
    case OutputFormat::kCsv:
      return "csv";
    case OutputFormat::kNdjson:
      return "ndjson";
    case OutputFormat::kList:
      return "list";
    case OutputFormat::kXml:
      return "xml";
  }
  return "?";
}

}  // namespace dpscan

namespace dpscan {

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

OptionMap command_line_options(int argc, const char* const* argv) {
  ScanPlan plan;
  CliVars cli;
  Descriptions d;
  describe(d, plan, cli);
  OptionMap out;
  try {
    const auto parsed =
        po::command_line_parser(argc, argv).options(d.all).positional(d.positional).run();
    for (const auto& o : parsed.options) {
      const std::string key = o.string_key == "target" ? "targets" : o.string_key;
      const OptionInfo* info = find_option(o.string_key);
      auto& sv = out[key];
      if (info && info->is_switch) {
        sv.values = {"true"};
        continue;
      }
      if (!sv.values.empty() && info && !info->repeatable) {
        throw UsageError(fmt::format("option '--{}' cannot be specified more than once", key));
      }
      sv.values.insert(sv.values.end(), o.value.begin(), o.value.end());
    }
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return out;
}

}  // namespace dpscan
