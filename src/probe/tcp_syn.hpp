// The TCP SYN probe module (probe_module.hpp), for either family: a SYN with a cookie
// (probe.hpp, cookie.hpp); a SYN-ACK whose acknowledgement is the cookie + 1 is open, an RST
// acknowledging it closed, an ICMP error quoting the probe unreachable; and an RST after
// every SYN-ACK so the target stops retransmitting (RFC 793 section 3.4).
#pragma once

#include <array>
#include <bit>

#include "dpscan/classify.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/probe_module.hpp"
#include "probe/l4_checksum.hpp"
#include "probe/probe_batch.hpp"

namespace dpscan {

namespace tcp_syn_detail {

// Cookie bits an answer proves: the 32-bit sequence and the source port's share of the range.
inline uint8_t proven_bits(const CookieParams& c, unsigned seq_bits) {
  return static_cast<uint8_t>(seq_bits + sport_bits(c));
}

}  // namespace tcp_syn_detail

template <typename F>
struct TcpSyn {
  using Family = F;
  using Addr = typename F::Addr;
  using Template = TcpTemplate<F>;
  struct RxConfig {};
  static constexpr std::string_view kName = "tcp-syn";
  static constexpr Proto kProtocol = Proto::kTcp;
  static constexpr std::string_view kScanType = "syn";
  static constexpr uint8_t kIpProto = ip4::kProtoTcp;
  static constexpr bool kFixedLength = true;
  static constexpr std::array<Status, 3> kStatuses{Status::kOpen, Status::kClosed,
                                                   Status::kUnreachable};
  static constexpr std::array<Drop, 3> kDrops{Drop::kTcpChecksum, Drop::kTcpFlags,
                                              Drop::kBadCookie};

  static Template make_template(const LinkConfig& link, const ProbePlan& plan) {
    ProbeConfig c;
    c.src_mac = link.src_mac;
    c.dst_mac = link.dst_mac;
    c.ttl = link.ttl;
    c.flow_label = link.flow_label;
    c.window = plan.window;
    c.options = plan.probe_options;
    // The MSS of a 1500-byte link: 1460 over IPv4, 1440 over IPv6's longer header.
    c.mss = static_cast<uint16_t>(1500 - F::kHeaderLen - tcp::kLen);
    return Template(c);
  }
  static RxConfig make_rx_config(const ProbePlan&) { return {}; }

  static unsigned build_batch(CyclicWalk& walk, const TxContext<TcpSyn>& tx, uint8_t* const* frames,
                              uint16_t* /*lens*/, unsigned n) {
    return build_probe_batch<F>(walk, *tx.order, *tx.space, *tx.tmpl, tx.cookie, *tx.sources,
                                frames, n);
  }

  static Verdict<Addr> classify(const L3View<Addr>& l3, const RxContext<TcpSyn>& ctx,
                                CsumHints hints) {
    using V = Verdict<Addr>;
    if (l3.l4_len < tcp::kLen) return V::dropped(Drop::kTruncated);
    const L4Csum csum =
        l4_checksum<F>(l3, ip4::kProtoTcp, l3.l4_len, tcp::kChecksum, ctx.checksum, hints.l4);
    if (csum == L4Csum::kBad) return V::dropped(Drop::kTcpChecksum);
    const uint8_t* t = l3.l4;
    const uint8_t flags = t[tcp::kFlags];
    const bool synack = (flags & (tcp::kSyn | tcp::kAck_ | tcp::kRst)) == (tcp::kSyn | tcp::kAck_);
    const bool rst = (flags & tcp::kRst) != 0;
    if (!synack && !rst) return V::dropped(Drop::kTcpFlags);
    V v;
    v.csum_device = csum == L4Csum::kDevice;
    v.csum_partial = csum == L4Csum::kPartial;
    v.port = load_be16(t + tcp::kSport);
    v.our_port = load_be16(t + tcp::kDport);
    v.ack = load_be32(t + tcp::kAck);
    const Cookie c = make_cookie(ctx.cookie, l3.dst, l3.src, v.port);
    if (v.our_port != c.sport) return V::dropped(Drop::kBadCookie);
    if (synack) {
      if (v.ack != c.seq + 1) return V::dropped(Drop::kBadCookie);
      v.status = Status::kOpen;
      v.reason = Reason::kSynAck;
      v.validation_bits = tcp_syn_detail::proven_bits(ctx.cookie, 32);
    } else {
      if (v.ack != c.seq + 1 && v.ack != c.seq) return V::dropped(Drop::kBadCookie);
      v.status = Status::kClosed;
      v.reason = Reason::kReset;
      v.validation_bits = tcp_syn_detail::proven_bits(ctx.cookie, 31);  // two values accepted
    }
    v.window = load_be16(t + tcp::kWindow);
    v.ip = l3.src;
    v.kind = V::Kind::kResult;
    return v;
  }

  // The quoted probe carries our source port and sequence number (RFC 792 quotes the first
  // 8 bytes of TCP: ports and sequence).
  static Verdict<Addr> classify_quoted(const IcmpError& err, const L3View<Addr>& probe,
                                       const RxContext<TcpSyn>& ctx) {
    using V = Verdict<Addr>;
    V v;
    v.our_port = load_be16(probe.l4 + tcp::kSport);
    v.port = load_be16(probe.l4 + tcp::kDport);
    const Cookie c = make_cookie(ctx.cookie, probe.src, probe.dst, v.port);
    if (v.our_port != c.sport || load_be32(probe.l4 + tcp::kSeq) != c.seq)
      return V::dropped(Drop::kBadCookie);
    v.ip = probe.dst;
    v.status = Status::kUnreachable;
    v.reason = err.reason;
    v.validation_bits = tcp_syn_detail::proven_bits(ctx.cookie, 32);
    v.kind = V::Kind::kResult;
    return v;
  }

  static bool wants_reply(const Verdict<Addr>& v) { return v.status == Status::kOpen; }

  // A SYN-ACK for a connection we do not hold gets a reset whose sequence number is the
  // segment's acknowledgement (RFC 793 section 3.4).
  static size_t reply(const Verdict<Addr>& v, const uint8_t* frame, const ReplyContext& rc,
                      uint8_t* out) {
    TcpSegmentOf<Addr> s;
    s.src_mac = rc.mac;
    s.dst_mac = MacAddr::from(frame + eth::kSrc);
    s.src = v.our_ip;
    s.dst = v.ip;
    s.sport = v.our_port;
    s.dport = v.port;
    s.seq = v.ack;
    s.flags = tcp::kRst;
    s.ip_id = static_cast<uint16_t>(v.ack >> 16);
    s.ttl = rc.ttl;
    return build_tcp_frame<F>(out, s);
  }
};
static_assert(ProbeModule<TcpSyn<Ipv4>>);
static_assert(ProbeModule<TcpSyn<Ipv6>>);

}  // namespace dpscan
