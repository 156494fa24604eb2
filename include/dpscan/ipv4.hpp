// The IPv4 family (family.hpp): RFC 791's header, ICMP (RFC 792) and ARP (arp.hpp).
#pragma once

#include <cstring>
#include <optional>

#include "dpscan/addr.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/family.hpp"
#include "dpscan/target_space.hpp"

namespace dpscan {

struct Ipv4 {
  using Addr = Ipv4Addr;
  using AddressList = Ipv4Intervals;
  static constexpr Family kFamily = Family::kIpv4;
  static constexpr std::string_view kName = "ipv4";
  static constexpr uint16_t kEtherType = eth::kTypeIpv4;
  static constexpr size_t kHeaderLen = ip4::kLen;
  static constexpr uint8_t kIcmpProto = ip4::kProtoIcmp;
  static constexpr uint8_t kEchoRequest = 8, kEchoReply = 0;
  static constexpr size_t kMaxUdpPayload = 1500 - ip4::kLen - udp::kLen;  // 1472

  static Addr load(const uint8_t* p) { return Addr(load_be32(p)); }
  static void store(uint8_t* p, Addr a) { store_be32(p, a.value()); }
  static uint32_t addr_sum(Addr a) { return checksum_add32(0, a.value()); }

  // The constant part of a probe's header (no options; ID, addresses and checksum left
  // zero for patch()). flow_label is IPv6's.
  static void write_header(uint8_t* ip, uint8_t proto, uint16_t l4_len, uint8_t ttl,
                           uint32_t /*flow_label*/) {
    std::memset(ip, 0, ip4::kLen);
    ip[ip4::kVerIhl] = 0x45;
    store_be16(ip + ip4::kTotalLen, static_cast<uint16_t>(ip4::kLen + l4_len));
    ip[ip4::kTtl] = ttl;
    ip[ip4::kProto] = proto;
  }
  // The sum over the constant header bytes, for patch() to finish the header checksum.
  static uint32_t header_sum(const uint8_t* ip) { return checksum_add(0, ip, ip4::kLen); }
  // Per probe: the addresses, the ID and the header checksum. `sum` is header_sum().
  static void patch(uint8_t* ip, Addr src, Addr dst, uint16_t id, uint32_t sum) {
    store_be16(ip + ip4::kId, id);
    store(ip + ip4::kSrc, src);
    store(ip + ip4::kDst, dst);
    store_be16(ip + ip4::kChecksum, checksum_fold(sum + addr_sum(src) + addr_sum(dst) + id));
  }
  // A whole header with its checksum (control frames: replies, tests, responders).
  static void write_full(uint8_t* ip, uint8_t proto, uint16_t l4_len, uint8_t ttl, Addr src,
                         Addr dst, uint16_t id) {
    write_header(ip, proto, l4_len, ttl, 0);
    patch(ip, src, dst, id, header_sum(ip));
  }

  // An IPv4 packet addressed to anyone: the header checked (length, version, checksum by the
  // device's word or ours), fragments dropped (a fragment is never a whole answer).
  static Parsed<L3View<Addr>> parse(const uint8_t* ip, size_t len, RxChecksum mode, CsumFlag hw) {
    using P = Parsed<L3View<Addr>>;
    if (len < ip4::kLen) return P::fail(Drop::kTruncated);
    const size_t ihl = size_t{ip[ip4::kVerIhl] & 0x0fu} * 4;
    const size_t total = load_be16(ip + ip4::kTotalLen);
    if ((ip[ip4::kVerIhl] >> 4) != 4 || ihl < ip4::kLen || total < ihl)
      return P::fail(Drop::kBadIpHeader);
    if (len < total) return P::fail(Drop::kTruncated);  // Ethernet padding may follow
    if (!header_checksum_ok(ip, ihl, mode, hw)) return P::fail(Drop::kIpChecksum);
    if ((load_be16(ip + ip4::kFrag) & 0x3fff) != 0) return P::fail(Drop::kFragment);  // MF/offset
    return view(ip, ihl, total - ihl);
  }

  // The probe an ICMP error quotes (its IPv4 header and at least 8 bytes of what followed,
  // RFC 792): no checksum to check, and what follows the header may be cut.
  static Parsed<L3View<Addr>> parse_quote(const uint8_t* ip, size_t len) {
    using P = Parsed<L3View<Addr>>;
    if (len < ip4::kLen) return P::fail(Drop::kTruncated);
    const size_t ihl = size_t{ip[ip4::kVerIhl] & 0x0fu} * 4;
    if ((ip[ip4::kVerIhl] >> 4) != 4 || ihl < ip4::kLen) return P::fail(Drop::kBadIpHeader);
    if (len < ihl + 8) return P::fail(Drop::kTruncated);
    return view(ip, ihl, len - ihl);
  }

  // Destination unreachable with the codes nmap counts (RFC 792, RFC 1812 section 5.2.7.1):
  // net, host, protocol, port, and the administratively prohibited ones. Others are not
  // answers about a probe.
  static std::optional<IcmpError> icmp_error(uint8_t type, uint8_t code) {
    if (type != 3) return std::nullopt;
    switch (code) {
      case 0:
        return IcmpError{Reason::kNetUnreach, false};
      case 1:
        return IcmpError{Reason::kHostUnreach, false};
      case 2:
        return IcmpError{Reason::kProtoUnreach, false};
      case 3:
        return IcmpError{Reason::kPortUnreach, true};
      case 9:
        return IcmpError{Reason::kNetProhibited, false};
      case 10:
        return IcmpError{Reason::kHostProhibited, false};
      case 13:
        return IcmpError{Reason::kAdminProhibited, false};
      default:
        return std::nullopt;
    }
  }
  // ICMP's checksum covers the message alone (RFC 792).
  static uint32_t icmp_pseudo_sum(Addr, Addr, uint32_t) { return 0; }

 private:
  // Built in place: a view written field by field and then copied whole is read back with a
  // wide load the stores cannot forward to (a stall that cost the RX path half its speed).
  static Parsed<L3View<Addr>> view(const uint8_t* ip, size_t ihl, size_t l4_len) {
    Parsed<L3View<Addr>> p;
    p.ok = true;
    L3View<Addr>& v = p.value;
    v.src = load(ip + ip4::kSrc);
    v.dst = load(ip + ip4::kDst);
    v.proto = ip[ip4::kProto];
    v.ttl = ip[ip4::kTtl];
    v.options = ihl > ip4::kLen;
    v.l4 = ip + ihl;
    v.l4_len = l4_len;
    return p;
  }
  static bool header_checksum_ok(const uint8_t* ip, size_t ihl, RxChecksum mode, CsumFlag hw) {
    if (mode == RxChecksum::kTrust) return true;
    if (mode == RxChecksum::kAuto) {
      if (hw == CsumFlag::kGood || hw == CsumFlag::kNone) return true;
      if (hw == CsumFlag::kBad) return false;
    }
    return checksum_fold(checksum_add(0, ip, ihl)) == 0;
  }
};
static_assert(AddressFamily<Ipv4>);

}  // namespace dpscan
