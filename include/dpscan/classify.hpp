// Receive-side classification of one frame (docs/design.md, decision 3). Every read is bounds-
// checked against the frame length and against the lengths the headers claim; anything that
// is not a valid answer to one of our probes becomes a Drop with a reason, which the RX lcore
// counts. The function has no side effects, so the fuzzer and the tests call it directly.
//
//   SYN-ACK, dport == cookie source port, ack - 1 == cookie       -> open
//   RST,     dport == cookie source port, ack == cookie + 1 or == cookie -> closed
//   ICMP destination unreachable, codes 0 1 2 3 9 10 13 (as nmap counts them), whose
//   embedded IPv4 + TCP header is our probe (source port and sequence match) -> unreachable
//
// Checksums (docs/design.md, decision 11): what the device says it checked is used (CsumHints,
// from the mbuf's offload flags); what it did not check is verified here, and a TCP checksum
// that is exactly the partial one a local stack leaves for offload is accepted (see
// tcp_checksum_ok below). The cookie stays the authority on what is an answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/cookie.hpp"
#include "dpscan/sources.hpp"
#include "dpscan/status.hpp"

namespace dpscan {

// --rx-checksum: auto uses the device's checksum flags and accepts partial TCP checksums;
// verify checks every checksum in software and accepts only complete, correct ones; trust
// checks none (the cookie alone decides).
enum class RxChecksum : uint8_t { kAuto, kVerify, kTrust };

// What the receiving device reports for one frame, per DPDK's RTE_MBUF_F_RX_*_CKSUM_* flags:
// kGood (checked, correct: not recomputed), kBad (checked, wrong: dropped), kNone (the data
// is intact but the checksum field was never filled in, e.g. virtio's NEEDS_CSUM: accepted),
// kUnknown (not checked: verified in software).
enum class CsumFlag : uint8_t { kUnknown, kGood, kBad, kNone };
struct CsumHints {
  CsumFlag ip = CsumFlag::kUnknown;
  CsumFlag l4 = CsumFlag::kUnknown;
};

struct RxContext {
  SourceAddresses sources;  // our addresses
  CookieParams cookie;
  RxChecksum checksum = RxChecksum::kAuto;
};

struct Verdict {
  enum class Kind : uint8_t { kResult, kArp, kDrop };
  Kind kind = Kind::kDrop;
  Drop drop = Drop::kTruncated;
  Status status = Status::kOpen;
  uint8_t ttl = 0;
  uint8_t icmp_code = 0;
  uint8_t vlan_tags = 0;    // 802.1Q/802.1ad tags skipped
  bool ip_options = false;  // the IPv4 header had options (skipped by its length)
  // How the TCP checksum of a result was accepted, for the counters: the device checked it,
  // or it was a partial (offload) checksum, or one the device flagged as never filled in.
  bool csum_device = false;
  bool csum_partial = false;
  uint16_t port = 0;  // target port
  Ipv4Addr ip;        // target address
  uint16_t window = 0;
  uint16_t our_port = 0;  // for the RST after a SYN-ACK
  Ipv4Addr our_ip;
  uint32_t ack = 0;
  size_t l3 = 0;  // offset of the ARP or IPv4 header
};

namespace classify_detail {

inline Verdict drop(Drop d) {
  Verdict v;
  v.drop = d;
  return v;
}

inline bool counted_unreachable_code(uint8_t code) {
  return code <= 3 || code == 9 || code == 10 || code == 13;
}

// The IPv4 header checksum: the device's word where it checked, else ours.
inline bool ip_checksum_ok(const uint8_t* ip, size_t ihl, RxChecksum mode, CsumFlag hw) {
  if (mode == RxChecksum::kTrust) return true;
  if (mode == RxChecksum::kAuto) {
    if (hw == CsumFlag::kGood || hw == CsumFlag::kNone) return true;
    if (hw == CsumFlag::kBad) return false;
  }
  return checksum_fold(checksum_add(0, ip, ihl)) == 0;
}

enum class TcpCsum : uint8_t { kBad, kVerified, kDevice, kPartial };

// The TCP checksum of a segment from `them` to `us`.
//
// A stack that offloads its TCP checksum (CHECKSUM_PARTIAL in Linux) writes only the
// pseudo-header sum into the field, folded and not complemented (Linux:
// __tcp_v4_send_check), and leaves the rest to the NIC. When the segment never reaches a
// NIC - a veth, a tap, virtio between a guest and its host - it arrives that way, and
// af_packet, af_xdp and net_tap on 22.11 cannot tell us (their ol_flags say nothing). Such a
// field proves nothing about the payload, but those paths are memory copies inside one host,
// with no wire to corrupt the bytes; on a real wire the NIC always completes the checksum.
// So, in auto mode, a checksum that fails is accepted when it is exactly the partial value
// for this segment's own addresses and length: a corrupted complete checksum matches it by
// chance with probability 2^-16, and the answer must still carry the cookie (32-bit sequence
// and the source port) to count. Anything else that fails is dropped as tcp_checksum.
inline TcpCsum tcp_checksum(const uint8_t* l4, size_t l4_len, Ipv4Addr them, Ipv4Addr us,
                            RxChecksum mode, CsumFlag hw) {
  if (mode == RxChecksum::kTrust) return TcpCsum::kVerified;
  if (mode == RxChecksum::kAuto) {
    if (hw == CsumFlag::kGood) return TcpCsum::kDevice;
    if (hw == CsumFlag::kBad) return TcpCsum::kBad;
    if (hw == CsumFlag::kNone) return TcpCsum::kPartial;
  }
  const uint32_t pseudo =
      pseudo_header_sum(them.value(), us.value(), ip4::kProtoTcp, static_cast<uint16_t>(l4_len));
  if (checksum_fold(checksum_add(pseudo, l4, l4_len)) == 0) return TcpCsum::kVerified;
  if (mode == RxChecksum::kAuto && load_be16(l4 + tcp::kChecksum) == fold16(pseudo))
    return TcpCsum::kPartial;
  return TcpCsum::kBad;
}

}  // namespace classify_detail

inline Verdict classify(const uint8_t* f, size_t len, const RxContext& ctx, CsumHints hints = {}) {
  using classify_detail::drop;
  if (len < eth::kLen) return drop(Drop::kTruncated);
  size_t off = eth::kType;
  uint16_t type = load_be16(f + off);
  // Up to two VLAN tags (802.1Q, 802.1ad) are skipped.
  for (int tags = 0; tags < 2 && (type == eth::kTypeVlan || type == eth::kTypeQinQ); ++tags) {
    off += 4;
    if (len < off + 2) return drop(Drop::kTruncated);
    type = load_be16(f + off);
  }
  off += 2;
  if (type == eth::kTypeArp) {
    Verdict v;
    v.kind = Verdict::Kind::kArp;
    v.l3 = off;
    return v;
  }
  if (type != eth::kTypeIpv4) return drop(Drop::kNotIp);

  const uint8_t* ip = f + off;
  if (len < off + ip4::kLen) return drop(Drop::kTruncated);
  const size_t ihl = size_t{ip[ip4::kVerIhl] & 0x0fu} * 4;
  const size_t total = load_be16(ip + ip4::kTotalLen);
  if ((ip[ip4::kVerIhl] >> 4) != 4 || ihl < ip4::kLen || total < ihl) {
    return drop(Drop::kBadIpHeader);
  }
  if (len < off + total) return drop(Drop::kTruncated);  // Ethernet padding may follow
  if (!classify_detail::ip_checksum_ok(ip, ihl, ctx.checksum, hints.ip))
    return drop(Drop::kIpChecksum);
  if ((load_be16(ip + ip4::kFrag) & 0x3fff) != 0) return drop(Drop::kFragment);  // MF or offset
  const Ipv4Addr us(load_be32(ip + ip4::kDst));
  if (!ctx.sources.contains(us)) return drop(Drop::kNotForUs);

  const Ipv4Addr them(load_be32(ip + ip4::kSrc));
  const uint8_t* l4 = ip + ihl;
  const size_t l4_len = total - ihl;
  Verdict v;
  v.vlan_tags = static_cast<uint8_t>((off - eth::kLen) / 4);
  v.ip_options = ihl > ip4::kLen;
  v.ttl = ip[ip4::kTtl];
  v.our_ip = us;

  if (ip[ip4::kProto] == ip4::kProtoTcp) {
    if (l4_len < tcp::kLen) return drop(Drop::kTruncated);
    using classify_detail::TcpCsum;
    const TcpCsum csum =
        classify_detail::tcp_checksum(l4, l4_len, them, us, ctx.checksum, hints.l4);
    if (csum == TcpCsum::kBad) return drop(Drop::kTcpChecksum);
    v.csum_device = csum == TcpCsum::kDevice;
    v.csum_partial = csum == TcpCsum::kPartial;
    const uint8_t flags = l4[tcp::kFlags];
    const bool synack = (flags & (tcp::kSyn | tcp::kAck_ | tcp::kRst)) == (tcp::kSyn | tcp::kAck_);
    const bool rst = (flags & tcp::kRst) != 0;
    if (!synack && !rst) return drop(Drop::kTcpFlags);
    v.port = load_be16(l4 + tcp::kSport);
    v.our_port = load_be16(l4 + tcp::kDport);
    v.ack = load_be32(l4 + tcp::kAck);
    const Cookie c = make_cookie(ctx.cookie, us, them, v.port);
    if (v.our_port != c.sport) return drop(Drop::kBadCookie);
    if (synack) {
      if (v.ack != c.seq + 1) return drop(Drop::kBadCookie);
      v.status = Status::kOpen;
    } else {
      if (v.ack != c.seq + 1 && v.ack != c.seq) return drop(Drop::kBadCookie);
      v.status = Status::kClosed;
    }
    v.window = load_be16(l4 + tcp::kWindow);
    v.ip = them;
    v.kind = Verdict::Kind::kResult;
    return v;
  }

  if (ip[ip4::kProto] == ip4::kProtoIcmp) {
    // type, code, checksum, unused(4), then the offending datagram's IP header + 8 bytes.
    if (l4_len < 8) return drop(Drop::kTruncated);
    if (l4[0] != 3 || !classify_detail::counted_unreachable_code(l4[1])) {
      return drop(Drop::kIcmpOther);
    }
    // ICMP errors are checksummed in full by every stack (Linux: icmp_push_reply), and
    // devices report nothing for ICMP: verified here unless --rx-checksum trust.
    if (ctx.checksum != RxChecksum::kTrust && checksum_fold(checksum_add(0, l4, l4_len)) != 0)
      return drop(Drop::kIcmpChecksum);
    const uint8_t* inner = l4 + 8;
    const size_t inner_len = l4_len - 8;
    if (inner_len < ip4::kLen) return drop(Drop::kTruncated);
    const size_t inner_ihl = size_t{inner[ip4::kVerIhl] & 0x0fu} * 4;
    if ((inner[ip4::kVerIhl] >> 4) != 4 || inner_ihl < ip4::kLen) return drop(Drop::kBadIpHeader);
    if (inner_len < inner_ihl + 8) return drop(Drop::kTruncated);
    if (inner[ip4::kProto] != ip4::kProtoTcp) return drop(Drop::kProtocol);
    if (load_be32(inner + ip4::kSrc) != us.value()) return drop(Drop::kBadCookie);
    const Ipv4Addr target(load_be32(inner + ip4::kDst));
    const uint8_t* inner_tcp = inner + inner_ihl;
    v.our_port = load_be16(inner_tcp + tcp::kSport);
    v.port = load_be16(inner_tcp + tcp::kDport);
    const Cookie c = make_cookie(ctx.cookie, us, target, v.port);
    if (v.our_port != c.sport || load_be32(inner_tcp + tcp::kSeq) != c.seq) {
      return drop(Drop::kBadCookie);
    }
    v.ip = target;
    v.status = Status::kUnreachable;
    v.icmp_code = l4[1];
    v.kind = Verdict::Kind::kResult;
    return v;
  }
  return drop(Drop::kProtocol);
}

}  // namespace dpscan
