// dpscan-reflect in IPv6 worlds: the model keyed on 128-bit addresses (aliased /64s
// included), world files of a family, and the frames it answers with, checked by dpscan's
// own classifier (classify_frame<TcpSyn<Ipv6>>) and neighbour-discovery parser.
#include <doctest/doctest.h>

#include <vector>

#include "dpscan/classify.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/rng.hpp"
#include "frames.hpp"
#include "probe/tcp_syn.hpp"
#include "reflect_family.hpp"
#include "reflect_worlds.h"
#include "world.hpp"

using namespace dpscan;
using namespace dpscan::reflect;

namespace {

World internet6(uint64_t seed) {
  return World(load_world_text(kInternet6World, "internet6"), seed);
}

const MacAddr kScannerMac({2, 0, 0, 0, 0, 2}), kReflectMac({2, 0, 0, 0, 0, 1});
const Ipv6Addr kUs(0x20010db8ffff0000ULL, 2);

// A probe as dpscan sends it (a SYN with the Linux options, the cookie's port and sequence),
// read back by the reflector's parser.
ProbeEcho6 probe_to(const RxContext<TcpSyn<Ipv6>>& ctx, Ipv6Addr them, uint16_t port) {
  const Cookie c = make_cookie(ctx.cookie, kUs, them, port);
  TcpSegmentOf<Ipv6Addr> s;
  s.src_mac = kScannerMac;
  s.dst_mac = kReflectMac;
  s.src = kUs;
  s.dst = them;
  s.sport = c.sport;
  s.dport = port;
  s.seq = c.seq;
  s.flags = tcp::kSyn;
  s.window = 65535;
  s.ttl = 60;
  s.options = OptionProfile::kLinux;
  uint8_t f[128];
  const size_t n = build_tcp_frame<Ipv6>(f, s);
  ProbeEcho6 e;
  uint8_t flags = 0;
  REQUIRE(Side<Ipv6>::parse(f, n, e, flags) == ip4::kProtoTcp);
  CHECK(flags == tcp::kSyn);
  CHECK(e.tcp_len == n - eth::kLen - ip6::kLen);  // the whole TCP header, options included
  return e;
}

RxContext<TcpSyn<Ipv6>> context() {
  RxContext<TcpSyn<Ipv6>> ctx{};
  ctx.sources = SourceAddressesOf<Ipv6Addr>(std::vector<Ipv6Addr>{kUs});
  ctx.cookie.set_key({0x99, 0x77}, CookieAlgo::kSipHash);
  return ctx;
}

}  // namespace

TEST_CASE("an IPv6 world: keyed on 128-bit addresses, networks of its prefix, aliased /64s") {
  const World a = internet6(7), b = internet6(7), c = internet6(8);
  CHECK(a.family() == Family::kIpv6);
  Rng rng(5);
  size_t differ = 0, aliased_nets = 0, nets = 0;
  for (int i = 0; i < 20000; ++i) {
    // One address in a random /64 of 2001:db8::/32, and another in the same /64.
    const uint64_t hi = 0x20010db800000000ULL | (rng.next() & 0xffffffffULL);
    const Ipv6Addr x(hi, rng.next()), y(hi, rng.next());
    const auto port = static_cast<uint16_t>(1 + rng.next() % 65535);
    const Answer p = a.answer(x, port), q = b.answer(x, port);
    REQUIRE(p.fate == q.fate);
    REQUIRE(p.ttl == q.ttl);
    REQUIRE(a.kind(x) == a.kind(y));  // the /64 is the network
    REQUIRE(a.rtt_ns(x) == a.rtt_ns(y));
    differ += p.fate != c.answer(x, port).fate;
    ++nets;
    if (a.kind(x) == NetKind::kAliased) {
      ++aliased_nets;
      // Every address, every port: SYN-ACK, one stack for the prefix.
      for (int k = 0; k < 8; ++k) {
        const Ipv6Addr z(hi, rng.next());
        const Answer w = a.answer(z, static_cast<uint16_t>(1 + rng.next() % 65535));
        REQUIRE(w.fate == Fate::kSynAck);
        REQUIRE(w.ttl == p.ttl);
      }
    }
    if (a.kind(x) == NetKind::kUnreachable) {
      REQUIRE(p.fate == Fate::kIcmp);
      REQUIRE((p.icmp_code == 0 || p.icmp_code == 1 || p.icmp_code == 3 || p.icmp_code == 4));
      CHECK(a.router_of(x) == Ipv6Addr(hi, 1));
    }
  }
  CHECK(differ > 500);
  // 3 of 100 by weight: within 5 standard deviations of 600.
  CHECK(aliased_nets > 600 - 5 * 24);
  CHECK(aliased_nets < 600 + 5 * 24);
  // An IPv6 world is silent to IPv4 and the other way round.
  CHECK(a.answer(Ipv4Addr(0xc6120105u), 80).fate == Fate::kSilent);
  const World v4(load_world_text(kDenseWorld, "dense"), 1);
  CHECK(v4.answer(Ipv6Addr(0x20010db800010000ULL, 1), 80).fate == Fate::kSilent);
  CHECK(v4.answer(Ipv4Addr(0xc6120105u), 80).fate != Fate::kSilent);  // dense answers all
}

TEST_CASE("IPv6 world files: family, network_prefix, aliased and ICMPv6 codes checked") {
  auto err = [](const std::string& text) {
    try {
      load_world_text(text, "w.yaml");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("networks: [{kind: aliased}]\n") ==
        "w.yaml:1:19: kind 'aliased' is for IPv6 worlds (family: ipv6)");
  CHECK(err("family: ipv6\nnetworks: [{kind: unreachable, codes: {13: 1}}]\n") ==
        "w.yaml:2:40: ICMPv6 destination unreachable code 13 is not one of RFC 4443's (0 to 6)");
  CHECK(err("family: ipv5\nnetworks: [{kind: empty}]\n") ==
        "w.yaml:1:9: 'family' is ipv4 or ipv6, not 'ipv5'");
  CHECK(err("network_prefix: 48\nnetworks: [{kind: empty}]\n") ==
        "w.yaml:1:17: 'network_prefix' is for IPv6 worlds (IPv4 networks are /24s)");
  const WorldConfig c = load_world_text(
      "family: ipv6\nnetwork_prefix: 120\nnetworks: [{kind: unreachable}]\n", "w.yaml");
  CHECK(c.network_prefix == 120);
  const World w(c, 3);
  const Answer a = w.answer(Ipv6Addr(0x20010db8ULL << 32, 0x1234), 80);
  CHECK(a.fate == Fate::kIcmp);
  CHECK(a.icmp_code == 3);  // address unreachable, IPv6's default
  CHECK(w.router_of(Ipv6Addr(0x20010db8ULL << 32, 0x1234)) ==
        Ipv6Addr(0x20010db8ULL << 32, 0x1201));
}

TEST_CASE("the reflector's IPv6 answers, to dpscan's classifier") {
  const RxContext<TcpSyn<Ipv6>> ctx = context();
  const Ipv6Addr them(0x20010db800420000ULL, 0x1);
  const Ipv6Addr router(0x20010db800420000ULL, 0x1);
  const ProbeEcho6 e = probe_to(ctx, them, 443);
  // ICMPv6 destination unreachable quoting the whole probe, each code its reason.
  const std::vector<std::pair<uint8_t, Reason>> codes{{0, Reason::kNoRoute},
                                                      {1, Reason::kAdminProhibited},
                                                      {3, Reason::kAddrUnreach},
                                                      {4, Reason::kPortUnreach}};
  for (const auto& [code, reason] : codes) {
    uint8_t f[kMaxIcmp6Frame];
    const size_t n = build_icmp6_unreachable(f, kReflectMac, kScannerMac, router, code, 64, e);
    CHECK(n == eth::kLen + 2 * ip6::kLen + 8 + e.tcp_len);
    const Verdict<Ipv6Addr> v = classify_frame<TcpSyn<Ipv6>>(f, n, ctx);
    CAPTURE(code);
    REQUIRE(v.kind == Verdict<Ipv6Addr>::Kind::kResult);
    CHECK(v.status == Status::kUnreachable);
    CHECK(v.reason == reason);
    CHECK(v.ip == them);
    CHECK(v.port == 443);
    CHECK(v.icmp_code == code);
    // A bit flipped anywhere in the ICMPv6 message: the checksum refuses it.
    f[n - 1] ^= 0x10;
    CHECK(classify_frame<TcpSyn<Ipv6>>(f, n, ctx).kind != Verdict<Ipv6Addr>::Kind::kResult);
  }
  // SYN-ACK (each stack's options) and RST over IPv6, checksummed over the pseudo-header.
  const Cookie c = make_cookie(ctx.cookie, kUs, them, 443);
  TcpSegmentOf<Ipv6Addr> s;
  s.src_mac = kReflectMac;
  s.dst_mac = kScannerMac;
  s.src = them;
  s.dst = kUs;
  s.sport = 443;
  s.dport = c.sport;
  s.seq = 777;
  s.ack = c.seq + 1;
  s.window = 64800;
  for (OptionProfile p : {OptionProfile::kNone, OptionProfile::kWindows, OptionProfile::kLinux,
                          OptionProfile::kBsd}) {
    s.flags = tcp::kSyn | tcp::kAck_;
    s.options = p;
    uint8_t f[128];
    const size_t n = build_tcp_frame<Ipv6>(f, s);
    const Verdict<Ipv6Addr> v = classify_frame<TcpSyn<Ipv6>>(f, n, ctx);
    REQUIRE(v.kind == Verdict<Ipv6Addr>::Kind::kResult);
    CHECK(v.status == Status::kOpen);
    CHECK(v.window == 64800);
  }
  s.flags = tcp::kRst | tcp::kAck_;
  s.options = OptionProfile::kNone;
  s.window = 0;
  uint8_t f[128];
  const size_t n = build_tcp_frame<Ipv6>(f, s);
  const Verdict<Ipv6Addr> v = classify_frame<TcpSyn<Ipv6>>(f, n, ctx);
  REQUIRE(v.kind == Verdict<Ipv6Addr>::Kind::kResult);
  CHECK(v.status == Status::kClosed);
  // Noise matches no probe: the cookie check refuses it.
  const ProbeEcho6 noise = Side<Ipv6>::noise(kUs, 0x1234567890ULL, 0xabcdef, 0x42);
  uint8_t g[kMaxIcmp6Frame];
  const size_t m = build_icmp6_unreachable(g, kReflectMac, kScannerMac, router, 3, 64, noise);
  CHECK(classify_frame<TcpSyn<Ipv6>>(g, m, ctx).kind != Verdict<Ipv6Addr>::Kind::kResult);
}

TEST_CASE("the reflector answers neighbour solicitations for its gateway address") {
  const Ipv6Addr gw(0x20010db8ffff0000ULL, 1), other(0x20010db8ffff0000ULL, 9);
  uint8_t ns[128], na[128];
  // As dpscan asks: to the solicited-node group, with its link-layer address.
  const size_t n = build_ndp_solicit(ns, kScannerMac, kUs, gw);
  REQUIRE(Side<Ipv6>::is_neighbour(ns, n));
  const int k = Side<Ipv6>::answer_neighbour(ns, n, gw, kReflectMac, na);
  REQUIRE(k == 86);
  CHECK(MacAddr::from(na + eth::kDst) == kScannerMac);
  CHECK(MacAddr::from(na + eth::kSrc) == kReflectMac);
  const uint8_t* ip = na + eth::kLen;
  CHECK(ip[ip6::kHopLimit] == 255);
  CHECK(Ipv6::load(ip + ip6::kSrc) == gw);
  CHECK(Ipv6::load(ip + ip6::kDst) == kUs);
  const uint8_t* icmp = ip + ip6::kLen;
  const size_t icmp_len = load_be16(ip + ip6::kPayloadLen);
  CHECK(checksum_fold(checksum_add(Ipv6::icmp_pseudo_sum(gw, kUs, static_cast<uint32_t>(icmp_len)),
                                   icmp, icmp_len)) == 0);
  const auto adv = parse_ndp(icmp, icmp_len);
  REQUIRE(adv);
  CHECK(adv->type == kNdpAdvert);
  CHECK(adv->target == gw);
  CHECK(adv->solicited);
  REQUIRE(adv->lladdr);
  CHECK(*adv->lladdr == kReflectMac);
  // For another address, or with a bad checksum or hop limit: no answer.
  CHECK(Side<Ipv6>::answer_neighbour(ns, n, other, kReflectMac, na) == -1);
  ns[n - 1] ^= 1;
  CHECK(Side<Ipv6>::answer_neighbour(ns, n, gw, kReflectMac, na) == -1);
  ns[n - 1] ^= 1;
  ns[eth::kLen + ip6::kHopLimit] = 64;
  CHECK(Side<Ipv6>::answer_neighbour(ns, n, gw, kReflectMac, na) == -1);
}
