#include "dpscan/ndp.hpp"

#include <cstring>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/ipv6.hpp"

namespace dpscan {
namespace {

constexpr size_t kNdpLen = icmp::kLen + 16 + 8;  // header, target, one link-layer option
constexpr uint8_t kOptSourceLl = 1, kOptTargetLl = 2;

// Ethernet + IPv6 (hop limit 255: RFC 4861 section 7.1 refuses anything less) + the body
// with its target and one link-layer option, checksum included.
size_t build(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac, Ipv6Addr src, Ipv6Addr dst,
             uint8_t type, uint32_t flags, Ipv6Addr target, uint8_t option) {
  std::memcpy(f + eth::kDst, dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, src_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeIpv6);
  uint8_t* ip = f + eth::kLen;
  Ipv6::write_full(ip, ip6::kIcmp6, kNdpLen, 255, src, dst, 0);
  uint8_t* m = ip + ip6::kLen;
  std::memset(m, 0, kNdpLen);
  m[icmp::kType] = type;
  store_be32(m + 4, flags);
  target.to_bytes(m + 8);
  m[24] = option;
  m[25] = 1;  // in units of 8 bytes
  std::memcpy(m + 26, src_mac.data(), 6);
  const uint32_t sum =
      checksum_add(Ipv6::icmp_pseudo_sum(src, dst, static_cast<uint32_t>(kNdpLen)), m, kNdpLen);
  store_be16(m + icmp::kChecksum, checksum_fold(sum));
  return eth::kLen + ip6::kLen + kNdpLen;
}

}  // namespace

Ipv6Addr link_local_of(const MacAddr& mac) {
  const uint8_t* b = mac.data();
  const uint64_t iid = (uint64_t{b[0] ^ 0x02u} << 56) | (uint64_t{b[1]} << 48) |
                       (uint64_t{b[2]} << 40) | (uint64_t{0xfffe} << 24) | (uint64_t{b[3]} << 16) |
                       (uint64_t{b[4]} << 8) | b[5];
  return {0xfe80000000000000ULL, iid};
}

Ipv6Addr solicited_node_of(Ipv6Addr a) {
  return {0xff02000000000000ULL, 0x00000001ff000000ULL | (a.lo() & 0xffffff)};
}

MacAddr multicast_mac_of(Ipv6Addr group) {
  const uint64_t lo = group.lo();
  return MacAddr({0x33, 0x33, static_cast<uint8_t>(lo >> 24), static_cast<uint8_t>(lo >> 16),
                  static_cast<uint8_t>(lo >> 8), static_cast<uint8_t>(lo)});
}

std::optional<NdpMessage> parse_ndp(const uint8_t* m, size_t len) {
  if (len < icmp::kLen + 16) return std::nullopt;
  NdpMessage msg;
  msg.type = m[icmp::kType];
  if ((msg.type != kNdpSolicit && msg.type != kNdpAdvert) || m[icmp::kCode] != 0)
    return std::nullopt;
  msg.solicited = msg.type == kNdpAdvert && (m[4] & 0x40) != 0;
  msg.target = Ipv6Addr::from_bytes(m + 8);
  if ((msg.target.hi() >> 56) == 0xff) return std::nullopt;  // never a multicast target
  const uint8_t want = msg.type == kNdpSolicit ? kOptSourceLl : kOptTargetLl;
  for (size_t off = icmp::kLen + 16; off < len;) {
    if (len - off < 2 || m[off + 1] == 0) return std::nullopt;
    const size_t opt_len = size_t{m[off + 1]} * 8;
    if (len - off < opt_len) return std::nullopt;
    if (m[off] == want && opt_len >= 8) msg.lladdr = MacAddr::from(m + off + 2);
    off += opt_len;
  }
  return msg;
}

size_t build_ndp_solicit(uint8_t* frame, const MacAddr& our_mac, Ipv6Addr our_ip, Ipv6Addr target) {
  const Ipv6Addr group = solicited_node_of(target);
  return build(frame, our_mac, multicast_mac_of(group), our_ip, group, kNdpSolicit, 0, target,
               kOptSourceLl);
}

size_t build_ndp_advert(uint8_t* frame, const MacAddr& our_mac, const MacAddr& dst_mac,
                        Ipv6Addr target, Ipv6Addr dst, bool solicited) {
  const uint32_t flags = (solicited ? 0x40000000u : 0) | 0x20000000u;  // S, O (R clear: a host)
  return build(frame, our_mac, dst_mac, target, dst, kNdpAdvert, flags, target, kOptTargetLl);
}

}  // namespace dpscan
