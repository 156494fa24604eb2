// The SYN probe template (docs/design.md, decision 4). The Ethernet, IPv4 and TCP headers with
// one TCP option profile are built once; per probe, write() patches the destination address
// and port, the cookie-derived source port, sequence number and IP ID, and finishes both
// checksums from sums precomputed over the constant bytes.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "dpscan/addr.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/cookie.hpp"

namespace dpscan {

// TCP option layouts, after ZMap 4's probe profiles (ZMap PR #855).
enum class OptionProfile : uint8_t { kNone, kMss, kWindows, kLinux, kBsd };
OptionProfile parse_option_profile(std::string_view name);  // throws UsageError
std::string_view to_string(OptionProfile p);

struct ProbeConfig {
  MacAddr src_mac;
  MacAddr dst_mac;
  uint8_t ttl = 64;
  uint16_t window = 65535;
  uint16_t mss = 1460;
  OptionProfile options = OptionProfile::kWindows;
};

class ProbeTemplate {
 public:
  static constexpr size_t kMaxLen = 14 + 20 + 60;
  static constexpr size_t kIp = eth::kLen;
  static constexpr size_t kTcp = eth::kLen + ip4::kLen;

  explicit ProbeTemplate(const ProbeConfig& config);

  size_t size() const { return len_; }
  // Sums over the constant bytes (variable fields zero): the IPv4 header, and the TCP
  // segment with its pseudo header (addresses zero). patch() adds the variable fields.
  uint32_t ip_sum() const { return ip_sum_; }
  uint32_t tcp_sum() const { return tcp_sum_; }
  const uint8_t* bytes() const { return bytes_.data(); }
  std::span<const uint8_t> frame() const { return {bytes_.data(), len_}; }

  // Copies the whole template (for buffers that do not already hold it).
  void fill(uint8_t* frame) const { std::memcpy(frame, bytes_.data(), len_); }

  // Patches a frame that already holds the template: addresses, ports, sequence number,
  // IP ID, and both checksums from the precomputed sums (the source and destination
  // addresses appear in both the IPv4 header and the TCP pseudo header).
  void patch(uint8_t* frame, Ipv4Addr src, Ipv4Addr dst, uint16_t dport, const Cookie& c) const {
    uint8_t* ip = frame + kIp;
    uint8_t* tcp = frame + kTcp;
    store_be16(ip + ip4::kId, c.ip_id);
    store_be32(ip + ip4::kSrc, src.value());
    store_be32(ip + ip4::kDst, dst.value());
    const uint32_t addrs = checksum_add32(checksum_add32(0, src.value()), dst.value());
    store_be16(ip + ip4::kChecksum, checksum_fold(ip_sum_ + addrs + c.ip_id));
    store_be16(tcp + tcp::kSport, c.sport);
    store_be16(tcp + tcp::kDport, dport);
    store_be32(tcp + tcp::kSeq, c.seq);
    const uint32_t sum = checksum_add32(tcp_sum_ + addrs, c.seq) + c.sport + dport;
    store_be16(tcp + tcp::kChecksum, checksum_fold(sum));
  }

 private:
  std::array<uint8_t, kMaxLen> bytes_{};
  size_t len_ = 0;
  uint32_t ip_sum_ = 0;   // IPv4 header with id, addresses and checksum zero
  uint32_t tcp_sum_ = 0;  // pseudo header (addresses zero) + TCP header, patched fields zero
};

// A TCP segment without options or payload.
struct TcpSegment {
  MacAddr src_mac;
  MacAddr dst_mac;
  Ipv4Addr src;
  Ipv4Addr dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t ip_id = 0;
  uint8_t ttl = 64;
  OptionProfile options = OptionProfile::kNone;  // TCP options in the profile's layout
  uint16_t mss = 1460;
};

// Writes the segment as a complete Ethernet/IPv4/TCP frame with both checksums, for control
// replies (the RST after a SYN-ACK) and the responders of tests, benchmarks and
// dpscan-reflect. Returns the frame length (54 without options, at most 78).
size_t build_tcp_frame(uint8_t* frame, const TcpSegment& s);

}  // namespace dpscan
