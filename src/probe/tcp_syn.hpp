// The TCP SYN probe module (probe_module.hpp): a SYN with a cookie (probe.hpp, cookie.hpp),
// answers classified by classify.hpp (SYN-ACK open, RST closed, ICMP unreachable), and an
// RST after every SYN-ACK so the target stops retransmitting (RFC 793 section 3.4).
#pragma once

#include "probe/probe_batch.hpp"
#include "probe/probe_module.hpp"

namespace dpscan {

struct TcpSyn {
  static constexpr std::string_view kName = "tcp-syn";
  static constexpr std::string_view kProtocol = "tcp";
  static constexpr std::string_view kScanType = "syn";
  using Template = ProbeTemplate;

  static Template make_template(const ProbeConfig& config) { return ProbeTemplate(config); }

  static unsigned build_batch(CyclicWalk& walk, const ScanOrder& order, const Template& tmpl,
                              const CookieParams& cookie, const SourceAddresses& sources,
                              uint8_t* const* frames, unsigned n) {
    return build_probe_batch(walk, order, tmpl, cookie, sources, frames, n);
  }

  static Verdict classify(const uint8_t* frame, size_t len, const RxContext& ctx, CsumHints hints) {
    return dpscan::classify(frame, len, ctx, hints);
  }

  static Result result(const Verdict& v, uint32_t now_s) {
    return Result{v.ip, v.port, v.status, v.ttl, v.window, v.icmp_code, 0, now_s};
  }

  static bool wants_reply(const Verdict& v) { return v.status == Status::kOpen; }

  // A SYN-ACK for a connection we do not hold gets a reset whose sequence number is the
  // segment's acknowledgement (RFC 793 section 3.4).
  static size_t reply(const Verdict& v, const uint8_t* frame, const ReplyContext& rc,
                      uint8_t* out) {
    TcpSegment s;
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
    return build_tcp_frame(out, s);
  }
};
static_assert(ProbeModule<TcpSyn>);

}  // namespace dpscan
