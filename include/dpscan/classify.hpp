// Receive-side classification of one frame (docs/design.md, decision 3), family-generic:
// Ethernet (and up to two VLAN tags), then the family's L3 parser (family.hpp: IPv4 header,
// or IPv6 with its extension headers walked), then one of
//   - neighbour discovery (ARP, or NDP's ICMPv6 messages): answered by the RX loop,
//   - the module's transport (TCP, UDP, or an ICMP echo reply): the module's classify(),
//   - an ICMP error quoting a probe of the module's: the family's parser finds the quoted
//     probe, the module validates its cookie (classify_quoted()).
// Every read is bounds-checked against the frame length and the lengths the headers claim;
// anything that is not an answer to one of our probes becomes a Drop with a reason, which
// the RX lcore counts. No side effects: the fuzzer and the tests call it directly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/probe_module.hpp"

namespace dpscan {

// The Ethernet header: the EtherType after up to two VLAN tags (802.1Q, 802.1ad) and the
// offset of what follows; false when the frame is shorter than that.
struct L2View {
  uint16_t type = 0;
  size_t off = 0;
  uint8_t vlan_tags = 0;
};
inline bool parse_l2(const uint8_t* f, size_t len, L2View& out) {
  if (len < eth::kLen) return false;
  size_t off = eth::kType;
  uint16_t type = load_be16(f + off);
  uint8_t tags = 0;
  for (; tags < 2 && (type == eth::kTypeVlan || type == eth::kTypeQinQ); ++tags) {
    off += 4;
    if (len < off + 2) return false;
    type = load_be16(f + off);
  }
  out = {type, off + 2, tags};
  return true;
}

// NDP's messages (RFC 4861 section 4: router solicitation and advertisement, neighbour
// solicitation and advertisement, redirect): ICMPv6 types 133 to 137.
inline bool is_ndp_type(uint8_t type) {
  return type >= 133 && type <= 137;
}

namespace classify_detail {

// An ICMP message to us: an echo reply for an ICMP module, or an error quoting a probe.
template <typename M, typename A>
Verdict<A> icmp(const L3View<A>& l3, const RxContext<M>& ctx) {
  using F = typename M::Family;
  using V = Verdict<A>;
  if (l3.l4_len < icmp::kLen) return V::dropped(Drop::kTruncated);
  const uint8_t type = l3.l4[icmp::kType];
  const uint8_t code = l3.l4[icmp::kCode];
  constexpr bool kEchoModule = M::kIpProto == F::kIcmpProto;
  const bool echo_reply = kEchoModule && type == F::kEchoReply && code == 0;
  const std::optional<IcmpError> error = F::icmp_error(type, code);
  if (!echo_reply && !error) return V::dropped(Drop::kIcmpOther);
  // ICMP messages are checksummed in full by every stack (Linux: icmp_push_reply), and
  // devices report nothing for ICMP: verified here unless --rx-checksum trust.
  if (ctx.checksum != RxChecksum::kTrust &&
      checksum_fold(
          checksum_add(F::icmp_pseudo_sum(l3.src, l3.dst, static_cast<uint32_t>(l3.l4_len)), l3.l4,
                       l3.l4_len)) != 0)
    return V::dropped(Drop::kIcmpChecksum);
  if (echo_reply) return M::classify(l3, ctx, CsumHints{});
  const auto quote = F::parse_quote(l3.l4 + icmp::kLen, l3.l4_len - icmp::kLen);
  if (!quote.ok) return V::dropped(quote.drop);
  if (quote.value.proto != M::kIpProto) return V::dropped(Drop::kProtocol);
  if (quote.value.src != l3.dst) return V::dropped(Drop::kBadCookie);  // not our probe
  V v = M::classify_quoted(*error, quote.value, ctx);
  v.icmp_type = type;
  v.icmp_code = code;
  return v;
}

}  // namespace classify_detail

template <ProbeModule M>
Verdict<typename M::Family::Addr> classify_frame(const uint8_t* f, size_t len,
                                                 const RxContext<M>& ctx, CsumHints hints = {}) {
  using F = typename M::Family;
  using A = typename F::Addr;
  using V = Verdict<A>;
  L2View l2;
  if (!parse_l2(f, len, l2)) return V::dropped(Drop::kTruncated);
  V neighbour;
  neighbour.kind = V::Kind::kNeighbour;
  neighbour.l3 = l2.off;
  if (l2.type == eth::kTypeArp)
    return F::kFamily == Family::kIpv4 ? neighbour : V::dropped(Drop::kOtherFamily);
  if (l2.type != F::kEtherType) {
    const bool ip = l2.type == eth::kTypeIpv4 || l2.type == eth::kTypeIpv6;
    return V::dropped(ip ? Drop::kOtherFamily : Drop::kNotIp);
  }
  const auto parsed = F::parse(f + l2.off, len - l2.off, ctx.checksum, hints.ip);
  if (!parsed.ok) return V::dropped(parsed.drop);
  const L3View<A>& l3 = parsed.value;
  // Neighbour discovery goes to multicast groups and link-local addresses, not only to our
  // source addresses: the RX loop's neighbour step decides.
  if (F::kFamily == Family::kIpv6 && l3.proto == F::kIcmpProto && l3.l4_len >= 1 &&
      is_ndp_type(l3.l4[icmp::kType]))
    return neighbour;
  if (!ctx.sources.contains(l3.dst)) return V::dropped(Drop::kNotForUs);
  V v = l3.proto == F::kIcmpProto ? classify_detail::icmp<M>(l3, ctx)
        : l3.proto == M::kIpProto ? M::classify(l3, ctx, hints)
                                  : V::dropped(Drop::kProtocol);
  if (v.kind == V::Kind::kResult) {
    v.vlan_tags = l2.vlan_tags;
    v.ip_options = l3.options;
    v.ttl = l3.ttl;
    v.our_ip = l3.dst;
  }
  return v;
}

}  // namespace dpscan
