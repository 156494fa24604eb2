#include "frames.hpp"

#include <cstring>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"

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
  q[ip4::kProto] = ip4::kProtoTcp;
  store_be32(q + ip4::kSrc, p.scanner.value());
  store_be32(q + ip4::kDst, p.target.value());
  store_be16(q + ip4::kChecksum, checksum_fold(checksum_add(0, q, ip4::kLen)));
  store_be16(q + ip4::kLen + tcp::kSport, p.sport);
  store_be16(q + ip4::kLen + tcp::kDport, p.tport);
  store_be32(q + ip4::kLen + tcp::kSeq, p.seq);
  store_be16(icmp + 2, checksum_fold(checksum_add(0, icmp, kIcmpLen)));
  return eth::kLen + ip4::kLen + kIcmpLen;
}

}  // namespace dpscan::reflect
