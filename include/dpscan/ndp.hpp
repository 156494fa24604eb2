// IPv6 neighbour discovery (RFC 4861), the part a scanner needs: with the NIC unbound from
// the kernel nobody else resolves the gateway's MAC or answers for our addresses, and a
// target's kernel holds (and, when its queue overflows, drops) its answers until it has
// resolved ours (docs/design.md, decision 7). So dpscan sends neighbour solicitations for the
// gateway to its solicited-node multicast group, and answers solicitations for its source
// addresses and for the link-local address derived from the port's MAC (EUI-64, RFC 4291
// appendix A).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dpscan/addr.hpp"

namespace dpscan {

constexpr uint8_t kNdpSolicit = 135, kNdpAdvert = 136;

// fe80::/64 with the modified EUI-64 interface ID of `mac` (RFC 4291 section 2.5.1).
Ipv6Addr link_local_of(const MacAddr& mac);
// ff02::1:ffXX:XXXX, the group every address's solicitations go to (RFC 4291 section 2.7.1).
Ipv6Addr solicited_node_of(Ipv6Addr a);
// 33:33 and the group's last 32 bits (RFC 2464 section 7).
MacAddr multicast_mac_of(Ipv6Addr group);
constexpr Ipv6Addr kAllNodes{0xff02000000000000ULL, 1};

// A neighbour solicitation or advertisement: the target and the link-layer address option
// (source's for a solicitation, target's for an advertisement), if present.
struct NdpMessage {
  uint8_t type = 0;
  Ipv6Addr target;
  std::optional<MacAddr> lladdr;
  bool solicited = false;  // advertisement flag S
};

// Parses the ICMPv6 body of a neighbour solicitation or advertisement (after the IPv6
// header; checksum and hop limit checked by the caller): code 0, the target not multicast,
// every option's length non-zero and inside the message (RFC 4861 sections 7.1.1, 7.1.2).
std::optional<NdpMessage> parse_ndp(const uint8_t* icmp, size_t len);

// A whole Ethernet + IPv6 + neighbour solicitation frame for `target`, from our address,
// to the target's solicited-node group, with our MAC as source link-layer address.
// Returns its length (86).
size_t build_ndp_solicit(uint8_t* frame, const MacAddr& our_mac, Ipv6Addr our_ip, Ipv6Addr target);
// A neighbour advertisement of `target` (ours) at our MAC, to `dst` (dst_mac), flags
// solicited and override (RFC 4861 section 7.2.4). Returns its length (86).
size_t build_ndp_advert(uint8_t* frame, const MacAddr& our_mac, const MacAddr& dst_mac,
                        Ipv6Addr target, Ipv6Addr dst, bool solicited);

}  // namespace dpscan
