// The TCP SYN probe template (docs/design.md, decision 4), for either family. The Ethernet,
// IP and TCP headers with one TCP option profile are built once; per probe, patch() writes
// the destination address and port, the cookie-derived source port, sequence number (and
// IPv4's ID), and finishes the checksums from sums precomputed over the constant bytes.
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
#include "dpscan/ipv4.hpp"
#include "dpscan/ipv6.hpp"

namespace dpscan {

// TCP option layouts, after ZMap 4's probe profiles (ZMap PR #855).
enum class OptionProfile : uint8_t { kNone, kMss, kWindows, kLinux, kBsd };
OptionProfile parse_option_profile(std::string_view name);  // throws UsageError
std::string_view to_string(OptionProfile p);
// Writes the options of a profile at o; returns their length (a multiple of 4, at most 40).
size_t write_tcp_options(uint8_t* o, OptionProfile profile, uint16_t mss);

struct ProbeConfig {
  MacAddr src_mac;
  MacAddr dst_mac;
  uint8_t ttl = 64;  // IPv4 TTL, IPv6 hop limit
  uint16_t window = 65535;
  uint16_t mss = 1460;
  OptionProfile options = OptionProfile::kWindows;
  uint32_t flow_label = 0;  // IPv6: the scan's (20 bits)
};

template <typename F>
class TcpTemplate {
 public:
  using Addr = typename F::Addr;
  static constexpr size_t kMaxLen = eth::kLen + F::kHeaderLen + 60;
  static constexpr size_t kIp = eth::kLen;
  static constexpr size_t kTcp = eth::kLen + F::kHeaderLen;

  explicit TcpTemplate(const ProbeConfig& c) {
    uint8_t* f = bytes_.data();
    std::memcpy(f + eth::kDst, c.dst_mac.data(), 6);
    std::memcpy(f + eth::kSrc, c.src_mac.data(), 6);
    store_be16(f + eth::kType, F::kEtherType);
    uint8_t* tcp = f + kTcp;
    const auto tcp_len =
        static_cast<uint16_t>(tcp::kLen + write_tcp_options(tcp + tcp::kLen, c.options, c.mss));
    tcp[tcp::kOffset] = static_cast<uint8_t>((tcp_len / 4) << 4);
    tcp[tcp::kFlags] = tcp::kSyn;
    store_be16(tcp + tcp::kWindow, c.window);
    F::write_header(f + kIp, ip4::kProtoTcp, tcp_len, c.ttl, c.flow_label);
    len_ = kTcp + tcp_len;
    // Variable fields are zero here, so these sums cover exactly the constant bytes.
    ip_sum_ = F::header_sum(f + kIp);
    tcp_sum_ =
        checksum_add(pseudo_header_sum<F>(Addr{}, Addr{}, ip4::kProtoTcp, tcp_len), tcp, tcp_len);
  }

  size_t size() const { return len_; }
  // Sums over the constant bytes (variable fields zero): the IPv4 header (IPv6 has none),
  // and the TCP segment with its pseudo header (addresses zero). patch() adds the rest.
  uint32_t ip_sum() const { return ip_sum_; }
  uint32_t tcp_sum() const { return tcp_sum_; }
  const uint8_t* bytes() const { return bytes_.data(); }
  std::span<const uint8_t> frame() const { return {bytes_.data(), len_}; }

  // Copies the whole template (for buffers that do not already hold it).
  void fill(uint8_t* frame) const { std::memcpy(frame, bytes_.data(), len_); }

  // Patches a frame that already holds the template: addresses, ports, sequence number,
  // IPv4's ID, and the checksums from the precomputed sums (the addresses appear in both
  // the IP header and the TCP pseudo header).
  void patch(uint8_t* frame, Addr src, Addr dst, uint16_t dport, const Cookie& c) const {
    uint8_t* tcp = frame + kTcp;
    F::patch(frame + kIp, src, dst, c.ip_id, ip_sum_);
    store_be16(tcp + tcp::kSport, c.sport);
    store_be16(tcp + tcp::kDport, dport);
    store_be32(tcp + tcp::kSeq, c.seq);
    const uint32_t sum =
        checksum_add32(tcp_sum_ + F::addr_sum(src) + F::addr_sum(dst), c.seq) + c.sport + dport;
    store_be16(tcp + tcp::kChecksum, checksum_fold(sum));
  }

 private:
  std::array<uint8_t, kMaxLen> bytes_{};
  size_t len_ = 0;
  uint32_t ip_sum_ = 0;   // IPv4 header with id, addresses and checksum zero
  uint32_t tcp_sum_ = 0;  // pseudo header (addresses zero) + TCP header, patched fields zero
};

using ProbeTemplate = TcpTemplate<Ipv4>;

// A TCP segment without payload.
template <typename A>
struct TcpSegmentOf {
  MacAddr src_mac;
  MacAddr dst_mac;
  A src;
  A dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t ip_id = 0;  // IPv4
  uint8_t ttl = 64;
  OptionProfile options = OptionProfile::kNone;  // TCP options in the profile's layout
  uint16_t mss = 1460;
};
using TcpSegment = TcpSegmentOf<Ipv4Addr>;

// Writes the segment as a complete Ethernet/IP/TCP frame with its checksums, for control
// replies (the RST after a SYN-ACK) and the responders of tests, benchmarks and
// dpscan-reflect. Returns the frame length (IPv4: 54 without options, at most 78).
template <typename F>
size_t build_tcp_frame(uint8_t* f, const TcpSegmentOf<typename F::Addr>& s) {
  std::memcpy(f + eth::kDst, s.dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, s.src_mac.data(), 6);
  store_be16(f + eth::kType, F::kEtherType);
  uint8_t* ip = f + eth::kLen;
  uint8_t* tcp = ip + F::kHeaderLen;
  std::memset(tcp, 0, tcp::kLen);
  const auto tcp_len =
      static_cast<uint16_t>(tcp::kLen + write_tcp_options(tcp + tcp::kLen, s.options, s.mss));
  F::write_full(ip, ip4::kProtoTcp, tcp_len, s.ttl, s.src, s.dst, s.ip_id);
  store_be16(tcp + tcp::kSport, s.sport);
  store_be16(tcp + tcp::kDport, s.dport);
  store_be32(tcp + tcp::kSeq, s.seq);
  store_be32(tcp + tcp::kAck, s.ack);
  tcp[tcp::kOffset] = static_cast<uint8_t>((tcp_len / 4) << 4);
  tcp[tcp::kFlags] = s.flags;
  store_be16(tcp + tcp::kWindow, s.window);
  const uint32_t sum =
      checksum_add(pseudo_header_sum<F>(s.src, s.dst, ip4::kProtoTcp, tcp_len), tcp, tcp_len);
  store_be16(tcp + tcp::kChecksum, checksum_fold(sum));
  return eth::kLen + F::kHeaderLen + tcp_len;
}
inline size_t build_tcp_frame(uint8_t* f, const TcpSegment& s) {
  return build_tcp_frame<Ipv4>(f, s);
}

}  // namespace dpscan
