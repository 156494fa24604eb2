#include "world.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan::reflect {
namespace {

// Hash domains: each decision draws from its own keyed stream.
enum : uint64_t {
  kDomNet = 1,
  kDomHost,
  kDomStack,
  kDomOpen,
  kDomRst,
  kDomCode,
  kDomRtt,
  kDomAddr6,
  kDomUdpOpen,
  kDomUdpClosed,
  kDomEcho
};

// Cumulative thresholds for a choice by weight: pick the first i with h < cum[i].
std::vector<uint64_t> cumulative(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  std::vector<uint64_t> cum;
  double acc = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    acc += weights[i];
    cum.push_back(i + 1 == weights.size() ? ~uint64_t{0} : threshold(acc / total));
  }
  return cum;
}

size_t pick(const std::vector<uint64_t>& cum, uint64_t h) {
  size_t i = 0;
  while (i + 1 < cum.size() && h >= cum[i]) ++i;
  return i;
}

}  // namespace

UdpService udp_service_of(uint16_t port) {
  switch (port) {
    case 53:
      return UdpService::kDns;
    case 123:
      return UdpService::kNtp;
    case 161:
      return UdpService::kSnmp;
    case 11211:
      return UdpService::kMemcached;
    default:
      return UdpService::kNone;
  }
}

std::string_view to_string(NetKind k) {
  switch (k) {
    case NetKind::kEmpty:
      return "empty";
    case NetKind::kHosts:
      return "hosts";
    case NetKind::kFirewalled:
      return "firewalled";
    case NetKind::kTarpit:
      return "tarpit";
    case NetKind::kUnreachable:
      return "unreachable";
    case NetKind::kAliased:
      return "aliased";
  }
  return "?";
}

struct World::Compiled {
  std::vector<uint64_t> kind_cum;
  std::vector<uint64_t> stack_cum;
  struct Kind {
    NetKind kind;
    uint64_t hosts = 0;
    std::vector<uint64_t> open;  // 65536 thresholds (kHosts)
    uint64_t closed_rst = 0;
    std::vector<uint64_t> code_cum;
    std::vector<uint8_t> codes;
    int stack = -1;                                       // kTarpit: fixed stack, or -1 by weight
    std::vector<std::pair<uint16_t, uint64_t>> udp_open;  // (port, threshold)
    uint64_t udp_closed_icmp = 0;
    uint64_t echo = 0;
  };
  std::vector<Kind> kinds;
  uint64_t rtt_min_ns = 0;
  uint64_t rtt_span_ns = 0;
};

World::World(const WorldConfig& config, uint64_t seed)
    : config_(config), seed_(seed), c_(std::make_unique<Compiled>()) {
  if (config_.stacks.empty()) config_.stacks.push_back(Stack{"linux"});
  if (config_.networks.empty()) throw UsageError("a world needs at least one network kind");
  std::vector<double> w;
  for (const auto& s : config_.stacks) w.push_back(s.weight);
  c_->stack_cum = cumulative(w);
  w.clear();
  for (const auto& n : config_.networks) w.push_back(n.weight);
  c_->kind_cum = cumulative(w);
  for (const auto& n : config_.networks) {
    Compiled::Kind k;
    k.kind = n.kind;
    k.hosts = threshold(n.hosts);
    k.closed_rst = threshold(n.closed_rst);
    k.udp_closed_icmp = threshold(n.udp_closed_icmp);
    k.echo = threshold(n.echo);
    for (const auto& [port, p] : n.udp_open) {
      if (udp_service_of(port) == UdpService::kNone)
        throw UsageError(
            fmt::format("udp_open: no UDP service is modelled on port {} (53 dns, "
                        "123 ntp, 161 snmp, 11211 memcached)",
                        port));
      k.udp_open.emplace_back(port, threshold(p));
    }
    if (n.kind == NetKind::kHosts) {
      k.open.assign(65536, threshold(n.open_default));
      for (const auto& [port, p] : n.open) k.open[port] = threshold(p);
    }
    std::vector<double> cw;
    for (const auto& [code, weight] : n.codes) {
      k.codes.push_back(code);
      cw.push_back(weight);
    }
    if (n.kind == NetKind::kUnreachable && k.codes.empty()) {
      // host unreachable (IPv4), address unreachable (IPv6)
      k.codes.push_back(config_.family == Family::kIpv6 ? 3 : 1);
      cw.push_back(1);
    }
    k.code_cum = cumulative(cw);
    for (size_t i = 0; i < config_.stacks.size(); ++i)
      if (!n.stack.empty() && config_.stacks[i].name == n.stack) k.stack = static_cast<int>(i);
    if (!n.stack.empty() && k.stack < 0)
      throw UsageError("network kind " + std::string(to_string(n.kind)) + ": no stack named '" +
                       n.stack + "'");
    c_->kinds.push_back(std::move(k));
  }
  const auto& imp = config_.impairments;
  c_->rtt_min_ns = static_cast<uint64_t>(imp.rtt_min_ms * 1e6);
  c_->rtt_span_ns = static_cast<uint64_t>(std::max(0.0, imp.rtt_max_ms - imp.rtt_min_ms) * 1e6);
}

World::~World() = default;
World::World(World&&) noexcept = default;

NetKind World::kind(Ipv4Addr dst) const {
  if (config_.family != Family::kIpv4) return NetKind::kEmpty;
  const uint32_t net = dst.value() >> 8;
  return c_->kinds[pick(c_->kind_cum, keyed(seed_, kDomNet, net))].kind;
}

uint64_t World::rtt_ns(Ipv4Addr dst) const {
  if (c_->rtt_span_ns == 0) return c_->rtt_min_ns;
  const uint32_t net = dst.value() >> 8;
  return c_->rtt_min_ns + keyed(seed_, kDomRtt, net) % (c_->rtt_span_ns + 1);
}

Answer World::on4(Proto proto, Ipv4Addr dst, uint16_t port) const {
  if (config_.family != Family::kIpv4) return Answer{};
  const uint32_t ip = dst.value();
  const uint32_t net = ip >> 8;
  Answer a = decide(proto, net, ip, port, [ip](uint16_t p) { return uint64_t{ip} << 16 | p; });
  if (a.fate == Fate::kIcmp) a.router = Ipv4Addr(net << 8 | 1);
  return a;
}

Answer World::answer(Ipv4Addr dst, uint16_t port) const {
  return on4(Proto::kTcp, dst, port);
}
Answer World::answer_udp(Ipv4Addr dst, uint16_t port) const {
  return on4(Proto::kUdp, dst, port);
}
Answer World::answer_echo(Ipv4Addr dst) const {
  return on4(Proto::kIcmp, dst, 0);
}
Answer World::answer(Ipv6Addr dst, uint16_t port) const {
  return on6(Proto::kTcp, dst, port);
}
Answer World::answer_udp(Ipv6Addr dst, uint16_t port) const {
  return on6(Proto::kUdp, dst, port);
}
Answer World::answer_echo(Ipv6Addr dst) const {
  return on6(Proto::kIcmp, dst, 0);
}

uint64_t World::network_of(Ipv6Addr dst) const {
  const Ipv6Addr net = dst & Ipv6Addr::prefix_mask(config_.network_prefix);
  return keyed(seed_, kDomAddr6, net.hi() ^ keyed(0, kDomAddr6, net.lo()));
}

Ipv6Addr World::router_of(Ipv6Addr dst) const {
  return (dst & Ipv6Addr::prefix_mask(config_.network_prefix)) | Ipv6Addr(0, 1);
}

NetKind World::kind(Ipv6Addr dst) const {
  if (config_.family != Family::kIpv6) return NetKind::kEmpty;
  return c_->kinds[pick(c_->kind_cum, keyed(seed_, kDomNet, network_of(dst)))].kind;
}

uint64_t World::rtt_ns(Ipv6Addr dst) const {
  if (c_->rtt_span_ns == 0) return c_->rtt_min_ns;
  return c_->rtt_min_ns + keyed(seed_, kDomRtt, network_of(dst)) % (c_->rtt_span_ns + 1);
}

Answer World::on6(Proto proto, Ipv6Addr dst, uint16_t port) const {
  if (config_.family != Family::kIpv6) return Answer{};
  const uint64_t host = keyed(seed_, kDomAddr6, dst.hi() ^ keyed(1, kDomAddr6, dst.lo()));
  return decide(proto, network_of(dst), host, port,
                [host](uint16_t p) { return host ^ (uint64_t{p} * 0x9e3779b97f4a7c15ULL); });
}

template <typename OpenKey>
Answer World::decide(Proto proto, uint64_t net, uint64_t ip, uint16_t port,
                     OpenKey open_key) const {
  const Compiled::Kind& k = c_->kinds[pick(c_->kind_cum, keyed(seed_, kDomNet, net))];
  Answer a;
  auto use_stack = [&](size_t s) {
    const Stack& st = config_.stacks[s];
    a.ttl = st.ttl;
    a.window = st.window;
    a.options = st.options;
    a.synack_retries = st.synack_retries;
  };
  switch (k.kind) {
    case NetKind::kEmpty:
    case NetKind::kFirewalled:
      return a;
    case NetKind::kTarpit:
      if (proto != Proto::kTcp)  // a TCP tarpit: it answers echo, no UDP
        return decide_udp_echo(proto, net, ip, port, open_key, a);
      use_stack(k.stack >= 0 ? static_cast<size_t>(k.stack)
                             : pick(c_->stack_cum, keyed(seed_, kDomStack, ip)));
      a.fate = Fate::kSynAck;
      return a;
    case NetKind::kAliased:  // one machine behind the whole prefix: its stack by the network
      use_stack(k.stack >= 0 ? static_cast<size_t>(k.stack)
                             : pick(c_->stack_cum, keyed(seed_, kDomStack, net)));
      if (proto == Proto::kUdp)  // every modelled service, and port unreachable elsewhere
        a.fate = udp_service_of(port) != UdpService::kNone ? Fate::kUdpReply : Fate::kPortUnreach;
      else
        a.fate = proto == Proto::kTcp ? Fate::kSynAck : Fate::kEchoReply;
      if (proto != Proto::kTcp) {
        a.window = 0;
        a.options = OptionProfile::kNone;
        a.synack_retries = 0;
      }
      return a;
    case NetKind::kUnreachable:
      a.fate = Fate::kIcmp;
      a.icmp_code = k.codes[pick(k.code_cum, keyed(seed_, kDomCode, net))];
      a.ttl = 64;
      return a;
    case NetKind::kHosts:
      break;
  }
  if (!below(keyed(seed_, kDomHost, ip), k.hosts)) return a;  // no host at this address
  use_stack(pick(c_->stack_cum, keyed(seed_, kDomStack, ip)));
  if (proto != Proto::kTcp) return decide_udp_echo(proto, net, ip, port, open_key, a);
  if (below(keyed(seed_, kDomOpen, open_key(port)), k.open[port])) {
    a.fate = Fate::kSynAck;
  } else if (below(keyed(seed_, kDomRst, ip), k.closed_rst)) {
    a.fate = Fate::kRst;
    a.window = 0;
  }
  return a;
}

// A host's UDP port or its echo (its stack already in `a`): kTarpit and kHosts networks.
template <typename OpenKey>
Answer World::decide_udp_echo(Proto proto, uint64_t net, uint64_t ip, uint16_t port,
                              OpenKey open_key, Answer a) const {
  const Compiled::Kind& k = c_->kinds[pick(c_->kind_cum, keyed(seed_, kDomNet, net))];
  if (k.kind == NetKind::kTarpit) {
    const Stack& st =
        config_.stacks[k.stack >= 0 ? static_cast<size_t>(k.stack)
                                    : pick(c_->stack_cum, keyed(seed_, kDomStack, ip))];
    a.ttl = st.ttl;
    if (proto == Proto::kIcmp) a.fate = Fate::kEchoReply;
  } else if (proto == Proto::kIcmp) {
    if (below(keyed(seed_, kDomEcho, ip), k.echo)) a.fate = Fate::kEchoReply;
  } else {
    uint64_t t = 0;
    for (const auto& [p, th] : k.udp_open) t = p == port ? th : t;
    if (below(keyed(seed_, kDomUdpOpen, open_key(port)), t))
      a.fate = Fate::kUdpReply;
    else if (below(keyed(seed_, kDomUdpClosed, ip), k.udp_closed_icmp))
      a.fate = Fate::kPortUnreach;
  }
  a.window = 0;
  a.options = OptionProfile::kNone;
  a.synack_retries = 0;
  return a;
}

}  // namespace dpscan::reflect
