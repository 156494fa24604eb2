// What dpscan-reflect's loop (reflector.cpp) does differently per address family, as a
// traits type of the loop's template, so the per-packet path has no indirect call: read a
// probe (or the scanner's RST) from a frame, answer the gateway's neighbour requests (ARP;
// IPv6 neighbour solicitations to the gateway or its solicited-node group), key a pair and
// a router, build the ICMP error, record an answer for --answered, and make noise.
#pragma once

#include <algorithm>
#include <cstring>

#include "answered_log.hpp"
#include "dpscan/arp.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/ipv6.hpp"
#include "dpscan/ndp.hpp"
#include "frames.hpp"
#include "world.hpp"

namespace dpscan::reflect {

template <typename F>
struct Side;

template <>
struct Side<Ipv4> {
  using Addr = Ipv4Addr;
  using Echo = ProbeEcho;
  static constexpr uint16_t kEtherType = eth::kTypeIpv4;

  // A TCP segment to a target: the probe's fields and its flags. False: not IPv4/TCP.
  static bool parse_tcp(const uint8_t* f, size_t len, Echo& e, uint8_t& flags) {
    if (load_be16(f + eth::kType) != eth::kTypeIpv4 || len < eth::kLen + ip4::kLen) return false;
    const uint8_t* ip = f + eth::kLen;
    const size_t ihl = size_t{ip[ip4::kVerIhl] & 0x0fu} * 4;
    if ((ip[ip4::kVerIhl] >> 4) != 4 || ihl < ip4::kLen || ip[ip4::kProto] != ip4::kProtoTcp ||
        len < eth::kLen + ihl + tcp::kLen)
      return false;
    const uint8_t* t = ip + ihl;
    flags = t[tcp::kFlags];
    e.scanner = Ipv4Addr(load_be32(ip + ip4::kSrc));
    e.target = Ipv4Addr(load_be32(ip + ip4::kDst));
    e.sport = load_be16(t + tcp::kSport);
    e.tport = load_be16(t + tcp::kDport);
    e.seq = load_be32(t + tcp::kSeq);
    e.ip_id = load_be16(ip + ip4::kId);
    e.ip_len = load_be16(ip + ip4::kTotalLen);
    e.ttl = ip[ip4::kTtl];
    return true;
  }

  // An ARP frame; answer_neighbour: -1 when it is not a request for the gateway, else the
  // reply's length.
  static bool is_neighbour(const uint8_t* f, size_t) {
    return load_be16(f + eth::kType) == eth::kTypeArp;
  }
  static int answer_neighbour(const uint8_t* f, size_t len, Addr gateway, const MacAddr& mac,
                              uint8_t* out) {
    const auto a = parse_arp(f + eth::kLen, len - eth::kLen);
    if (!a || a->op != kArpRequest || a->target_ip != gateway) return -1;
    return static_cast<int>(
        build_arp_frame(out, kArpReply, a->sender_mac, mac, gateway, a->sender_mac, a->sender_ip));
  }

  static uint64_t pair_key(Addr target, uint16_t tport, uint16_t sport) {
    return keyed(0x5eed, 9, (uint64_t{target.value()} << 32) | (uint64_t{tport} << 16) | sport) | 1;
  }
  static uint32_t router_key(const World&, Addr target) { return target.value() >> 8; }

  static size_t build_icmp(uint8_t* out, const MacAddr& mac, const MacAddr& to, const World&,
                           const Echo& p, uint8_t code, uint8_t ttl) {
    return build_icmp_unreachable(out, mac, to, Ipv4Addr(p.target.value() >> 8 << 8 | 1), code, ttl,
                                  p);
  }

  static void record(AnswerRecord& r, Addr target) { r.lo = target.value(); }

  // Noise from anywhere in 198.18.0.0/15 to the scanner, matching no probe.
  static Echo noise(Addr scanner, uint64_t r1, uint64_t r2, uint64_t r3) {
    Echo e;
    e.scanner = scanner;
    e.target = Ipv4Addr(0xc6120000u | static_cast<uint32_t>(r1 & 0x1ffff));
    e.sport = static_cast<uint16_t>(32768 + (r2 & 0x7fff));
    e.tport = static_cast<uint16_t>(1 + (r2 >> 16) % 65535);
    e.seq = static_cast<uint32_t>(r3);
    e.ip_len = 60;
    e.ttl = 64;
    return e;
  }
};

template <>
struct Side<Ipv6> {
  using Addr = Ipv6Addr;
  using Echo = ProbeEcho6;
  static constexpr uint16_t kEtherType = eth::kTypeIpv6;

  // A TCP segment right after the IPv6 header (a probe with extension headers is ignored).
  static bool parse_tcp(const uint8_t* f, size_t len, Echo& e, uint8_t& flags) {
    if (load_be16(f + eth::kType) != eth::kTypeIpv6 || len < eth::kLen + ip6::kLen + tcp::kLen)
      return false;
    const uint8_t* ip = f + eth::kLen;
    if ((ip[ip6::kVerClassFlow] >> 4) != 6 || ip[ip6::kNext] != ip4::kProtoTcp) return false;
    const size_t payload = load_be16(ip + ip6::kPayloadLen);
    const size_t have = std::min(payload, len - eth::kLen - ip6::kLen);
    if (have < tcp::kLen) return false;
    const uint8_t* t = ip + ip6::kLen;
    flags = t[tcp::kFlags];
    e.scanner = Ipv6::load(ip + ip6::kSrc);
    e.target = Ipv6::load(ip + ip6::kDst);
    e.sport = load_be16(t + tcp::kSport);
    e.tport = load_be16(t + tcp::kDport);
    e.seq = load_be32(t + tcp::kSeq);
    e.ver_class_flow = load_be32(ip + ip6::kVerClassFlow);
    e.payload_len = static_cast<uint16_t>(payload);
    e.hop_limit = ip[ip6::kHopLimit];
    const size_t hdr = static_cast<size_t>(t[tcp::kOffset] >> 4) * 4;
    e.tcp_len = static_cast<uint8_t>(std::min({have, std::max(hdr, tcp::kLen), Echo::kMaxTcp}));
    std::memcpy(e.tcp, t, e.tcp_len);
    return true;
  }

  // An ICMPv6 neighbour solicitation; answer_neighbour (hop limit 255, checksum right): -1
  // when it is not one for the gateway, else the advertisement's length.
  static bool is_neighbour(const uint8_t* f, size_t len) {
    return load_be16(f + eth::kType) == eth::kTypeIpv6 && len >= eth::kLen + ip6::kLen + 24 &&
           f[eth::kLen + ip6::kNext] == ip6::kIcmp6 &&
           f[eth::kLen + ip6::kLen + icmp::kType] == kNdpSolicit;
  }
  static int answer_neighbour(const uint8_t* f, size_t len, Addr gateway, const MacAddr& mac,
                              uint8_t* out) {
    const uint8_t* ip = f + eth::kLen;
    const size_t icmp_len = load_be16(ip + ip6::kPayloadLen);
    if (ip[ip6::kHopLimit] != 255 || eth::kLen + ip6::kLen + icmp_len > len) return -1;
    const uint8_t* icmp = ip + ip6::kLen;
    const Addr src = Ipv6::load(ip + ip6::kSrc), dst = Ipv6::load(ip + ip6::kDst);
    if (checksum_fold(checksum_add(Ipv6::icmp_pseudo_sum(src, dst, static_cast<uint32_t>(icmp_len)),
                                   icmp, icmp_len)))
      return -1;
    const auto ns = parse_ndp(icmp, icmp_len);
    if (!ns || ns->type != kNdpSolicit || ns->target != gateway) return -1;
    // From the unspecified address (duplicate address detection): to all nodes, unsolicited.
    const bool dad = src == Addr{};
    const MacAddr to = ns->lladdr ? *ns->lladdr : MacAddr::from(f + eth::kSrc);
    return static_cast<int>(build_ndp_advert(out, mac, dad ? multicast_mac_of(kAllNodes) : to,
                                             gateway, dad ? kAllNodes : src, !dad));
  }

  static uint64_t pair_key(Addr target, uint16_t tport, uint16_t sport) {
    return keyed(0x5eed, 9,
                 keyed(0x5eed, 12, target.hi()) ^ target.lo() ^ ((uint64_t{tport} << 16) | sport)) |
           1;
  }
  static uint32_t router_key(const World& w, Addr target) {
    const uint64_t n = w.network_of(target);
    return static_cast<uint32_t>(n ^ (n >> 32));
  }

  static size_t build_icmp(uint8_t* out, const MacAddr& mac, const MacAddr& to, const World& w,
                           const Echo& p, uint8_t code, uint8_t hop_limit) {
    return build_icmp6_unreachable(out, mac, to, w.router_of(p.target), code, hop_limit, p);
  }

  static void record(AnswerRecord& r, Addr target) {
    r.hi = target.hi();
    r.lo = target.lo();
    r.v6 = 1;
  }

  // Noise from anywhere in 2001:db8::/32 to the scanner, matching no probe.
  static Echo noise(Addr scanner, uint64_t r1, uint64_t r2, uint64_t r3) {
    Echo e;
    e.scanner = scanner;
    e.target = Ipv6Addr(0x20010db800000000ULL | (r1 >> 32), r3);
    e.sport = static_cast<uint16_t>(32768 + (r2 & 0x7fff));
    e.tport = static_cast<uint16_t>(1 + (r2 >> 16) % 65535);
    e.seq = static_cast<uint32_t>(r1);
    e.payload_len = tcp::kLen;
    e.hop_limit = 64;
    e.tcp_len = tcp::kLen;
    store_be16(e.tcp + tcp::kSport, e.sport);
    store_be16(e.tcp + tcp::kDport, e.tport);
    store_be32(e.tcp + tcp::kSeq, e.seq);
    e.tcp[tcp::kOffset] = 0x50;
    e.tcp[tcp::kFlags] = tcp::kSyn;
    return e;
  }
};

}  // namespace dpscan::reflect
