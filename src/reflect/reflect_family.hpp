// What dpscan-reflect's loop (reflector.cpp) does differently per address family, as a
// traits type of the loop's template, so the per-packet path has no indirect call: read a
// probe (or the scanner's RST) from a frame, answer the gateway's neighbour requests (ARP;
// IPv6 neighbour solicitations to the gateway or its solicited-node group), key a pair and
// a router, build the ICMP error, record an answer for --answered, and make noise.
#pragma once

#include <algorithm>
#include <cstring>
#include <span>

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

  // A probe to a target: a TCP segment (its fields and flags), a UDP datagram or an ICMP
  // echo request (their first bytes). Returns its IP protocol, 0 for anything else.
  static uint8_t parse(const uint8_t* f, size_t len, Echo& e, uint8_t& flags) {
    if (load_be16(f + eth::kType) != eth::kTypeIpv4 || len < eth::kLen + ip4::kLen) return 0;
    const uint8_t* ip = f + eth::kLen;
    const size_t ihl = size_t{ip[ip4::kVerIhl] & 0x0fu} * 4;
    const size_t total = load_be16(ip + ip4::kTotalLen);
    if ((ip[ip4::kVerIhl] >> 4) != 4 || ihl < ip4::kLen || total < ihl || len < eth::kLen + ihl ||
        (load_be16(ip + ip4::kFrag) & 0x3fff) != 0)
      return 0;
    const size_t have = std::min(total, len - eth::kLen) - ihl;
    const uint8_t* t = ip + ihl;
    e.proto = ip[ip4::kProto];
    e.scanner = Ipv4Addr(load_be32(ip + ip4::kSrc));
    e.target = Ipv4Addr(load_be32(ip + ip4::kDst));
    e.ip_id = load_be16(ip + ip4::kId);
    e.ip_len = static_cast<uint16_t>(total);
    e.ttl = ip[ip4::kTtl];
    if (e.proto == ip4::kProtoTcp) {
      if (have < tcp::kLen) return 0;
      flags = t[tcp::kFlags];
      e.sport = load_be16(t + tcp::kSport);
      e.tport = load_be16(t + tcp::kDport);
      e.seq = load_be32(t + tcp::kSeq);
      return e.proto;
    }
    return parse_l4(t, have, ip4::kProtoIcmp, 8, e.proto, e) ? e.proto : 0;
  }

  // A UDP datagram or an echo request (`echo_type`) at t, `have` bytes: its ports (echo:
  // the identifier) and first bytes into e.
  template <typename E>
  static bool parse_l4(const uint8_t* t, size_t have, uint8_t icmp_proto, uint8_t echo_type,
                       uint8_t proto, E& e) {
    size_t full = have;
    if (proto == ip4::kProtoUdp) {
      full = have >= udp::kLen ? load_be16(t + udp::kLength) : 0;
      if (full < udp::kLen || full > have) return false;
      e.sport = load_be16(t + udp::kSport);
      e.tport = load_be16(t + udp::kDport);
    } else if (proto == icmp_proto) {
      if (have < icmp::kLen || t[icmp::kType] != echo_type || t[icmp::kCode] != 0) return false;
      e.sport = load_be16(t + icmp::kId);
      e.tport = 0;
    } else {
      return false;
    }
    e.l4_full = static_cast<uint16_t>(full);
    const size_t held = std::min(full, E::kMaxL4);
    if constexpr (requires { e.l4_len; }) {
      e.l4_len = static_cast<uint8_t>(held);
      std::memcpy(e.l4, t, held);
    } else {
      e.tcp_len = static_cast<uint8_t>(held);
      std::memcpy(e.tcp, t, held);
    }
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
  static uint32_t host_key(Addr target) { return target.value(); }

  // An ICMP error from the network's router, or (port unreachable) from the target itself.
  static size_t build_icmp(uint8_t* out, const MacAddr& mac, const MacAddr& to, const World&,
                           const Echo& p, uint8_t code, uint8_t ttl) {
    return build_icmp_unreachable(out, mac, to, Ipv4Addr(p.target.value() >> 8 << 8 | 1), code, ttl,
                                  p);
  }
  static size_t build_port_unreachable(uint8_t* out, const MacAddr& mac, const MacAddr& to,
                                       const Echo& p, uint8_t ttl) {
    return build_icmp_unreachable(out, mac, to, p.target, 3, ttl, p);
  }
  static std::span<const uint8_t> l4(const Echo& p) { return {p.l4, p.l4_len}; }

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

  // A TCP segment, UDP datagram or ICMPv6 echo request right after the IPv6 header (a probe
  // with extension headers is ignored). Returns its next header, 0 for anything else.
  static uint8_t parse(const uint8_t* f, size_t len, Echo& e, uint8_t& flags) {
    if (load_be16(f + eth::kType) != eth::kTypeIpv6 || len < eth::kLen + ip6::kLen + 8) return 0;
    const uint8_t* ip = f + eth::kLen;
    if ((ip[ip6::kVerClassFlow] >> 4) != 6) return 0;
    const size_t payload = load_be16(ip + ip6::kPayloadLen);
    const size_t have = std::min(payload, len - eth::kLen - ip6::kLen);
    const uint8_t* t = ip + ip6::kLen;
    e.proto = ip[ip6::kNext];
    e.scanner = Ipv6::load(ip + ip6::kSrc);
    e.target = Ipv6::load(ip + ip6::kDst);
    e.ver_class_flow = load_be32(ip + ip6::kVerClassFlow);
    e.payload_len = static_cast<uint16_t>(payload);
    e.hop_limit = ip[ip6::kHopLimit];
    if (e.proto != ip4::kProtoTcp)
      return Side<Ipv4>::parse_l4(t, have, ip6::kIcmp6, Ipv6::kEchoRequest, e.proto, e) ? e.proto
                                                                                        : 0;
    if (have < tcp::kLen) return 0;
    flags = t[tcp::kFlags];
    e.sport = load_be16(t + tcp::kSport);
    e.tport = load_be16(t + tcp::kDport);
    e.seq = load_be32(t + tcp::kSeq);
    const size_t hdr = static_cast<size_t>(t[tcp::kOffset] >> 4) * 4;
    e.tcp_len = static_cast<uint8_t>(std::min({have, std::max(hdr, tcp::kLen), Echo::kMaxTcp}));
    std::memcpy(e.tcp, t, e.tcp_len);
    return e.proto;
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

  static uint32_t host_key(Addr target) {
    const uint64_t h = keyed(0x5eed, 13, target.hi() ^ keyed(0x5eed, 14, target.lo()));
    return static_cast<uint32_t>(h ^ (h >> 32));
  }

  static size_t build_icmp(uint8_t* out, const MacAddr& mac, const MacAddr& to, const World& w,
                           const Echo& p, uint8_t code, uint8_t hop_limit) {
    return build_icmp6_unreachable(out, mac, to, w.router_of(p.target), code, hop_limit, p);
  }
  static size_t build_port_unreachable(uint8_t* out, const MacAddr& mac, const MacAddr& to,
                                       const Echo& p, uint8_t hop_limit) {
    return build_icmp6_unreachable(out, mac, to, p.target, 4, hop_limit, p);
  }
  static std::span<const uint8_t> l4(const Echo& p) { return {p.tcp, p.tcp_len}; }

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
