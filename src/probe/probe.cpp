#include "dpscan/probe.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {
namespace {

constexpr uint8_t kNop = 1;

// Appends the TCP options of a profile; returns their length (a multiple of 4).
size_t write_options(uint8_t* o, OptionProfile profile, uint16_t mss) {
  size_t n = 0;
  auto put_mss = [&] {
    o[n++] = 2;
    o[n++] = 4;
    store_be16(o + n, mss);
    n += 2;
  };
  switch (profile) {
    case OptionProfile::kNone:
      break;
    case OptionProfile::kMss:  // ZMap "smallest probable": MSS alone
      put_mss();
      break;
    case OptionProfile::kWindows:  // MSS, NOP, WS 8, NOP, NOP, SACK permitted
      put_mss();
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 8;
      o[n++] = kNop;
      o[n++] = kNop;
      o[n++] = 4, o[n++] = 2;
      break;
    case OptionProfile::kLinux:  // MSS, SACK permitted, timestamps, NOP, WS 7
      put_mss();
      o[n++] = 4, o[n++] = 2;
      o[n++] = 8, o[n++] = 10;
      store_be32(o + n, 0x00000001), n += 4;  // TSval: any non-zero value
      store_be32(o + n, 0), n += 4;           // TSecr: zero in a SYN
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 7;
      break;
    case OptionProfile::kBsd:  // macOS/FreeBSD: MSS, NOP, WS 6, NOP, NOP, TS, SACK-perm, EOL, EOL
      put_mss();
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 6;
      o[n++] = kNop;
      o[n++] = kNop;
      o[n++] = 8, o[n++] = 10;
      store_be32(o + n, 0x00000001), n += 4;
      store_be32(o + n, 0), n += 4;
      o[n++] = 4, o[n++] = 2;
      o[n++] = 0, o[n++] = 0;
      break;
  }
  return n;
}

}  // namespace

OptionProfile parse_option_profile(std::string_view name) {
  if (name == "none") return OptionProfile::kNone;
  if (name == "mss" || name == "smallest") return OptionProfile::kMss;
  if (name == "windows") return OptionProfile::kWindows;
  if (name == "linux") return OptionProfile::kLinux;
  if (name == "bsd") return OptionProfile::kBsd;
  throw UsageError(fmt::format(
      "invalid probe option profile '{}': expected none, mss, windows, linux or bsd", name));
}

std::string_view to_string(OptionProfile p) {
  switch (p) {
    case OptionProfile::kNone:
      return "none";
    case OptionProfile::kMss:
      return "mss";
    case OptionProfile::kWindows:
      return "windows";
    case OptionProfile::kLinux:
      return "linux";
    case OptionProfile::kBsd:
      return "bsd";
  }
  return "?";
}

ProbeTemplate::ProbeTemplate(const ProbeConfig& c) {
  uint8_t* f = bytes_.data();
  std::memcpy(f + eth::kDst, c.dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, c.src_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeIpv4);

  uint8_t* tcp = f + kTcp;
  const size_t opt_len = write_options(tcp + tcp::kLen, c.options, c.mss);
  const auto tcp_len = static_cast<uint16_t>(tcp::kLen + opt_len);
  tcp[tcp::kOffset] = static_cast<uint8_t>((tcp_len / 4) << 4);
  tcp[tcp::kFlags] = tcp::kSyn;
  store_be16(tcp + tcp::kWindow, c.window);

  uint8_t* ip = f + kIp;
  ip[ip4::kVerIhl] = 0x45;
  store_be16(ip + ip4::kTotalLen, static_cast<uint16_t>(ip4::kLen + tcp_len));
  ip[ip4::kTtl] = c.ttl;
  ip[ip4::kProto] = ip4::kProtoTcp;
  len_ = kTcp + tcp_len;

  // Variable fields are zero here, so these sums cover exactly the constant bytes.
  ip_sum_ = checksum_add(0, ip, ip4::kLen);
  tcp_sum_ = checksum_add(pseudo_header_sum(0, 0, ip4::kProtoTcp, tcp_len), tcp, tcp_len);
}

size_t build_tcp_frame(uint8_t* f, const TcpSegment& s) {
  std::memset(f, 0, eth::kLen + ip4::kLen + tcp::kLen);  // the options are written whole
  std::memcpy(f + eth::kDst, s.dst_mac.data(), 6);
  std::memcpy(f + eth::kSrc, s.src_mac.data(), 6);
  store_be16(f + eth::kType, eth::kTypeIpv4);
  uint8_t* ip = f + eth::kLen;
  uint8_t* tcp = ip + ip4::kLen;
  const auto tcp_len =
      static_cast<uint16_t>(tcp::kLen + write_options(tcp + tcp::kLen, s.options, s.mss));
  ip[ip4::kVerIhl] = 0x45;
  store_be16(ip + ip4::kTotalLen, static_cast<uint16_t>(ip4::kLen + tcp_len));
  store_be16(ip + ip4::kId, s.ip_id);
  ip[ip4::kTtl] = s.ttl;
  ip[ip4::kProto] = ip4::kProtoTcp;
  store_be32(ip + ip4::kSrc, s.src.value());
  store_be32(ip + ip4::kDst, s.dst.value());
  store_be16(ip + ip4::kChecksum, checksum_fold(checksum_add(0, ip, ip4::kLen)));
  store_be16(tcp + tcp::kSport, s.sport);
  store_be16(tcp + tcp::kDport, s.dport);
  store_be32(tcp + tcp::kSeq, s.seq);
  store_be32(tcp + tcp::kAck, s.ack);
  tcp[tcp::kOffset] = static_cast<uint8_t>((tcp_len / 4) << 4);
  tcp[tcp::kFlags] = s.flags;
  store_be16(tcp + tcp::kWindow, s.window);
  const uint32_t sum = checksum_add(
      pseudo_header_sum(s.src.value(), s.dst.value(), ip4::kProtoTcp, tcp_len), tcp, tcp_len);
  store_be16(tcp + tcp::kChecksum, checksum_fold(sum));
  return eth::kLen + ip4::kLen + tcp_len;
}

}  // namespace dpscan
