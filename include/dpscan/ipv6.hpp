// The IPv6 family (family.hpp): RFC 8200's header and extension headers, ICMPv6 (RFC 4443)
// and neighbour discovery (RFC 4861: neighbour.hpp).
#pragma once

#include <cstring>
#include <optional>

#include "dpscan/addr.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/family.hpp"
#include "dpscan/ipv6_targets.hpp"

namespace dpscan {

struct Ipv6 {
  using Addr = Ipv6Addr;
  using AddressList = Ipv6Targets;
  static constexpr Family kFamily = Family::kIpv6;
  static constexpr std::string_view kName = "ipv6";
  static constexpr uint16_t kEtherType = eth::kTypeIpv6;
  static constexpr size_t kHeaderLen = ip6::kLen;
  static constexpr uint8_t kIcmpProto = ip6::kIcmp6;
  static constexpr uint8_t kEchoRequest = 128, kEchoReply = 129;
  // The minimum link MTU (RFC 8200 section 5) less the headers: a datagram that never needs
  // fragmenting on any IPv6 path.
  static constexpr size_t kMaxUdpPayload = 1280 - ip6::kLen - udp::kLen;  // 1232
  // Extension headers walked before the upper-layer header; a longer chain is dropped
  // (RFC 8200 section 4.1 defines six; a chain longer than this is an attack or noise).
  static constexpr int kMaxExtHeaders = 8;

  static Addr load(const uint8_t* p) { return Addr::from_bytes(p); }
  static void store(uint8_t* p, Addr a) { a.to_bytes(p); }
  // The address's eight 16-bit words summed (at most 8 * 0xffff: no overflow).
  static uint32_t addr_sum(Addr a) {
    uint32_t s = 0;
    for (uint64_t h : {a.hi(), a.lo()})
      s += static_cast<uint32_t>((h >> 48) + ((h >> 32) & 0xffff) + ((h >> 16) & 0xffff) +
                                 (h & 0xffff));
    return s;
  }

  // The constant part of a probe's header: version, the scan's flow label (constant per
  // scan: flows are never reordered by ECMP), payload length, next header, hop limit.
  static void write_header(uint8_t* ip, uint8_t proto, uint16_t l4_len, uint8_t hop_limit,
                           uint32_t flow_label) {
    std::memset(ip, 0, ip6::kLen);
    store_be32(ip + ip6::kVerClassFlow, (6u << 28) | (flow_label & 0xfffffu));
    store_be16(ip + ip6::kPayloadLen, l4_len);
    ip[ip6::kNext] = proto;
    ip[ip6::kHopLimit] = hop_limit;
  }
  static uint32_t header_sum(const uint8_t*) { return 0; }  // IPv6 has no header checksum
  static void patch(uint8_t* ip, Addr src, Addr dst, uint16_t /*id*/, uint32_t /*sum*/) {
    store(ip + ip6::kSrc, src);
    store(ip + ip6::kDst, dst);
  }
  static void write_full(uint8_t* ip, uint8_t proto, uint16_t l4_len, uint8_t hop_limit, Addr src,
                         Addr dst, uint16_t /*id*/) {
    write_header(ip, proto, l4_len, hop_limit, 0);
    patch(ip, src, dst, 0, 0);
  }

  static Parsed<L3View<Addr>> parse(const uint8_t* ip, size_t len, RxChecksum, CsumFlag) {
    using P = Parsed<L3View<Addr>>;
    if (len < ip6::kLen) return P::fail(Drop::kTruncated);
    if ((ip[ip6::kVerClassFlow] >> 4) != 6) return P::fail(Drop::kBadIpHeader);
    const size_t end = ip6::kLen + load_be16(ip + ip6::kPayloadLen);
    if (len < end) return P::fail(Drop::kTruncated);
    return walk(ip, end, false);
  }

  // The probe an ICMPv6 error quotes ("as much of invoking packet as possible without the
  // ICMPv6 packet exceeding the minimum IPv6 MTU", RFC 4443 section 3.1): the whole probe,
  // usually, but what follows its header may be cut.
  static Parsed<L3View<Addr>> parse_quote(const uint8_t* ip, size_t len) {
    using P = Parsed<L3View<Addr>>;
    if (len < ip6::kLen) return P::fail(Drop::kTruncated);
    if ((ip[ip6::kVerClassFlow] >> 4) != 6) return P::fail(Drop::kBadIpHeader);
    const size_t end = std::min(len, ip6::kLen + load_be16(ip + ip6::kPayloadLen));
    Parsed<L3View<Addr>> p = walk(ip, end, true);
    if (p.ok && p.value.l4_len < 8) return P::fail(Drop::kTruncated);
    return p;
  }

  // RFC 4443 section 3: every destination-unreachable code, packet too big, time exceeded.
  // Parameter problems are about the header, not the path: not an answer.
  static std::optional<IcmpError> icmp_error(uint8_t type, uint8_t code) {
    if (type == 2) return IcmpError{Reason::kPacketTooBig, false};
    if (type == 3) return IcmpError{Reason::kTimeExceeded, false};
    if (type != 1) return std::nullopt;
    switch (code) {
      case 0:
        return IcmpError{Reason::kNoRoute, false};
      case 1:
        return IcmpError{Reason::kAdminProhibited, false};
      case 2:
        return IcmpError{Reason::kBeyondScope, false};
      case 3:
        return IcmpError{Reason::kAddrUnreach, false};
      case 4:
        return IcmpError{Reason::kPortUnreach, true};
      case 5:
        return IcmpError{Reason::kFailedPolicy, false};
      case 6:
        return IcmpError{Reason::kRejectRoute, false};
      default:
        return IcmpError{Reason::kUnreach, false};
    }
  }
  // ICMPv6's checksum covers a pseudo header too (RFC 4443 section 2.3).
  static uint32_t icmp_pseudo_sum(Addr src, Addr dst, uint32_t len) {
    return pseudo_header_sum<Ipv6>(src, dst, ip6::kIcmp6, len);
  }

 private:
  // Walks the extension headers up to the upper-layer header. end: where the packet's bytes
  // stop (its payload length, or the end of a quote). quote: a chain cut by the end of a
  // quote is truncated, not malformed.
  static Parsed<L3View<Addr>> walk(const uint8_t* ip, size_t end, bool quote) {
    using P = Parsed<L3View<Addr>>;
    const Drop cut = quote ? Drop::kTruncated : Drop::kBadExtHeader;
    uint8_t next = ip[ip6::kNext];
    size_t off = ip6::kLen;
    for (int n = 0;; ++n) {
      size_t size = 0;
      switch (next) {
        case ip6::kHopByHop:
        case ip6::kRouting:
        case ip6::kDestOpts:
          if (end - off < 8) return P::fail(cut);
          size = (size_t{ip[off + 1]} + 1) * 8;
          break;
        case ip6::kAh:  // RFC 4302 section 2.2: length in 4-byte units, minus 2
          if (end - off < 8) return P::fail(cut);
          size = (size_t{ip[off + 1]} + 2) * 4;
          break;
        case ip6::kFragment: {
          if (end - off < 8) return P::fail(cut);
          const uint16_t offset_flags = load_be16(ip + off + 2);
          // Offset or more-fragments set: a piece, never a whole answer. An atomic
          // fragment (RFC 6946) is whole and walked past.
          if ((offset_flags & 0xfff9) != 0) return P::fail(Drop::kFragment);
          size = 8;
          break;
        }
        case ip6::kEsp:     // encrypted: nothing of ours can be inside
        case ip6::kNoNext:  // nothing follows
          return P::fail(Drop::kProtocol);
        default: {
          P p;  // built in place, as Ipv4::view explains
          p.ok = true;
          L3View<Addr>& v = p.value;
          v.src = load(ip + ip6::kSrc);
          v.dst = load(ip + ip6::kDst);
          v.proto = next;
          v.ttl = ip[ip6::kHopLimit];
          v.options = n > 0;
          v.l4 = ip + off;
          v.l4_len = end - off;
          return p;
        }
      }
      if (n == kMaxExtHeaders) return P::fail(Drop::kBadExtHeader);
      if (end - off < size) return P::fail(cut);
      next = ip[off];
      off += size;
    }
  }
};
static_assert(AddressFamily<Ipv6>);

}  // namespace dpscan
