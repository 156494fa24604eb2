#include "dpscan/neighbour.hpp"

#include "dpscan/arp.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/ndp.hpp"

namespace dpscan {
namespace {

// A neighbour solicitation or advertisement (after Ethernet and VLAN tags at l3): the IPv6
// header whole, hop limit 255 (so it cannot come from beyond the link, RFC 4861 section
// 7.1.1), the ICMPv6 checksum right, the body well-formed.
struct Ndp {
  L3View<Ipv6Addr> ip;
  NdpMessage msg;
};
std::optional<Ndp> parse_ndp_frame(const uint8_t* frame, size_t len, size_t l3) {
  if (l3 > len) return std::nullopt;
  const auto p = Ipv6::parse(frame + l3, len - l3, RxChecksum::kVerify, CsumFlag::kUnknown);
  if (!p.ok || p.value.proto != ip6::kIcmp6 || p.value.ttl != 255) return std::nullopt;
  const L3View<Ipv6Addr>& v = p.value;
  const uint32_t sum = Ipv6::icmp_pseudo_sum(v.src, v.dst, static_cast<uint32_t>(v.l4_len));
  if (checksum_fold(checksum_add(sum, v.l4, v.l4_len)) != 0) return std::nullopt;
  const auto msg = parse_ndp(v.l4, v.l4_len);
  if (!msg) return std::nullopt;
  return Ndp{v, *msg};
}

}  // namespace

size_t answer_neighbour(Ipv4, const uint8_t* frame, size_t len, size_t l3,
                        const NeighbourContext<Ipv4Addr>& ctx, uint8_t* out, Drop& drop) {
  const auto arp = l3 <= len ? parse_arp(frame + l3, len - l3) : std::nullopt;
  if (!arp || arp->op != kArpRequest || !ctx.sources->contains(arp->target_ip)) {
    drop = Drop::kArpOther;
    return 0;
  }
  return build_arp_frame(out, kArpReply, arp->sender_mac, ctx.mac, arp->target_ip, arp->sender_mac,
                         arp->sender_ip);
}

size_t answer_neighbour(Ipv6, const uint8_t* frame, size_t len, size_t l3,
                        const NeighbourContext<Ipv6Addr>& ctx, uint8_t* out, Drop& drop) {
  const auto ndp = parse_ndp_frame(frame, len, l3);
  if (!ndp || ndp->msg.type != kNdpSolicit ||
      !(ctx.sources->contains(ndp->msg.target) || ndp->msg.target == ctx.link_local)) {
    drop = Drop::kNdpOther;
    return 0;
  }
  // A solicitation from the unspecified address is duplicate address detection: the
  // answer goes to all nodes, unsolicited (RFC 4861 section 7.2.4).
  const bool dad = ndp->ip.src == Ipv6Addr{};
  const Ipv6Addr dst = dad ? kAllNodes : ndp->ip.src;
  const MacAddr dst_mac = dad               ? multicast_mac_of(kAllNodes)
                          : ndp->msg.lladdr ? *ndp->msg.lladdr
                                            : MacAddr::from(frame + eth::kSrc);
  return build_ndp_advert(out, ctx.mac, dst_mac, ndp->msg.target, dst, !dad);
}

std::optional<MacAddr> neighbour_mac(Ipv4, const uint8_t* frame, size_t len, Ipv4Addr who) {
  L2View l2;
  if (!parse_l2(frame, len, l2) || l2.type != eth::kTypeArp) return std::nullopt;
  const auto arp = parse_arp(frame + l2.off, len - l2.off);
  if (!arp || arp->op != kArpReply || arp->sender_ip != who) return std::nullopt;
  return arp->sender_mac;
}

std::optional<MacAddr> neighbour_mac(Ipv6, const uint8_t* frame, size_t len, Ipv6Addr who) {
  L2View l2;
  if (!parse_l2(frame, len, l2) || l2.type != eth::kTypeIpv6) return std::nullopt;
  const auto ndp = parse_ndp_frame(frame, len, l2.off);
  if (!ndp || ndp->msg.type != kNdpAdvert || ndp->msg.target != who) return std::nullopt;
  return ndp->msg.lladdr ? *ndp->msg.lladdr : MacAddr::from(frame + eth::kSrc);
}

size_t neighbour_request(Ipv4, uint8_t* out, const MacAddr& our_mac, Ipv4Addr our_ip,
                         Ipv4Addr who) {
  return build_arp_frame(out, kArpRequest, MacAddr::broadcast(), our_mac, our_ip, MacAddr(), who);
}

size_t neighbour_request(Ipv6, uint8_t* out, const MacAddr& our_mac, Ipv6Addr our_ip,
                         Ipv6Addr who) {
  return build_ndp_solicit(out, our_mac, our_ip, who);
}

}  // namespace dpscan
