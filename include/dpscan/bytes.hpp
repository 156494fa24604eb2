// Network-byte-order loads and stores at explicit offsets. Header fields are read and
// written through these, never through packed structs, so alignment and byte order are
// visible at every use.
#pragma once

#include <cstdint>
#include <cstring>

namespace dpscan {

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // x86 and arm64 are little-endian; DPDK 22.11 targets here are too
}

// Ethernet, IPv4, IPv6, TCP, UDP and ICMP field offsets (RFC 894, RFC 791 section 3.1,
// RFC 8200 section 3, RFC 793 section 3.1, RFC 768, RFC 792, RFC 4443 section 2.1).
namespace eth {
constexpr size_t kDst = 0, kSrc = 6, kType = 12, kLen = 14;
constexpr uint16_t kTypeIpv4 = 0x0800, kTypeArp = 0x0806, kTypeIpv6 = 0x86dd, kTypeVlan = 0x8100,
                   kTypeQinQ = 0x88a8;
}  // namespace eth
namespace ip4 {
constexpr size_t kVerIhl = 0, kTotalLen = 2, kId = 4, kFrag = 6, kTtl = 8, kProto = 9,
                 kChecksum = 10, kSrc = 12, kDst = 16, kLen = 20;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;
}  // namespace ip4
namespace ip6 {
constexpr size_t kVerClassFlow = 0, kPayloadLen = 4, kNext = 6, kHopLimit = 7, kSrc = 8, kDst = 24,
                 kLen = 40;
// Next-header values: the extension headers walked (RFC 8200 section 4), and the rest.
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kEsp = 50, kAh = 51, kIcmp6 = 58,
                  kNoNext = 59, kDestOpts = 60;
}  // namespace ip6
namespace udp {
constexpr size_t kSport = 0, kDport = 2, kLength = 4, kChecksum = 6, kLen = 8;
}  // namespace udp
// ICMP and ICMPv6 share the first four bytes (type, code, checksum) and, for echo and the
// errors, the layout of the next four (identifier and sequence, or unused / MTU).
namespace icmp {
constexpr size_t kType = 0, kCode = 1, kChecksum = 2, kId = 4, kSeq = 6, kLen = 8;
}  // namespace icmp
namespace tcp {
constexpr size_t kSport = 0, kDport = 2, kSeq = 4, kAck = 8, kOffset = 12, kFlags = 13,
                 kWindow = 14, kChecksum = 16, kUrgent = 18, kLen = 20;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck_ = 0x10;
}  // namespace tcp

}  // namespace dpscan
