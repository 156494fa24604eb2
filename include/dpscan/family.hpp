// The address-family seam (docs/design.md, decision 13; Seastar's tcp<ipv4_traits>): a
// family is a traits type, Ipv4 (ipv4.hpp) or Ipv6 (ipv6.hpp), that supplies
//   - the address type (Addr) and the address list of the index space (AddressList),
//   - the L3 header: written once into a probe template, patched per probe (addresses, and
//     IPv4's ID and header checksum), parsed on receive (IPv6: extension headers walked),
//   - the pseudo-header sums of the transport checksums,
//   - its ICMP flavour: which error types and codes mean what, how the quoted probe is
//     found, and the checksum over the message (ICMPv6 includes a pseudo header),
//   - neighbour resolution (ARP, or NDP: neighbour.hpp).
// The probe modules (probe_module.hpp) and the TX and RX loops are templates over it, so a
// family costs no indirect call per packet; with_scan() (src/probe/modules.hpp) picks one.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dpscan/ip_addr.hpp"
#include "dpscan/status.hpp"

namespace dpscan {

// --rx-checksum: auto uses the device's checksum flags and accepts partial checksums;
// verify checks every checksum in software and accepts only complete, correct ones; trust
// checks none (the cookie alone decides).
enum class RxChecksum : uint8_t { kAuto, kVerify, kTrust };

// What the receiving device reports for one frame, per DPDK's RTE_MBUF_F_RX_*_CKSUM_* flags:
// kGood (checked, correct: not recomputed), kBad (checked, wrong: dropped), kNone (the data
// is intact but the checksum field was never filled in, e.g. virtio's NEEDS_CSUM: accepted),
// kUnknown (not checked: verified in software).
enum class CsumFlag : uint8_t { kUnknown, kGood, kBad, kNone };
struct CsumHints {
  CsumFlag ip = CsumFlag::kUnknown;
  CsumFlag l4 = CsumFlag::kUnknown;
};

// An IP packet as the family's parser hands it on: the addresses, the upper-layer protocol
// (after any IPv6 extension headers) and where its bytes are.
template <typename A>
struct L3View {
  A src;                 // the sender: the target, a router, or a neighbour
  A dst;                 // us (or a multicast group, for neighbour discovery)
  uint8_t proto = 0;     // upper-layer protocol
  uint8_t ttl = 0;       // TTL or hop limit
  bool options = false;  // IPv4 options or IPv6 extension headers were skipped
  const uint8_t* l4 = nullptr;
  size_t l4_len = 0;  // the upper-layer bytes present (a quoted probe may be cut)
};

// An ICMP error about a probe: what the family's codes mean. Only the port-unreachable
// error can say "closed" (a UDP module's decision); the rest say "unreachable".
struct IcmpError {
  Reason reason = Reason::kUnreach;
  bool port_unreachable = false;
};

// Outcome of a parse: the value, or why the frame is dropped.
template <typename T>
struct Parsed {
  T value{};
  Drop drop = Drop::kTruncated;
  bool ok = false;
  static Parsed fail(Drop d) {
    Parsed p;
    p.drop = d;
    return p;
  }
  static Parsed good(const T& v) {
    Parsed p;
    p.value = v;
    p.ok = true;
    return p;
  }
};

template <typename F>
concept AddressFamily = requires(const uint8_t* p, uint8_t* w, size_t n, typename F::Addr a,
                                 RxChecksum mode, CsumFlag flag) {
  typename F::Addr;
  { F::kFamily } -> std::convertible_to<Family>;
  { F::kName } -> std::convertible_to<std::string_view>;
  { F::kEtherType } -> std::convertible_to<uint16_t>;
  { F::kHeaderLen } -> std::convertible_to<size_t>;
  { F::kIcmpProto } -> std::convertible_to<uint8_t>;
  { F::kEchoRequest } -> std::convertible_to<uint8_t>;
  { F::kEchoReply } -> std::convertible_to<uint8_t>;
  { F::kMaxUdpPayload } -> std::convertible_to<size_t>;
  { F::addr_sum(a) } -> std::same_as<uint32_t>;
  { F::parse(p, n, mode, flag) } -> std::same_as<Parsed<L3View<typename F::Addr>>>;
  { F::parse_quote(p, n) } -> std::same_as<Parsed<L3View<typename F::Addr>>>;
  { F::icmp_error(uint8_t{}, uint8_t{}) } -> std::same_as<std::optional<IcmpError>>;
};

// The checksum of a transport segment from `them` to `us` with its pseudo header: the sum
// to fold (RFC 768, RFC 793 section 3.1, RFC 8200 section 8.1).
template <typename F>
uint32_t pseudo_header_sum(typename F::Addr src, typename F::Addr dst, uint8_t proto,
                           uint32_t len) {
  return F::addr_sum(src) + F::addr_sum(dst) + proto + (len >> 16) + (len & 0xffff);
}

}  // namespace dpscan
