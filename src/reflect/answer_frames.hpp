// The UDP and ICMP echo answers dpscan-reflect sends, for either family, built complete with
// their checksums: a UDP datagram from the target's port back to the scanner's (RFC 768; a
// computed zero sent as all ones), and an echo reply (RFC 792 type 0, RFC 4443 type 129) that
// repeats the request's identifier, sequence number and data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dpscan/addr.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/family.hpp"

namespace dpscan::reflect {

template <typename F>
void write_eth(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac) {
  std::memcpy(f + eth::kDst, dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, src_mac.data(), 6);
  store_be16(f + eth::kType, F::kEtherType);
}

// Returns the frame's length.
template <typename F>
size_t build_udp_frame(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac,
                       typename F::Addr src, typename F::Addr dst, uint16_t sport, uint16_t dport,
                       uint8_t ttl, const uint8_t* data, size_t len) {
  write_eth<F>(f, src_mac, dst_mac);
  uint8_t* ip = f + eth::kLen;
  uint8_t* u = ip + F::kHeaderLen;
  const auto ulen = static_cast<uint16_t>(udp::kLen + len);
  F::write_full(ip, ip4::kProtoUdp, ulen, ttl, src, dst, 0);
  store_be16(u + udp::kSport, sport);
  store_be16(u + udp::kDport, dport);
  store_be16(u + udp::kLength, ulen);
  store_be16(u + udp::kChecksum, 0);
  std::memcpy(u + udp::kLen, data, len);
  uint16_t sum =
      checksum_fold(checksum_add(pseudo_header_sum<F>(src, dst, ip4::kProtoUdp, ulen), u, ulen));
  if (sum == 0) sum = 0xffff;
  store_be16(u + udp::kChecksum, sum);
  return eth::kLen + F::kHeaderLen + ulen;
}

// `request`: the whole echo request message (ICMP header and data), `len` bytes.
template <typename F>
size_t build_echo_reply(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac,
                        typename F::Addr src, typename F::Addr dst, uint8_t ttl,
                        const uint8_t* request, size_t len) {
  write_eth<F>(f, src_mac, dst_mac);
  uint8_t* ip = f + eth::kLen;
  uint8_t* m = ip + F::kHeaderLen;
  F::write_full(ip, F::kIcmpProto, static_cast<uint16_t>(len), ttl, src, dst, 0);
  std::memcpy(m, request, len);
  m[icmp::kType] = F::kEchoReply;
  m[icmp::kCode] = 0;
  store_be16(m + icmp::kChecksum, 0);
  const uint32_t sum =
      checksum_add(F::icmp_pseudo_sum(src, dst, static_cast<uint32_t>(len)), m, len);
  store_be16(m + icmp::kChecksum, checksum_fold(sum));
  return eth::kLen + F::kHeaderLen + len;
}

}  // namespace dpscan::reflect
