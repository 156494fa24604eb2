// dpscan-reflect's world: what a probe to (address, port) meets, as a keyed, deterministic
// function of the world file and the seed. Each /24 network is one kind (empty, ordinary
// hosts, firewalled, a tarpit, or unreachable behind a router that says so), chosen by
// weight from hash(seed, network); inside a hosts network, whether an address holds a host,
// which stack it runs (TTL, window, TCP options, SYN-ACK retransmissions), whether a port is
// open and whether its closed ports answer RST are further keyed hashes. The same seed and
// file give the same answers on every machine, so the reflector's truth (--truth) is what a
// perfect scanner reports, and the running reflector answers exactly that when impairments
// are off. Impairments (delay, jitter, loss, reordering, duplicates, ICMP rate limits,
// retransmissions, noise) are in Impairments; per network delays are keyed too.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/ip_addr.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/result.hpp"
#include "dpscan/status.hpp"

namespace dpscan::reflect {

// kAliased (IPv6 worlds): every address of the network answers on every port, as aliased
// prefixes do (one stack per network); a scanner must cope with them.
enum class NetKind : uint8_t { kEmpty, kHosts, kFirewalled, kTarpit, kUnreachable, kAliased };
std::string_view to_string(NetKind k);

// A host kind: what its answers look like.
struct Stack {
  std::string name;
  double weight = 1;
  uint8_t ttl = 64;
  uint16_t window = 64240;
  OptionProfile options = OptionProfile::kLinux;  // TCP options of its SYN-ACKs
  uint8_t synack_retries = 5;  // retransmissions of a SYN-ACK nobody answered (1 s, 2 s, 4 s, ...)
};

struct NetworkKind {
  NetKind kind = NetKind::kEmpty;
  double weight = 1;
  double hosts = 0;                               // kHosts: fraction of addresses that hold a host
  std::vector<std::pair<uint16_t, double>> open;  // kHosts: per host, per port
  double open_default = 0;                        // kHosts: every other port
  double closed_rst = 0;  // kHosts: fraction of hosts whose closed ports RST
  std::vector<std::pair<uint8_t, double>> codes;  // kUnreachable: ICMP(v6) codes, by weight
  std::string stack;                              // kTarpit: its stack ("" = by weight)
  // UDP and ICMP echo (kHosts): per host, per UDP port with a modelled service (53 DNS, 123
  // NTP, 161 SNMP, 11211 memcached) the chance it runs; the fraction of hosts whose closed
  // UDP ports answer ICMP port unreachable (the rest drop silently), and that answer echo.
  std::vector<std::pair<uint16_t, double>> udp_open;
  double udp_closed_icmp = 0;
  double echo = 0;
};

struct Impairments {
  double rtt_min_ms = 0;  // per network, uniform in [min, max], keyed by the network
  double rtt_max_ms = 0;
  double jitter_ms = 0;     // per answer, uniform in [0, jitter]
  double loss_in = 0;       // probes lost on the way in
  double loss_out = 0;      // answers lost on the way back
  double reorder = 0;       // answers held back by an extra half RTT
  double duplicate = 0;     // answers sent twice
  double icmp_rate = 0;     // per router: ICMP errors per second (0: no limit)
  double icmp_burst = 0;    // and the bucket's depth
  bool retransmit = false;  // SYN-ACKs retransmitted until an RST comes
  double noise_pps = 0;     // unsolicited SYN-ACKs, RSTs and ICMP errors per second
  // Per host: ICMP port unreachable per second and the bucket's depth (0: no limit). Linux
  // limits them per destination (icmp_ratelimit 1000 ms: one a second, a burst of 6).
  double host_icmp_rate = 0;
  double host_icmp_burst = 0;
};

// A world is of one family: an IPv4 world's networks are /24s; an IPv6 world's are prefixes
// of `network_prefix` bits (a /64 by default) anywhere in the address space (the scans and
// the built-in world use 2001:db8::/32).
struct WorldConfig {
  std::string name;
  Family family = Family::kIpv4;
  unsigned network_prefix = 24;  // IPv6: 32 to 124
  std::vector<Stack> stacks;
  std::vector<NetworkKind> networks;
  Impairments impairments;
};

// Reads a world file (config/worlds/*.yaml); errors are UsageErrors "FILE:LINE:COL: ...".
WorldConfig load_world(const std::string& path);
// The same from text (`source` names it in errors).
WorldConfig load_world_text(const std::string& text, const std::string& source);

// What a probe meets when nothing is lost: a TCP SYN (kSynAck, kRst), a UDP datagram (the
// service's answer, or the host's ICMP port unreachable) or an ICMP echo request (a reply);
// any of them an ICMP error from the network's router (kIcmp).
enum class Fate : uint8_t { kSilent, kSynAck, kRst, kIcmp, kUdpReply, kPortUnreach, kEchoReply };

struct Answer {
  Fate fate = Fate::kSilent;
  uint8_t icmp_code = 0;  // kIcmp
  uint8_t ttl = 64;
  uint16_t window = 0;
  OptionProfile options = OptionProfile::kNone;
  uint8_t synack_retries = 0;
  Ipv4Addr router;  // kIcmp, IPv4: the address the error comes from (the network's .1)
};

// The status a scanner reports for an answer (none for kSilent).
inline Status status_of(Fate f) {
  switch (f) {
    case Fate::kSynAck:
    case Fate::kUdpReply:
      return Status::kOpen;
    case Fate::kRst:
    case Fate::kPortUnreach:
      return Status::kClosed;
    case Fate::kEchoReply:
      return Status::kUp;
    default:
      return Status::kUnreachable;
  }
}

// The UDP services a host may run, by port (kNone: no service modelled there).
enum class UdpService : uint8_t { kNone, kDns, kNtp, kSnmp, kMemcached };
UdpService udp_service_of(uint16_t port);

class World {
 public:
  World(const WorldConfig& config, uint64_t seed);
  ~World();
  World(World&&) noexcept;

  // IPv4 worlds answer Ipv4Addr, IPv6 worlds Ipv6Addr (the other family is silent).
  Answer answer(Ipv4Addr dst, uint16_t port) const;
  Answer answer(Ipv6Addr dst, uint16_t port) const;
  // The same for a UDP datagram to `port`, and for an ICMP(v6) echo request.
  Answer answer_udp(Ipv4Addr dst, uint16_t port) const;
  Answer answer_udp(Ipv6Addr dst, uint16_t port) const;
  Answer answer_echo(Ipv4Addr dst) const;
  Answer answer_echo(Ipv6Addr dst) const;
  // Any of the three by protocol (echo: port ignored).
  template <typename A>
  Answer answer(Proto proto, A dst, uint16_t port) const {
    return proto == Proto::kTcp   ? answer(dst, port)
           : proto == Proto::kUdp ? answer_udp(dst, port)
                                  : answer_echo(dst);
  }
  // The network's round-trip time in TSC-independent nanoseconds, keyed by the network.
  uint64_t rtt_ns(Ipv4Addr dst) const;
  uint64_t rtt_ns(Ipv6Addr dst) const;
  NetKind kind(Ipv4Addr dst) const;
  NetKind kind(Ipv6Addr dst) const;
  // An IPv6 address's network (the key of its kind, round trip and router): the address's
  // first network_prefix bits folded to 64.
  uint64_t network_of(Ipv6Addr dst) const;
  // The router of an IPv6 address's network: its prefix and ::1.
  Ipv6Addr router_of(Ipv6Addr dst) const;
  Family family() const { return config_.family; }
  const WorldConfig& config() const { return config_; }
  uint64_t seed() const { return seed_; }

 private:
  struct Compiled;
  // The decisions below the network: net and host are keys, open_key(port) the port's.
  template <typename OpenKey>
  Answer decide(Proto proto, uint64_t net, uint64_t host, uint16_t port, OpenKey open_key) const;
  template <typename OpenKey>
  Answer decide_udp_echo(Proto proto, uint64_t net, uint64_t host, uint16_t port, OpenKey open_key,
                         Answer a) const;
  Answer on4(Proto proto, Ipv4Addr dst, uint16_t port) const;
  Answer on6(Proto proto, Ipv6Addr dst, uint16_t port) const;
  WorldConfig config_;
  uint64_t seed_;
  std::unique_ptr<Compiled> c_;
};

// A keyed 64-bit hash of (seed, domain, value): the model's only source of randomness.
inline uint64_t keyed(uint64_t seed, uint64_t domain, uint64_t value) {
  uint64_t z = seed ^ (domain * 0x9e3779b97f4a7c15ULL) ^ (value * 0xd6e8feb86659fd93ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ULL;
  return z ^ (z >> 32);
}

// A probability as a threshold for a uniform 64-bit value (p >= 1: always).
inline uint64_t threshold(double p) {
  if (p <= 0) return 0;
  if (p >= 1) return ~uint64_t{0};
  return static_cast<uint64_t>(p * 18446744073709551616.0);
}
inline bool below(uint64_t h, uint64_t t) {
  return t == ~uint64_t{0} || h < t;
}

}  // namespace dpscan::reflect
