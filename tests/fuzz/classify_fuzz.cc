// libFuzzer target over everything that reads untrusted bytes on the RX path: classify()
// (Ethernet, VLAN, IPv4, TCP, ICMP and the quoted header) and parse_arp(). Built by
// scripts/fuzz.sh with clang, -fsanitize=fuzzer,address,undefined. The seed corpus in
// tests/fuzz/corpus/classify holds frames captured in the lab (scripts/fuzz-corpus.sh).
#include <cstddef>
#include <cstdint>

#include "dpscan/arp.hpp"
#include "dpscan/classify.hpp"

namespace {

dpscan::RxContext make_context() {
  dpscan::RxContext ctx{};
  // The lab's source addresses, so captured answers get past the address check; the key is
  // random per scan, so valid-cookie paths are reached only by the fuzzer's own mutations of
  // the cookie checks' inputs (which is the point: they must never crash either way).
  ctx.sources =
      dpscan::SourceAddresses({dpscan::Ipv4Addr(0xc613ff02u), dpscan::Ipv4Addr(0xc613ff03u),
                               dpscan::Ipv4Addr(0xc613ff04u), dpscan::Ipv4Addr(0xc613ff05u)});
  ctx.cookie.key = {0, 0};
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dpscan::RxContext ctx = make_context();
  const dpscan::Verdict v = dpscan::classify(data, size, ctx);
  if (v.kind == dpscan::Verdict::Kind::kArp && v.l3 <= size) {
    (void)dpscan::parse_arp(data + v.l3, size - v.l3);
  }
  // The other checksum modes and device flags take other paths past the checksums.
  dpscan::RxContext other = ctx;
  for (auto mode : {dpscan::RxChecksum::kVerify, dpscan::RxChecksum::kTrust}) {
    other.checksum = mode;
    (void)dpscan::classify(data, size, other);
  }
  (void)dpscan::classify(data, size, ctx, {dpscan::CsumFlag::kGood, dpscan::CsumFlag::kNone});
  return 0;
}
