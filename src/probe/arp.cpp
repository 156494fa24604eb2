#include "dpscan/arp.hpp"

#include <cstring>

#include "dpscan/bytes.hpp"

namespace dpscan {

std::optional<ArpPacket> parse_arp(const uint8_t* p, size_t len) {
  if (len < 28) return std::nullopt;
  if (load_be16(p) != 1 || load_be16(p + 2) != eth::kTypeIpv4 || p[4] != 6 || p[5] != 4) {
    return std::nullopt;
  }
  ArpPacket a{};
  a.op = load_be16(p + 6);
  a.sender_mac = MacAddr::from(p + 8);
  a.sender_ip = Ipv4Addr(load_be32(p + 14));
  a.target_mac = MacAddr::from(p + 18);
  a.target_ip = Ipv4Addr(load_be32(p + 24));
  return a;
}

size_t build_arp_frame(uint8_t* f, uint16_t op, const MacAddr& eth_dst, const MacAddr& our_mac,
                       Ipv4Addr our_ip, const MacAddr& target_mac, Ipv4Addr target_ip) {
  std::memcpy(f + eth::kDst, eth_dst.data(), 6);
  std::memcpy(f + eth::kSrc, our_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeArp);
  uint8_t* a = f + eth::kLen;
  store_be16(a, 1);  // Ethernet
  store_be16(a + 2, eth::kTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  std::memcpy(a + 8, our_mac.data(), 6);
  store_be32(a + 14, our_ip.value());
  std::memcpy(a + 18, target_mac.data(), 6);
  store_be32(a + 24, target_ip.value());
  return kArpFrameLen;
}

}  // namespace dpscan
