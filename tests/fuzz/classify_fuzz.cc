// libFuzzer target over everything that reads untrusted bytes on the RX path, for both
// families and every module (TCP SYN, ICMP echo, UDP with every built-in payload): classify_frame()
// (Ethernet, VLAN, IPv4 with options, IPv6 with its extension headers, TCP, ICMP and ICMPv6 with
// the quoted probe) and the neighbour protocols (ARP; neighbour solicitations and advertisements).
// Built by scripts/fuzz.sh with clang, -fsanitize=fuzzer,address,undefined. The seed corpus in
// tests/fuzz/corpus/classify holds frames captured in the lab (scripts/fuzz-corpus.sh); the fuzzer
// reaches IPv6 by mutating the EtherType and the version.
#include <cstddef>
#include <cstdint>

#include "dpscan/classify.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/neighbour.hpp"
#include "probe/icmp_echo.hpp"
#include "probe/tcp_syn.hpp"
#include "probe/udp.hpp"

namespace {

using namespace dpscan;

template <typename M>
RxContext<M> make_context(std::vector<typename M::Family::Addr> sources) {
  RxContext<M> ctx{};
  // The lab's source addresses, so captured answers get past the address check; the key is
  // random per scan, so valid-cookie paths are reached only by the fuzzer's own mutations of
  // the cookie checks' inputs (which is the point: they must never crash either way).
  ctx.sources = SourceAddressesOf<typename M::Family::Addr>(std::move(sources));
  ctx.cookie.key = {0, 0};
  return ctx;
}

template <typename M>
void run(const uint8_t* data, size_t size, const RxContext<M>& ctx) {
  using F = typename M::Family;
  const auto v = classify_frame<M>(data, size, ctx);
  if (v.kind == decltype(v)::Kind::kNeighbour) {
    const NeighbourContext<typename F::Addr> nc{MacAddr({2, 0, 0, 0, 0, 1}), &ctx.sources,
                                                link_local_of(MacAddr({2, 0, 0, 0, 0, 1}))};
    uint8_t out[256];
    Drop drop{};
    (void)answer_neighbour(F{}, data, size, v.l3, nc, out, drop);
    (void)neighbour_mac(F{}, data, size, ctx.sources.first());
  }
  // The other checksum modes and device flags take other paths past the checksums.
  RxContext<M> other = ctx;
  for (auto mode : {RxChecksum::kVerify, RxChecksum::kTrust}) {
    other.checksum = mode;
    (void)classify_frame<M>(data, size, other);
  }
  (void)classify_frame<M>(data, size, ctx, {CsumFlag::kGood, CsumFlag::kNone});
}

// The UDP module's slots: every built-in payload (its answer checks parse what the fuzzer
// sends from their ports).
template <typename C>
C with_udp(C ctx) {
  ProbePlan plan;
  plan.udp_payloads = udp::builtin_payloads();
  ctx.module = decltype(ctx.module){std::make_shared<const udp_detail::Slots>(plan)};
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Ipv4Addr> v4{Ipv4Addr(0xc613ff02u), Ipv4Addr(0xc613ff03u),
                                 Ipv4Addr(0xc613ff04u), Ipv4Addr(0xc613ff05u)};
  const std::vector<Ipv6Addr> v6{Ipv6Addr(0x20010db800ff0000ULL, 2),
                                 Ipv6Addr(0x20010db800ff0000ULL, 3)};
  static const auto tcp4 = make_context<TcpSyn<Ipv4>>(v4);
  static const auto tcp6 = make_context<TcpSyn<Ipv6>>(v6);
  static const auto echo4 = make_context<IcmpEcho<Ipv4>>(v4);
  static const auto echo6 = make_context<IcmpEcho<Ipv6>>(v6);
  static const auto udp4 = with_udp(make_context<Udp<Ipv4>>(v4));
  static const auto udp6 = with_udp(make_context<Udp<Ipv6>>(v6));
  run(data, size, tcp4);
  run(data, size, tcp6);
  run(data, size, echo4);
  run(data, size, echo6);
  run(data, size, udp4);
  run(data, size, udp6);
  return 0;
}
