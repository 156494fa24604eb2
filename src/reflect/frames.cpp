#include "frames.hpp"

#include <algorithm>
#include <cstring>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/ipv6.hpp"

namespace dpscan::reflect {

size_t build_icmp_unreachable(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac,
                              Ipv4Addr router, uint8_t code, uint8_t ttl, const ProbeEcho& p) {
  constexpr size_t kQuote = ip4::kLen + 8;  // RFC 792: the header and 64 bits of data
  constexpr size_t kIcmpLen = 8 + kQuote;
  std::memset(f, 0, eth::kLen + ip4::kLen + kIcmpLen);
  std::memcpy(f + eth::kDst, dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, src_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeIpv4);
  uint8_t* ip = f + eth::kLen;
  ip[ip4::kVerIhl] = 0x45;
  ip[1] = 0xc0;  // precedence "internetwork control", as Linux sends ICMP errors
  store_be16(ip + ip4::kTotalLen, static_cast<uint16_t>(ip4::kLen + kIcmpLen));
  ip[ip4::kTtl] = ttl;
  ip[ip4::kProto] = ip4::kProtoIcmp;
  store_be32(ip + ip4::kSrc, router.value());
  store_be32(ip + ip4::kDst, p.scanner.value());
  store_be16(ip + ip4::kChecksum, checksum_fold(checksum_add(0, ip, ip4::kLen)));
  uint8_t* icmp = ip + ip4::kLen;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = code;
  // The probe as it arrived: its IPv4 header (checksum recomputed) and TCP's first 8 bytes.
  uint8_t* q = icmp + 8;
  q[ip4::kVerIhl] = 0x45;
  store_be16(q + ip4::kTotalLen, p.ip_len);
  store_be16(q + ip4::kId, p.ip_id);
  q[ip4::kTtl] = p.ttl;
  q[ip4::kProto] = p.proto;
  store_be32(q + ip4::kSrc, p.scanner.value());
  store_be32(q + ip4::kDst, p.target.value());
  store_be16(q + ip4::kChecksum, checksum_fold(checksum_add(0, q, ip4::kLen)));
  if (p.proto == ip4::kProtoTcp) {
    store_be16(q + ip4::kLen + tcp::kSport, p.sport);
    store_be16(q + ip4::kLen + tcp::kDport, p.tport);
    store_be32(q + ip4::kLen + tcp::kSeq, p.seq);
  } else {
    std::memcpy(q + ip4::kLen, p.l4, std::min<size_t>(8, p.l4_len));
  }
  store_be16(icmp + 2, checksum_fold(checksum_add(0, icmp, kIcmpLen)));
  return eth::kLen + ip4::kLen + kIcmpLen;
}

size_t build_icmp6_unreachable(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac,
                               Ipv6Addr router, uint8_t code, uint8_t hop_limit,
                               const ProbeEcho6& p) {
  // RFC 4443 section 3.1: as much of the probe as fits in the minimum MTU; a TCP SYN fits.
  const size_t quote = ip6::kLen + p.tcp_len;
  const size_t icmp_len = 8 + quote;
  static_assert(ip6::kLen + 8 + ip6::kLen + ProbeEcho6::kMaxTcp <= 1280);
  std::memcpy(f + eth::kDst, dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, src_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeIpv6);
  uint8_t* ip = f + eth::kLen;
  Ipv6::write_full(ip, ip6::kIcmp6, static_cast<uint16_t>(icmp_len), hop_limit, router, p.scanner,
                   0);
  uint8_t* icmp = ip + ip6::kLen;
  std::memset(icmp, 0, 8);
  icmp[icmp::kType] = 1;  // destination unreachable
  icmp[icmp::kCode] = code;
  // The probe as it arrived: its header (no checksum in IPv6) and TCP bytes.
  uint8_t* q = icmp + 8;
  Ipv6::write_full(q, p.proto, p.payload_len, p.hop_limit, p.scanner, p.target, 0);
  store_be32(q + ip6::kVerClassFlow, p.ver_class_flow);
  std::memcpy(q + ip6::kLen, p.tcp, p.tcp_len);
  const uint32_t sum = checksum_add(
      Ipv6::icmp_pseudo_sum(router, p.scanner, static_cast<uint32_t>(icmp_len)), icmp, icmp_len);
  store_be16(icmp + icmp::kChecksum, checksum_fold(sum));
  return eth::kLen + ip6::kLen + icmp_len;
}

}  // namespace dpscan::reflect
