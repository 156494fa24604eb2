// dpscan-reflect: a simulated internet for scanners, on DPDK (docs/dpscan-reflect.1).
//   dpscan-reflect --world W --seed N --truth TARGETS -p PORTS   what a perfect scanner reports
//   dpscan-reflect --world W --seed N --device DEV --gateway-ip G [--answered FILE] ...
// Like dpscan's main(): the only place that turns errors into exit codes (2 usage, 1 run time,
// 130 interrupted... after the interrupt, 0: an interrupt is how a run normally ends).
#include <boost/program_options.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/plan_builder.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ip_set.hpp"
#include "dpscan/ipv6_targets.hpp"
#include "dpscan/log.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/output.hpp"
#include "dpscan/ports.hpp"
#include "dpscan/prefix_generator.hpp"
#include "dpscan/text.hpp"
#include "dpscan_version.h"
#include "engine/device.hpp"
#include "engine/eal.hpp"
#include "engine/interrupts.hpp"
#include "reflect_worlds.h"
#include "reflector.hpp"
#include "world.hpp"

namespace po = boost::program_options;
using namespace dpscan;
using namespace dpscan::reflect;

namespace {

struct Options {
  std::string world = "internet";
  uint64_t seed = 1;
  std::string truth;
  std::string module = "tcp-syn";
  std::string ports;
  std::string device;
  std::string eal_args;
  std::string gateway_ip;
  std::string answered;
  std::string summary;
  std::string status = "text";
  std::vector<std::string> set;
  double duration = 0;
  double loss = -1;
  double latency = -1;
  bool ideal = false;
  size_t queue = size_t{1} << 22;
};

// --world: a built-in world by name (config/worlds/, compiled in), else a file.
WorldConfig world_config(const std::string& name) {
  if (name == "internet") return load_world_text(kInternetWorld, "internet (built in)");
  if (name == "dense") return load_world_text(kDenseWorld, "dense (built in)");
  if (name == "internet6") return load_world_text(kInternet6World, "internet6 (built in)");
  return load_world(name);
}

// --set KEY=VALUE on the impairments (every one of them), then --loss, --latency, --ideal.
void override_impairments(Impairments& m, const Options& o) {
  for (const std::string& kv : o.set) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("--set: '{}' is not KEY=VALUE", kv));
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (const std::exception&) {
      if (key != "retransmit")
        throw UsageError(fmt::format("--set {}: '{}' is not a number", key, value));
    }
    auto prob = [&](double& field) {
      if (!(v >= 0 && v <= 1))
        throw UsageError(fmt::format("--set {}: {} is not 0 to 1", key, value));
      field = v;
    };
    auto nonneg = [&](double& field) {
      if (!(v >= 0)) throw UsageError(fmt::format("--set {}: {} is below 0", key, value));
      field = v;
    };
    if (key == "rtt_ms")
      nonneg(m.rtt_min_ms), m.rtt_max_ms = m.rtt_min_ms;
    else if (key == "rtt_min_ms")
      nonneg(m.rtt_min_ms);
    else if (key == "rtt_max_ms")
      nonneg(m.rtt_max_ms);
    else if (key == "jitter_ms")
      nonneg(m.jitter_ms);
    else if (key == "loss")
      prob(m.loss_in), m.loss_out = m.loss_in;
    else if (key == "loss_in")
      prob(m.loss_in);
    else if (key == "loss_out")
      prob(m.loss_out);
    else if (key == "reorder")
      prob(m.reorder);
    else if (key == "duplicate")
      prob(m.duplicate);
    else if (key == "icmp_rate")
      nonneg(m.icmp_rate);
    else if (key == "icmp_burst")
      nonneg(m.icmp_burst);
    else if (key == "noise_pps")
      nonneg(m.noise_pps);
    else if (key == "host_icmp_rate")
      nonneg(m.host_icmp_rate);
    else if (key == "host_icmp_burst")
      nonneg(m.host_icmp_burst);
    else if (key == "retransmit") {
      if (value != "true" && value != "false")
        throw UsageError(fmt::format("--set retransmit: '{}' is not true or false", value));
      m.retransmit = value == "true";
    } else {
      throw UsageError(
          fmt::format("--set: unknown impairment '{}' (rtt_ms, rtt_min_ms, rtt_max_ms, "
                      "jitter_ms, loss, loss_in, loss_out, reorder, duplicate, "
                      "icmp_rate, icmp_burst, retransmit, noise_pps, host_icmp_rate, "
                      "host_icmp_burst)",
                      key));
    }
  }
  if (o.loss >= 0) {
    if (o.loss > 1) throw UsageError("--loss must be 0 to 1");
    m.loss_in = m.loss_out = o.loss;
  }
  if (o.latency >= 0) m.rtt_min_ms = m.rtt_max_ms = o.latency;
  if (m.rtt_max_ms < m.rtt_min_ms) throw UsageError("rtt_max_ms is below rtt_min_ms");
  if (o.ideal) m = Impairments{};  // no loss, delay, duplicates, limits or noise
}

// The truth: every (ip, port, status) a perfect scanner reports, in dpscan's CSV.
template <typename Addr>
void truth_lines(const World& world, Proto proto, Addr ip, const std::vector<uint16_t>& ports,
                 std::string& buf) {
  for (uint16_t port : ports) {
    const Answer ans = world.answer(proto, ip, port);
    if (ans.fate == Fate::kSilent) continue;
    buf += fmt::format("{},{},{},{},{},0,{}\n", ip.to_string(), port,
                       status_name(status_of(ans.fate)), ans.ttl, ans.window, proto_name(proto));
  }
}

// --probe-module: dpscan's names.
Proto probe_proto(const std::string& m) {
  if (m == "tcp-syn" || m == "tcp") return Proto::kTcp;
  if (m == "udp") return Proto::kUdp;
  if (m == "icmp-echo" || m == "icmp") return Proto::kIcmp;
  throw UsageError(fmt::format("--probe-module: '{}' is not tcp-syn, udp or icmp-echo", m));
}

// An IPv6 world's targets as dpscan takes them: addresses, prefixes, ranges and prefix
// generators (2001:db8::/32-48, interface ID ::1), at most 2^28 addresses.
Ipv6Targets truth_targets6(const std::string& specs) {
  Ipv6TargetSources src;
  std::vector<std::string> list;
  for (size_t at = 0; at <= specs.size();) {
    const size_t comma = std::min(specs.find(',', at), specs.size());
    if (comma > at) list.push_back(specs.substr(at, comma - at));
    at = comma + 1;
  }
  for (const std::string& spec : list) {
    if (is_generator_spec(spec))
      src.generators.push_back(parse_generator(spec, InterfaceId{}));
    else
      src.intervals.add_specs(spec);
  }
  Ipv6Targets t(src);
  if (t.size() > (uint64_t{1} << 28))
    throw UsageError(fmt::format("--truth: {} addresses are more than it lists (2^28)", t.size()));
  return t;
}

int print_truth(const World& world, const Options& o) {
  const Proto proto = probe_proto(o.module);
  if (o.ports.empty() && proto != Proto::kIcmp) throw UsageError("--truth needs -p/--ports");
  // An echo request has no port: its answers are listed with port 0, as dpscan lists them.
  const std::vector<uint16_t> ports =
      proto == Proto::kIcmp ? std::vector<uint16_t>{0} : parse_ports(o.ports);
  const bool v6 = world.family() == Family::kIpv6;
  if (v6 != (o.truth.find(':') != std::string::npos))
    throw UsageError(fmt::format("--truth: the world '{}' is {}, its targets must be too",
                                 world.config().name, v6 ? "IPv6" : "IPv4"));
  FileSink out("-");
  std::string buf = "ip,port,status,ttl,window,timestamp,proto\n";
  auto spill = [&] {
    if (buf.size() > (1 << 16)) {
      out.write(buf);
      buf.clear();
    }
  };
  if (v6) {
    const Ipv6Targets targets = truth_targets6(o.truth);
    // Sorted, as an IPv4 truth is.
    std::vector<Ipv6Addr> all;
    all.reserve(targets.size());
    for (uint64_t i = 0; i < targets.size(); ++i) all.push_back(targets.at(i));
    std::sort(all.begin(), all.end());
    for (const Ipv6Addr ip : all) {
      truth_lines(world, proto, ip, ports, buf);
      spill();
    }
  } else {
    IpSet targets;
    targets.add_specs(o.truth);
    for (const auto& iv : targets.intervals()) {
      for (uint64_t a = iv.first.value(); a <= iv.last.value(); ++a) {
        truth_lines(world, proto, Ipv4Addr(static_cast<uint32_t>(a)), ports, buf);
        spill();
      }
    }
  }
  out.write(buf);
  out.close();
  return 0;
}

void write_summary(const std::string& path, const World& world, const Reflector& r,
                   const Impairments& m, const DeviceStats& dev) {
  std::string s = fmt::format(
      "{{\n  \"world\": \"{}\",\n  \"seed\": {},\n  \"seconds\": {:.6f},\n  \"impairments\": "
      "{{\"rtt_ms\": [{}, {}], \"jitter_ms\": {}, \"loss_in\": {}, \"loss_out\": {}, "
      "\"reorder\": {}, \"duplicate\": {}, \"icmp_rate\": {}, \"icmp_burst\": {}, "
      "\"retransmit\": {}, \"noise_pps\": {}, \"host_icmp_rate\": {}, "
      "\"host_icmp_burst\": {}}}",
      world.config().name, world.seed(), r.seconds(), m.rtt_min_ms, m.rtt_max_ms, m.jitter_ms,
      m.loss_in, m.loss_out, m.reorder, m.duplicate, m.icmp_rate, m.icmp_burst, m.retransmit,
      m.noise_pps, m.host_icmp_rate, m.host_icmp_burst);
  for (const auto& [name, field] : counter_fields())
    s += fmt::format(",\n  \"{}\": {}", name, r.counters().*field);
  // What the device dropped before the reflector saw it (its RX ring full, no mbuf, bad frames).
  s += fmt::format(",\n  \"queued_at_end\": {}", r.queued());
  s += fmt::format(
      ",\n  \"device_imissed\": {},\n  \"device_ierrors\": {},\n  "
      "\"device_rx_nombuf\": {}\n}}\n",
      dev.imissed, dev.ierrors, dev.rx_nombuf);
  FileSink f(path);
  f.write(s);
  f.close();
}

int run(int argc, char** argv) {
  Options o;
  // clang-format off
  po::options_description d("dpscan-reflect options");
  d.add_options()
      ("world", po::value(&o.world)->default_value(o.world), "the world: internet, dense, internet6 (built in) or a world FILE (YAML)")
      ("seed", po::value(&o.seed)->default_value(o.seed), "the seed of the world's keyed model and of the impairments")
      ("truth", po::value(&o.truth), "print, without DPDK, every ip,port,status a perfect scanner reports for these TARGETS (CIDR, a-b, addresses) and exit")
      ("ports,p", po::value(&o.ports), "ports for --truth (22,80,8000-8100)")
      ("probe-module,M", po::value(&o.module)->default_value(o.module), "the probes --truth lists answers to: tcp-syn, udp or icmp-echo (no ports: port 0)")
      ("device", po::value(&o.device), "DPDK device: a PCI address or a virtual device (net_memif0,role=server,socket=..., net_af_packet0,iface=...)")
      ("eal-args", po::value(&o.eal_args), "further DPDK EAL options")
      ("gateway-ip", po::value(&o.gateway_ip), "the gateway address whose ARP requests (IPv4 world) or neighbour solicitations (IPv6 world) the reflector answers")
      ("answered", po::value(&o.answered), "write the first answer that left for each pair to FILE as the run goes (flushed 20 times a second; at the end sorted by address and port; dpscan's CSV, timestamp with microseconds)")
      ("summary", po::value(&o.summary), "write every counter to FILE (JSON) at the end")
      ("duration", po::value(&o.duration)->default_value(0), "stop after SEC seconds (0: at Ctrl-C or SIGTERM)")
      ("loss", po::value(&o.loss), "loss in each direction, 0 to 1 (overrides the world)")
      ("latency", po::value(&o.latency), "round trip in ms for every network (overrides the world)")
      ("set", po::value(&o.set)->composing(), "override an impairment: KEY=VALUE (rtt_ms, jitter_ms, loss_in, loss_out, reorder, duplicate, icmp_rate, icmp_burst, retransmit, noise_pps, ...); repeatable")
      ("ideal", po::bool_switch(&o.ideal), "turn every impairment off (no loss, delay, duplicates, rate limits or noise); the world's statuses stay")
      ("queue", po::value(&o.queue)->default_value(o.queue), "answers that may wait in the delay line at once")
      ("status-format", po::value(&o.status)->default_value(o.status), "status on standard error once a second: text, ndjson, none")
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("verbose,v", "also print DPDK's own log")
      ("quiet,q", "print only errors");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << "Usage: dpscan-reflect [OPTIONS]\nA simulated internet for scanners on DPDK.\n"
              << d << '\n';
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "dpscan-reflect " << DPSCAN_VERSION << '\n';
    return 0;
  }
  const int verbosity = vm.count("quiet") ? -1 : static_cast<int>(vm.count("verbose"));
  log::level() = verbosity;
  WorldConfig config = world_config(o.world);
  override_impairments(config.impairments, o);
  const World world(config, o.seed);
  if (!o.truth.empty()) return print_truth(world, o);

  ReflectorOptions ro;
  if (o.device.empty()) throw UsageError("no --device given (or --truth to print the truth)");
  if (o.gateway_ip.empty())
    throw UsageError("no --gateway-ip given (the address it answers ARP or NDP for)");
  const bool v6 = world.family() == Family::kIpv6;
  if (v6) {
    const auto gw = Ipv6Addr::parse(o.gateway_ip);
    if (!gw)
      throw UsageError(
          fmt::format("--gateway-ip: '{}' is not an IPv6 address (the world '{}' is "
                      "IPv6)",
                      o.gateway_ip, config.name));
    ro.gateway_ip6 = *gw;
  } else {
    const auto gw = Ipv4Addr::parse(o.gateway_ip);
    if (!gw)
      throw UsageError(
          fmt::format("--gateway-ip: '{}' is not an IPv4 address (the world '{}' is "
                      "IPv4)",
                      o.gateway_ip, config.name));
    ro.gateway_ip = *gw;
  }
  ro.queue_capacity = o.queue;
  ro.duration_s = o.duration;
  if (o.status == "text")
    ro.status = StatusFormat::kText;
  else if (o.status == "ndjson")
    ro.status = StatusFormat::kNdjson;
  else if (o.status == "none")
    ro.status = StatusFormat::kNone;
  else
    throw UsageError(fmt::format("--status-format: '{}' is not text, ndjson or none", o.status));
  if (verbosity < 0 && ro.status == StatusFormat::kText) ro.status = StatusFormat::kNone;

  EalRequest r;
  r.program = "dpscan-reflect";
  r.device = o.device;
  r.single_lcore = true;
  r.verbosity = verbosity;
  r.eal_args = split_args(o.eal_args);
  install_interrupt_handlers();

  // The --answered writer's thread starts before the EAL pins this thread to its lcore, so
  // it is not pinned there: it never takes the datapath's CPU.
  std::unique_ptr<AnsweredWriter> answered;
  if (!o.answered.empty()) {
    if (o.answered == "-") throw UsageError("--answered needs a file, not standard output");
    answered = std::make_unique<AnsweredWriter>(
        o.answered, [&world](Proto proto, const IpAddr& ip, uint16_t port) {
          const Answer a =
              ip.is_v4() ? world.answer(proto, ip.v4(), port) : world.answer(proto, ip.v6(), port);
          return std::pair<uint8_t, uint16_t>(a.ttl, a.window);
        });
    answered->start();
    ro.answered = answered.get();
  }
  Eal eal(r);
  Device dev(eal.layout().port_id, o.device, eal.layout().rx_queues, 1);
  const DeviceInfo& di = dev.info();
  log::info("device {}: driver {}, {} RX queue(s); world '{}', seed {}; gateway {}",
            eal.layout().port_name, di.driver, di.rx_queues, config.name, o.seed,
            v6 ? ro.gateway_ip6.to_string() : ro.gateway_ip.to_string());
  ro.watch_link = di.driver == "net_memif";
  std::optional<QuiesceListener> quiesce;
  if (ro.watch_link) ro.quiesce = &quiesce.emplace(o.device);
  // Neighbour solicitations for the gateway go to its solicited-node group (RFC 4861).
  if (v6)
    dev.listen_multicast(
        {multicast_mac_of(solicited_node_of(ro.gateway_ip6)), multicast_mac_of(kAllNodes)});
  Reflector reflector(world, o.seed, dev.port(), dev.rx_queues(), 0, dev.mac(), ro);
  reflector.run(interrupts());
  if (answered) answered->finish();
  if (!o.summary.empty())
    write_summary(o.summary, world, reflector, config.impairments, dev.stats());
  dev.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::program() = "dpscan-reflect";
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    log::error("{}", e.what());
    std::fputs("Try 'dpscan-reflect --help' for more information.\n", stderr);
    return 2;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
