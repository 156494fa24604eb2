#include "plan_builder.hpp"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/hitlist.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/ipv6.hpp"
#include "dpscan/ipv6_targets.hpp"
#include "dpscan/log.hpp"
#include "dpscan/metrics.hpp"
#include "dpscan/output.hpp"
#include "dpscan/ports.hpp"
#include "dpscan/prefix_generator.hpp"
#include "dpscan/result.hpp"
#include "output/nats_sink.hpp"
#include "target_specs.hpp"

namespace dpscan {
namespace {

// Runs fn; a UsageError it throws is about `option` (and item `item` of a list).
template <typename F>
auto about(const char* option, F&& fn, int item = -1) -> decltype(fn()) {
  try {
    return fn();
  } catch (const OptionError&) {
    throw;
  } catch (const UsageError& e) {
    throw OptionError(option, e.what(), item);
  }
}

Ipv4Addr ip_or_throw(const std::string& text, const char* option) {
  if (auto ip = Ipv4Addr::parse(text)) return *ip;
  throw UsageError(fmt::format("--{}: '{}' is not an IPv4 address", option, text));
}

MacAddr mac_or_throw(const std::string& text) {
  if (auto mac = MacAddr::parse(text)) return *mac;
  throw UsageError(
      fmt::format("--gateway-mac: '{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", text));
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
uint64_t wire_bytes(OptionProfile p, Family f) {
  ProbeConfig c;
  c.options = p;
  const size_t frame =
      f == Family::kIpv4 ? TcpTemplate<Ipv4>(c).size() : TcpTemplate<Ipv6>(c).size();
  return std::max<uint64_t>(frame, 60) + 4 + 20;
}

}  // namespace

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

namespace {

// What to scan: the family (one per scan), the addresses of that family minus exclusions
// and the default blocklist, and the ports. Each list item's error names the item.
void plan_targets(const po::variables_map& vm, const CliVars& v, ScanPlan& plan) {
  TargetSpecs requested;
  for (size_t i = 0; i < v.targets.size(); ++i)
    about(
        "targets", [&] { add_target_specs(requested, v.targets[i], true); }, static_cast<int>(i));
  for (size_t i = 0; i < v.targets_files.size(); ++i)
    about(
        "targets-file", [&] { add_target_file(requested, v.targets_files[i], true); },
        static_cast<int>(i));
  auto hitlist = std::make_shared<std::vector<Ipv6Addr>>();
  for (size_t i = 0; i < v.hitlists.size(); ++i) {
    Hitlist h = about(
        "hitlist", [&] { return load_hitlist(v.hitlists[i]); }, static_cast<int>(i));
    log::info("hitlist {}: {} lines, {} addresses ({} duplicates){}", v.hitlists[i], h.counts.lines,
              h.counts.addresses, h.counts.duplicates,
              std::string_view(h.compression) == "none" ? "" : fmt::format(", {}", h.compression));
    if (hitlist->empty()) {
      *hitlist = std::move(h.addresses);
    } else {  // several files: their union, still sorted and distinct
      std::vector<Ipv6Addr> merged;
      merged.reserve(hitlist->size() + h.addresses.size());
      std::set_union(hitlist->begin(), hitlist->end(), h.addresses.begin(), h.addresses.end(),
                     std::back_inserter(merged));
      *hitlist = std::move(merged);
    }
    requested.any6 = true;
  }
  if (requested.any4 && requested.any6)
    throw UsageError(
        "the targets mix IPv4 and IPv6: a scan is of one family; give each family a scan of "
        "its own in a campaign (-c FILE, docs/campaigns.md)");
  if (!requested.any4 && !requested.any6)
    throw UsageError(
        "no targets: give addresses, ranges or CIDR blocks, --targets-file or --hitlist");
  plan.family = requested.any6 ? Family::kIpv6 : Family::kIpv4;
  if (v.ports.empty() && plan.probe != ProbeKind::kIcmpEcho)
    throw UsageError("no ports: give -p/--ports, e.g. -p 80 or -p 22,80,443");
  if (!v.ports.empty()) plan.ports = about("ports", [&] { return parse_ports(v.ports); });

  TargetSpecs excluded;
  for (size_t i = 0; i < v.excludes.size(); ++i)
    about(
        "exclude", [&] { add_target_specs(excluded, v.excludes[i], false); }, static_cast<int>(i));
  for (size_t i = 0; i < v.exclude_files.size(); ++i)
    about(
        "exclude-file", [&] { add_target_file(excluded, v.exclude_files[i], false); },
        static_cast<int>(i));
  const bool use_blocklist = !vm["no-default-blocklist"].as<bool>();
  const auto everything_blocked = [] {
    return UsageError(
        "every target is in the default blocklist (IANA special-purpose ranges); for the "
        "lab's 198.18.0.0/15 and 2001:db8::/32 add --no-default-blocklist");
  };
  if (plan.family == Family::kIpv4) {
    if (use_blocklist) excluded.v4.add(default_blocklist());
    plan.requested_addresses = requested.v4.size();
    plan.addresses = requested.v4.minus(excluded.v4);
    if (plan.addresses.empty()) {
      if (use_blocklist && !requested.v4.minus(default_blocklist()).size())
        throw everything_blocked();
      throw UsageError("no targets left after exclusions");
    }
    return;
  }
  if (use_blocklist) excluded.v6.add(default_blocklist6());
  auto t = std::make_shared<Ipv6TargetSources>();
  t->intervals = requested.v6;
  const InterfaceId iid = about("ipv6-iid", [&] { return parse_interface_id(v.ipv6_iid); });
  for (size_t i = 0; i < requested.generators.size(); ++i)
    t->generators.push_back(about(
        "targets", [&] { return parse_generator(requested.generators[i], iid); },
        static_cast<int>(i)));
  if (!hitlist->empty()) t->hitlist = std::move(hitlist);
  t->exclusions = excluded.v6;
  // The list itself is built by the run (its random interface IDs follow the seed): try it
  // now with the key of seed 0 so that an empty or too large list is a usage error before
  // anything starts. (Cheap but for a hitlist: one pass.)
  if (use_blocklist && t->generators.empty() && !t->hitlist &&
      requested.v6.minus(default_blocklist6()).empty())
    throw everything_blocked();
  plan.requested_addresses = Ipv6Targets(*t).size();
  plan.targets6 = std::move(t);
}

// The order and its limits: seed, shard, lcores and their CPUs, retries, --max-targets,
// --max-runtime, checkpoints.
void plan_order(const po::variables_map& vm, const CliVars& v, ScanPlan& plan) {
  if (!v.shard.empty()) {
    unsigned i = 0, n = 0;
    char tail;
    if (std::sscanf(v.shard.c_str(), "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || i == 0 || i > n) {
      throw OptionError("shard", fmt::format("--shard: '{}' is not I/N with 1 <= I <= N", v.shard));
    }
    if (!plan.seed_given && plan.resume_path.empty()) {
      throw UsageError("--shard needs --seed: every shard must walk the same permutation");
    }
    plan.shard_index = i - 1;
    plan.shard_count = n;
  }
  for (auto [text, cpus, count, name] :
       {std::tuple{&v.tx_cpus, &plan.tx_cpus, &plan.tx_lcores, "tx"},
        std::tuple{&v.rx_cpus, &plan.rx_cpus, &plan.rx_lcores, "rx"}}) {
    const std::string option = fmt::format("{}-cpus", name);
    if (text->empty() && !vm.count(option)) continue;
    const std::string* list = text;  // (a lambda may not capture a structured binding)
    *cpus = about(option == "tx-cpus" ? "tx-cpus" : "rx-cpus",
                  [&] { return parse_cpu_list(*list, option.c_str()); });
    if (!vm[fmt::format("{}-lcores", name)].defaulted() && *count != cpus->size()) {
      throw UsageError(fmt::format("--{}-lcores {} and --{} with {} CPUs disagree; give one", name,
                                   *count, option, cpus->size()));
    }
    *count = static_cast<uint32_t>(cpus->size());
  }
  if (vm.count("lcores")) {
    if (v.lcores != 1)
      throw OptionError("lcores",
                        fmt::format("--lcores {}: only 1 (one lcore does everything); for more, "
                                    "give --tx-lcores and --rx-lcores",
                                    v.lcores));
    if (plan.tx_lcores != 1 || plan.rx_lcores != 1 || !plan.rx_cpus.empty() ||
        plan.tx_cpus.size() > 1)
      throw UsageError(
          "--lcores 1 runs one TX and one RX loop on one lcore: no --tx-lcores/--rx-lcores "
          "above 1, no --rx-cpus (--tx-cpus names its CPU)");
    if (plan.bench_responder)
      throw UsageError("--lcores 1 and --bench-responder: the responder needs a lcore of its own");
    plan.single_lcore = true;
  }
  if (plan.tx_lcores == 0 || plan.tx_lcores > 64)
    throw OptionError("tx-lcores", "--tx-lcores must be 1 to 64");
  if (plan.rx_lcores == 0 || plan.rx_lcores > 64)
    throw OptionError("rx-lcores", "--rx-lcores must be 1 to 64");
  if (plan.retries > 100) throw OptionError("retries", "--retries must be 0 to 100");
  if (!v.max_targets.empty()) {
    char* end = nullptr;
    const double n = std::strtod(v.max_targets.c_str(), &end);
    const bool percent = end && *end == '%' && end[1] == 0;
    if (!end || end == v.max_targets.c_str() || (!percent && *end) || !std::isfinite(n) || n < 0 ||
        (percent && n > 100) || (!percent && n != std::floor(n))) {
      throw OptionError("max-targets",
                        fmt::format("--max-targets: '{}' is not a count or a percentage like 10%",
                                    v.max_targets));
    }
    if (plan.retries > 0) {
      // With retries the probes of a target are spread over the whole scan, so a cap on
      // probes would not be a cap on targets; an exact one needs state dpscan does not keep.
      throw UsageError("--max-targets cannot be combined with --retries");
    }
    if (percent)
      plan.max_targets_percent = n;
    else
      plan.max_targets = n >= 0x1p64 ? ~uint64_t{0} : static_cast<uint64_t>(n);  // no UB
  }
  plan.max_runtime_s =
      about("max-runtime", [&] { return seconds_or_throw(plan.max_runtime_s, "max-runtime"); });
  if (!std::isfinite(plan.checkpoint_interval_s) || plan.checkpoint_interval_s <= 0) {
    throw OptionError("checkpoint-interval", "--checkpoint-interval must be more than 0 seconds");
  }
  if (!plan.metrics_listen.empty())
    about("metrics-listen", [&] { return parse_listen_address(plan.metrics_listen); });
  if (!plan.resume_path.empty() && plan.checkpoint_path.empty())
    plan.checkpoint_path = plan.resume_path;
}

// --udp-payload nmap:PORT|all[:FILE]: nmap's payloads for that port (which must be scanned
// and have some), or for every scanned port nmap has payloads for.
void plan_nmap_payloads(const std::string& spec, const ScanPlan& plan, size_t max,
                        std::map<std::string, std::vector<udp::NmapEntry>>& files,
                        std::vector<std::vector<udp::Payload>>& mine) {
  const udp::NmapSpec ns = udp::parse_nmap_spec(spec);
  auto it = files.find(ns.path);
  if (it == files.end())
    it = files.emplace(ns.path, udp::parse_nmap_payloads(udp::read_nmap_payloads(ns.path), ns.path))
             .first;
  if (ns.port != 0) {
    if (std::find(plan.ports.begin(), plan.ports.end(), ns.port) == plan.ports.end())
      throw UsageError(
          fmt::format("--udp-payload '{}': port {} is not scanned (add it to -p)", spec, ns.port));
    auto ps = udp::nmap_payloads_for(it->second, ns.path, ns.port, max);
    if (ps.empty())
      throw UsageError(
          fmt::format("--udp-payload '{}': {} has no payload for port {}", spec, ns.path, ns.port));
    for (auto& p : ps) mine[ns.port].push_back(std::move(p));
    return;
  }
  for (const uint16_t port : plan.ports)
    for (auto& p : udp::nmap_payloads_for(it->second, ns.path, port, max))
      mine[port].push_back(std::move(p));
}

// The UDP probe slots: for each scanned port, the user's payloads for it (--udp-payload, in
// the order given), else the built-in ones, else an empty datagram. At most 1472 bytes over
// IPv4 and 1232 over IPv6 (a datagram no path has to fragment).
void plan_udp_payloads(const CliVars& v, ScanPlan& plan) {
  const size_t max = plan.family == Family::kIpv6 ? Ipv6::kMaxUdpPayload : Ipv4::kMaxUdpPayload;
  std::vector<std::vector<udp::Payload>> mine(65536);
  std::map<std::string, std::vector<udp::NmapEntry>> nmap_files;  // each read once
  for (size_t i = 0; i < v.udp_payloads.size(); ++i) {
    if (v.udp_payloads[i].starts_with("nmap:")) {
      about(
          "udp-payload",
          [&] { plan_nmap_payloads(v.udp_payloads[i], plan, max, nmap_files, mine); },
          static_cast<int>(i));
      continue;
    }
    udp::Payload p = about(
        "udp-payload", [&] { return udp::parse_payload_spec(v.udp_payloads[i], max); },
        static_cast<int>(i));
    if (std::find(plan.ports.begin(), plan.ports.end(), p.port()) == plan.ports.end())
      throw OptionError("udp-payload",
                        fmt::format("--udp-payload '{}': port {} is not scanned (add it to -p)",
                                    v.udp_payloads[i], p.port()),
                        static_cast<int>(i));
    mine[p.port()].push_back(std::move(p));
  }
  for (uint16_t port : plan.ports) {
    std::vector<udp::Payload> ps = std::move(mine[port]);
    if (ps.empty()) ps = udp::builtin_for_port(port);
    if (ps.empty()) ps.push_back(udp::parse_payload_spec(fmt::format("{}:hex:", port), max));
    for (auto& p : ps) {
      if (p.size() > max)
        throw UsageError(fmt::format(
            "the payload '{}' for port {} is {} bytes, more than the {} "
            "an {} datagram may carry unfragmented",
            p.name(), port, p.size(), max, plan.family == Family::kIpv6 ? "IPv6" : "IPv4"));
      plan.udp_payloads.push_back(std::move(p));
    }
  }
  if (plan.udp_payloads.size() > 65535)
    throw UsageError("more than 65535 UDP probe slots (ports x payloads)");
}

// The probes: the module and its options, the rate, the cookie, how answers are taken.
void plan_probe(const po::variables_map& vm, const CliVars& v, ScanPlan& plan) {
  if (!std::isfinite(plan.rate_pps) || plan.rate_pps < 0)
    throw OptionError("rate", "--rate must be 0 or more probes per second");
  if (v.ttl == 0 || v.ttl > 255) throw OptionError("ttl", "--ttl must be 1 to 255");
  plan.ttl = static_cast<uint8_t>(v.ttl);
  if (v.window > 65535) throw OptionError("window", "--window must be 0 to 65535");
  plan.window = static_cast<uint16_t>(v.window);
  plan.probe_options =
      about("probe-options", [&] { return parse_option_profile(v.probe_options); });
  if (!v.bandwidth.empty()) {
    if (!vm["rate"].defaulted()) throw UsageError("give --rate or --bandwidth, not both");
    plan.rate_pps = about("bandwidth", [&] { return parse_bandwidth(v.bandwidth); }) /
                    (8.0 * static_cast<double>(wire_bytes(plan.probe_options, plan.family)));
  }
  about("source-port", [&] { parse_source_ports(v.source_port, plan); });
  plan.send_rst = !vm["no-rst"].as<bool>();
  plan.cookie_algo = about("cookie", [&] { return parse_cookie_algo(v.cookie); });
  plan.rx_checksum = about("rx-checksum", [&] { return parse_rx_checksum(v.rx_checksum); });
  plan.cooldown_s =
      about("cooldown", [&] { return seconds_or_throw(plan.cooldown_s, "cooldown"); });
  if (plan.probe == ProbeKind::kIcmpEcho && !plan.ports.empty())
    throw OptionError("ports", "--probe-module icmp-echo sends no ports: leave out -p");
  if (plan.udp_response_bytes > kMaxKeepBytes)
    throw OptionError("udp-response-bytes",
                      fmt::format("--udp-response-bytes must be 0 to {}", kMaxKeepBytes));
  if (plan.probe != ProbeKind::kUdp) {
    if (!v.udp_payloads.empty())
      throw OptionError("udp-payload", "--udp-payload needs --probe-module udp");
    return;
  }
  plan_udp_payloads(v, plan);
}

// The device and the link: EAL arguments, our addresses and the gateway, of the scan's
// family.
void plan_device(const CliVars& v, ScanPlan& plan) {
  plan.eal_args = about("eal-args", [&] { return split_args(v.eal_args); });
  const bool v6 = plan.family == Family::kIpv6;
  std::string gateway_mac = v.gateway_mac;
  if (plan.bench_responder) {
    if (!plan.device.empty())
      throw UsageError("--bench-responder replaces --device; give only one");
    if (v6 || plan.probe != ProbeKind::kTcpSyn)
      throw UsageError("--bench-responder answers IPv4 TCP SYNs only");
    plan.device = "bench_responder";
    if (v.gateway_ip.empty() && gateway_mac.empty()) gateway_mac = "02:00:00:00:00:01";
  }
  if (!plan.dry_run) {
    if (plan.device.empty())
      throw UsageError(
          "no --device given (a PCI address or a DPDK virtual device); or use --dry-run");
    if (v.source_ip.empty()) throw UsageError("no --source-ip given");
    if (v.gateway_ip.empty() && gateway_mac.empty())
      throw UsageError(v6 ? "give --gateway-ip (resolved by neighbour discovery) or --gateway-mac"
                          : "give --gateway-ip (resolved by ARP) or --gateway-mac");
  }
  // Our addresses and the gateway must be of the targets' family.
  const auto same_family = [&](const std::string& text, const char* option) {
    if ((text.find(':') != std::string::npos) != v6)
      throw OptionError(option, fmt::format("--{}: '{}' is not an {} address, and the targets are",
                                            option, text, v6 ? "IPv6" : "IPv4"));
  };
  if (!v.source_ip.empty()) {
    about("source-ip", [&] { same_family(v.source_ip, "source-ip"); });
    if (v6)
      plan.sources6 = about("source-ip", [&] { return parse_sources6(v.source_ip); });
    else
      plan.sources = about("source-ip", [&] { return parse_sources4(v.source_ip); });
  }
  if (!v.gateway_ip.empty()) {
    about("gateway-ip", [&] { same_family(v.gateway_ip, "gateway-ip"); });
    if (v6)
      plan.gateway_ip6 = about("gateway-ip", [&] {
        if (auto ip = Ipv6Addr::parse(v.gateway_ip)) return *ip;
        throw UsageError(fmt::format("--gateway-ip: '{}' is not an IPv6 address", v.gateway_ip));
      });
    else
      plan.gateway_ip =
          about("gateway-ip", [&] { return ip_or_throw(v.gateway_ip, "gateway-ip"); });
  }
  if (!gateway_mac.empty())
    plan.gateway_mac = about("gateway-mac", [&] { return mac_or_throw(gateway_mac); });
}

// Where the results go: outputs, fields, status, the scan's name, the statuses reported.
// Results already in a file are never lost by running the same command again: a resumed run
// appends to its file outputs (an XML document cannot be appended to: refused), and a fresh
// run refuses to overwrite outputs that a checkpoint still refers to, unless --force.
void protect_outputs(const po::variables_map& vm, ScanPlan& plan) {
  const auto non_empty = [](const std::string& path) {
    struct stat st {};
    return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  };
  const bool force = vm["force"].as<bool>() || vm["overwrite"].as<bool>();
  for (OutputSpec& o : plan.outputs) {
    if (o.nats || o.path == "-") continue;
    if (!plan.resume_path.empty()) {
      if (o.format == OutputFormat::kXml && non_empty(o.path) && !force)
        throw UsageError(fmt::format(
            "--resume: '{}' holds the first run's nmap XML, and an XML document cannot be "
            "appended to; write this run's XML to a new file (or add --force to overwrite it)",
            o.path));
      o.append = !force || o.format != OutputFormat::kXml;
    } else if (!force && !plan.checkpoint_path.empty() && non_empty(plan.checkpoint_path) &&
               non_empty(o.path)) {
      throw UsageError(fmt::format(
          "'{}' holds results and the checkpoint '{}' exists: continue that run with --resume "
          "{} (results are appended), or start again with --force (overwrites both)",
          o.path, plan.checkpoint_path, plan.checkpoint_path));
    }
  }
}

void plan_outputs(const po::variables_map& vm, const CliVars& v, ScanPlan& plan) {
  plan.outputs.push_back(
      {about("output-format", [&] { return parse_output_format(v.output_format); }), v.output});
  for (size_t i = 0; i < v.output_specs.size(); ++i) {
    const std::string& spec = v.output_specs[i];
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || colon + 1 == spec.size()) {
      throw OptionError(
          "output-spec",
          fmt::format("--output-spec: '{}' is not FORMAT:PATH (e.g. ndjson:results.json)", spec),
          static_cast<int>(i));
    }
    if (spec.substr(0, colon) == "nats") {
      const std::string url = spec.substr(colon + 1);
      about(
          "output-spec",
          [&] {
            check_nats_output(url);
            return 0;
          },
          static_cast<int>(i));
      OutputSpec o{OutputFormat::kNdjson, url, true};
      o.nats_creds = plan.nats_creds;
      o.nats_ca = plan.nats_ca;
      plan.outputs.push_back(o);
      continue;
    }
    plan.outputs.push_back(
        {about(
             "output-spec", [&] { return parse_output_format(spec.substr(0, colon)); },
             static_cast<int>(i)),
         spec.substr(colon + 1)});
  }
  if (!v.output_fields.empty())
    plan.csv_fields = about("output-fields", [&] { return parse_output_fields(v.output_fields); });
  if (v.status_format == "text")
    plan.status_format = StatusFormat::kText;
  else if (v.status_format == "ndjson")
    plan.status_format = StatusFormat::kNdjson;
  else if (v.status_format == "none")
    plan.status_format = StatusFormat::kNone;
  else
    throw OptionError(
        "status-format",
        fmt::format("--status-format: '{}' is not one of text, ndjson, none", v.status_format));
  // -q: only errors, so no text status (an explicit ndjson status is for a program, and stays).
  if (plan.verbosity < 0 && plan.status_format == StatusFormat::kText)
    plan.status_format = StatusFormat::kNone;
  if (plan.name.empty() ||
      plan.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    throw OptionError("scan-name", fmt::format("scan name '{}' must be letters, digits, '_', '.' "
                                               "or '-'",
                                               plan.name));
  }
  plan.report.fill(false);
  // A host discovery's answers are "up": what it reports unless told otherwise.
  const bool discovery = plan.probe == ProbeKind::kIcmpEcho && vm["report"].defaulted();
  std::istringstream rs(discovery ? std::string("up") : v.report);
  for (std::string item; std::getline(rs, item, ',');) {
    const auto status = parse_status(item);
    if (!status)
      throw OptionError("report", fmt::format("--report: '{}' is not one of {}", item,
                                              fmt::join(kStatusNames, ", ")));
    plan.report[static_cast<size_t>(*status)] = true;
  }
}

}  // namespace

ScanPlan build_plan(const po::variables_map& vm, ScanPlan plan, const CliVars& v) {
  plan.verbosity = vm.count("quiet") ? -1 : static_cast<int>(vm.count("verbose"));
  plan.seed_given = vm.count("seed") > 0;
  if (plan.seed_given) {
    const auto [end, ec] = std::from_chars(v.seed.data(), v.seed.data() + v.seed.size(), plan.seed);
    if (v.seed.empty() || ec != std::errc{} || end != v.seed.data() + v.seed.size()) {
      throw OptionError("seed",
                        fmt::format("--seed: '{}' is not a number from 0 to 2^64-1", v.seed));
    }
  }

  plan.probe = about("probe-module", [&] { return parse_probe_kind(v.probe_module); });
  plan_targets(vm, v, plan);
  plan_order(vm, v, plan);
  plan_probe(vm, v, plan);
  plan_device(v, plan);
  plan_outputs(vm, v, plan);
  protect_outputs(vm, plan);
  return plan;
}

}  // namespace dpscan
