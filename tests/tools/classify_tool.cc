// classify_tool: dpscan's RX classification as a filter, so a test can hand it frames built
// by an independent implementation (scapy) and check the verdicts.
//   classify_tool 4|6[:icmp-echo|:udp] K0 K1 siphash|aes SOURCE... < frames
// (udp: the probe slots are the built-in DNS payload on port 53 (slot 0) and NTP on 123
// (slot 1).)
// Each input line is one Ethernet frame in hex; each output line is
//   result STATUS REASON IP PORT VALIDATION_BITS    an answer to one of our probes
//   drop REASON                                      (the Drop's counter name)
//   neighbour REPLY_HEX|-                            ARP / neighbour discovery: our reply
// The key is the scan's (K0 K1 in hex), the source port range dpscan's default.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dpscan/classify.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/neighbour.hpp"
#include "probe/icmp_echo.hpp"
#include "probe/tcp_syn.hpp"
#include "probe/udp.hpp"

using namespace dpscan;

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

template <typename M>
int run(char** argv, int argc) {
  using F = typename M::Family;
  using A = typename F::Addr;
  RxContext<M> ctx{};
  ctx.cookie.set_key({std::stoull(argv[2], nullptr, 16), std::stoull(argv[3], nullptr, 16)},
                     parse_cookie_algo(argv[4]));
  std::vector<A> sources;
  for (int i = 5; i < argc; ++i) sources.push_back(*A::parse(argv[i]));
  ctx.sources = SourceAddressesOf<A>(sources);
  if constexpr (std::is_same_v<M, Udp<F>>) {
    ProbePlan plan;
    for (uint16_t port : {uint16_t{53}, uint16_t{123}})
      for (auto& p : udp::builtin_for_port(port)) plan.udp_payloads.push_back(p);
    ctx.module = M::make_rx_config(plan);
  }
  const MacAddr mac({2, 0, 0, 0, 0, 1});
  const NeighbourContext<A> nc{mac, &ctx.sources, link_local_of(mac)};
  for (std::string line; std::getline(std::cin, line);) {
    const auto f = unhex(line);
    const auto v = classify_frame<M>(f.data(), f.size(), ctx);
    using K = typename Verdict<A>::Kind;
    if (v.kind == K::kResult) {
      fmt::print("result {} {} {} {} {}\n", status_name(v.status), reason_name(v.reason),
                 IpAddr(v.ip).to_string(), v.port, v.validation_bits);
    } else if (v.kind == K::kNeighbour) {
      uint8_t out[256];
      Drop drop{};
      const size_t n = answer_neighbour(F{}, f.data(), f.size(), v.l3, nc, out, drop);
      std::string hex;
      for (size_t i = 0; i < n; ++i) hex += fmt::format("{:02x}", out[i]);
      fmt::print("neighbour {}\n", n ? hex : "-" + std::string(drop_name(drop)));
    } else {
      fmt::print("drop {}\n", drop_name(v.drop));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: classify_tool 4|6 K0 K1 siphash|aes SOURCE... < frames\n");
    return 2;
  }
  const std::string what = argv[1];
  if (what == "6") return run<TcpSyn<Ipv6>>(argv, argc);
  if (what == "4") return run<TcpSyn<Ipv4>>(argv, argc);
  if (what == "6:icmp-echo") return run<IcmpEcho<Ipv6>>(argv, argc);
  if (what == "4:icmp-echo") return run<IcmpEcho<Ipv4>>(argv, argc);
  if (what == "6:udp") return run<Udp<Ipv6>>(argv, argc);
  if (what == "4:udp") return run<Udp<Ipv4>>(argv, argc);
  std::fprintf(stderr, "classify_tool: unknown family/module '%s'\n", argv[1]);
  return 2;
}
