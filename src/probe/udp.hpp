// The UDP probe module (probe_module.hpp), for either family: one probe per (address, slot),
// a slot being a (port, payload) pair - several payloads for one port are each sent and each
// counted. The cookie is the PRF of (our address, the target, the slot): its bits 32-47
// choose the source port (as for TCP), and 16 bytes of it (two PRF outputs) fill the
// payload's cookie fields (udp_payload.hpp: a DNS transaction ID, an NTP transmit timestamp,
// ...). An answer is ours when it comes from a probed port to the source port the cookie
// gives for one of that port's slots, and, where the protocol echoes a field, the field
// carries the cookie (else: bad_echo). An ICMP port unreachable quoting a probe that
// validates is "closed"; other ICMP errors "unreachable".
#pragma once

#include <array>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "dpscan/checksum.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/probe_module.hpp"
#include "dpscan/udp_payload.hpp"
#include "probe/l4_checksum.hpp"
#include "probe/probe_batch.hpp"

namespace dpscan {

namespace udp_detail {

// What both sides need: the payload of each slot and, per port, the slots probing it.
struct Slots {
  std::vector<udp::Payload> payloads;                // by slot
  std::vector<std::vector<uint16_t>> slots_of_port;  // 65536 entries
  bool any_sport = false;                            // --udp-any-sport

  explicit Slots(const ProbePlan& plan)
      : payloads(plan.udp_payloads), slots_of_port(65536), any_sport(plan.udp_any_sport) {
    for (size_t s = 0; s < payloads.size(); ++s)
      slots_of_port[payloads[s].port()].push_back(static_cast<uint16_t>(s));
  }
};

// The second 64 bits of a probe's cookie material: the PRF of the reversed pair (a message no
// probe's first PRF ever takes, since our addresses are not targets).
template <typename A>
udp::PayloadCookie payload_cookie(const CookieParams& p, A src, A dst, uint16_t slot, uint64_t h1) {
  const uint64_t h2 = cookie_hash(p, dst, src, slot);
  udp::PayloadCookie c;
  for (int i = 0; i < 8; ++i) {
    c.b[i] = static_cast<uint8_t>(h1 >> (56 - 8 * i));
    c.b[8 + i] = static_cast<uint8_t>(h2 >> (56 - 8 * i));
  }
  return c;
}

inline uint16_t sport_of(const CookieParams& p, uint64_t h) {
  return cookie_from_hash(p, h).sport;
}

}  // namespace udp_detail

// Ethernet only: everything after it differs in length per probe.
template <typename F>
class UdpTemplate {
 public:
  using Addr = typename F::Addr;
  static constexpr size_t kIp = eth::kLen;
  static constexpr size_t kUdp = eth::kLen + F::kHeaderLen;

  UdpTemplate(const LinkConfig& link, std::shared_ptr<const udp_detail::Slots> slots)
      : slots_(std::move(slots)), ttl_(link.ttl), flow_label_(link.flow_label) {
    std::memcpy(eth_.data() + eth::kDst, link.dst_mac.data(), 6);
    std::memcpy(eth_.data() + eth::kSrc, link.src_mac.data(), 6);
    store_be16(eth_.data() + eth::kType, F::kEtherType);
  }
  std::span<const uint8_t> frame() const { return {eth_.data(), eth_.size()}; }
  const udp_detail::Slots& slots() const { return *slots_; }

  // Writes one probe after the Ethernet header; returns the frame's length.
  uint16_t write(uint8_t* frame, Addr src, Addr dst, uint16_t dport, uint16_t slot,
                 const CookieParams& cp, uint64_t h1) const {
    const udp::Payload& p = slots_->payloads[slot];
    const auto l4_len = static_cast<uint16_t>(udp::kLen + p.size());
    uint8_t* ip = frame + kIp;
    F::write_header(ip, ip4::kProtoUdp, l4_len, ttl_, flow_label_);
    F::patch(ip, src, dst, static_cast<uint16_t>(h1 >> 48), F::header_sum(ip));
    uint8_t* u = frame + kUdp;
    const uint16_t sport = udp_detail::sport_of(cp, h1);
    store_be16(u + udp::kSport, sport);
    store_be16(u + udp::kDport, dport);
    store_be16(u + udp::kLength, l4_len);
    store_be16(u + udp::kChecksum, 0);
    uint8_t dst_bytes[16];
    F::store(dst_bytes, dst);
    p.write(u + udp::kLen, udp_detail::payload_cookie(cp, src, dst, slot, h1),
            {dst_bytes, sizeof(Addr) == 4 ? size_t{4} : size_t{16}});
    const uint32_t pseudo = pseudo_header_sum<F>(src, dst, ip4::kProtoUdp, l4_len);
    uint16_t sum = checksum_fold(checksum_add(pseudo, u, l4_len));
    if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
    store_be16(u + udp::kChecksum, sum);
    return static_cast<uint16_t>(kUdp + l4_len);
  }

 private:
  std::shared_ptr<const udp_detail::Slots> slots_;
  std::array<uint8_t, eth::kLen> eth_{};
  uint8_t ttl_;
  uint32_t flow_label_;
};

template <typename F>
struct Udp {
  using Family = F;
  using Addr = typename F::Addr;
  using Template = UdpTemplate<F>;
  struct RxConfig {
    std::shared_ptr<const udp_detail::Slots> slots;
  };
  static constexpr std::string_view kName = "udp";
  static constexpr Proto kProtocol = Proto::kUdp;
  static constexpr std::string_view kScanType = "udp";
  static constexpr uint8_t kIpProto = ip4::kProtoUdp;
  static constexpr bool kFixedLength = false;
  static constexpr std::array<Status, 3> kStatuses{Status::kOpen, Status::kClosed,
                                                   Status::kUnreachable};
  static constexpr std::array<Drop, 4> kDrops{Drop::kUdpChecksum, Drop::kUdpSport, Drop::kBadEcho,
                                              Drop::kBadCookie};

  static Template make_template(const LinkConfig& link, const ProbePlan& plan) {
    return Template(link, std::make_shared<const udp_detail::Slots>(plan));
  }
  static RxConfig make_rx_config(const ProbePlan& plan) {
    return {std::make_shared<const udp_detail::Slots>(plan)};
  }

  static unsigned build_batch(CyclicWalk& walk, const TxContext<Udp>& tx, uint8_t* const* frames,
                              uint16_t* lens, unsigned n) {
    Addr dst[kMaxProbeBatch], src[kMaxProbeBatch];
    uint16_t dport[kMaxProbeBatch], slot[kMaxProbeBatch];
    const unsigned k = next_targets(walk, *tx.order, *tx.space, dst, dport, n, slot);
    for (unsigned i = 0; i < k; ++i) src[i] = tx.sources->pick(dst[i], dport[i]);
    uint64_t h[kMaxProbeBatch];
    cookie_hashes(tx.cookie, src, dst, slot, h, k);
    for (unsigned i = 0; i < k; ++i)
      lens[i] = tx.tmpl->write(frames[i], src[i], dst[i], dport[i], slot[i], tx.cookie, h[i]);
    return k;
  }

  // A UDP datagram to us: which slot's probe it answers, and whether its payload proves it.
  static Verdict<Addr> classify(const L3View<Addr>& l3, const RxContext<Udp>& ctx,
                                CsumHints hints) {
    using V = Verdict<Addr>;
    if (l3.l4_len < udp::kLen) return V::dropped(Drop::kTruncated);
    const uint8_t* u = l3.l4;
    const size_t ulen = load_be16(u + udp::kLength);
    if (ulen < udp::kLen || ulen > l3.l4_len) return V::dropped(Drop::kTruncated);
    V v;
    if (!checksum_ok(l3, u, ulen, ctx.checksum, hints.l4, v)) return V::dropped(Drop::kUdpChecksum);
    v.port = load_be16(u + udp::kSport);
    v.our_port = load_be16(u + udp::kDport);
    const udp_detail::Slots& slots = *ctx.module.slots;
    const std::span<const uint8_t> payload(u + udp::kLen, ulen - udp::kLen);
    const auto& probed = slots.slots_of_port[v.port];
    int slot = match(probed, l3.dst, l3.src, v.our_port, ctx.cookie);
    if (slot < 0 && !probed.empty() && !slots.any_sport) return V::dropped(Drop::kBadCookie);
    if (slot < 0) {
      // From a port we did not probe: another reply path of the service (udp_sport). Only
      // with --udp-any-sport: any slot whose cookie gives our port.
      if (!slots.any_sport) return V::dropped(Drop::kUdpSport);
      for (size_t s = 0; s < slots.payloads.size() && slot < 0; ++s) {
        const uint64_t h = cookie_hash(ctx.cookie, l3.dst, l3.src, static_cast<uint16_t>(s));
        if (udp_detail::sport_of(ctx.cookie, h) == v.our_port) slot = static_cast<int>(s);
      }
      if (slot < 0) return V::dropped(Drop::kBadCookie);
      v.port = slots.payloads[static_cast<size_t>(slot)].port();
    }
    const auto s = static_cast<uint16_t>(slot);
    const uint64_t h1 = cookie_hash(ctx.cookie, l3.dst, l3.src, s);
    const udp::Echo echo = slots.payloads[s].check(
        payload, udp_detail::payload_cookie(ctx.cookie, l3.dst, l3.src, s, h1));
    if (!echo.ok) return V::dropped(Drop::kBadEcho);
    v.slot = s;
    v.slot_known = true;
    v.ip = l3.src;
    v.status = Status::kOpen;
    v.reason = Reason::kUdpResponse;
    v.validation_bits = static_cast<uint8_t>(sport_bits(ctx.cookie) + echo.bits);
    v.resp_len = static_cast<uint16_t>(payload.size());
    v.probe_len = static_cast<uint16_t>(slots.payloads[s].size());
    v.data = payload.data();
    v.kind = V::Kind::kResult;
    return v;
  }

  // An ICMP error quoting one of our probes (its UDP header at least).
  static Verdict<Addr> classify_quoted(const IcmpError& err, const L3View<Addr>& probe,
                                       const RxContext<Udp>& ctx) {
    using V = Verdict<Addr>;
    V v;
    v.our_port = load_be16(probe.l4 + udp::kSport);
    v.port = load_be16(probe.l4 + udp::kDport);
    const int slot = match(ctx.module.slots->slots_of_port[v.port], probe.src, probe.dst,
                           v.our_port, ctx.cookie);
    if (slot < 0) return V::dropped(Drop::kBadCookie);
    v.slot = static_cast<uint16_t>(slot);
    v.slot_known = true;
    v.ip = probe.dst;
    v.status = err.port_unreachable ? Status::kClosed : Status::kUnreachable;
    v.reason = err.reason;
    v.validation_bits = sport_bits(ctx.cookie);
    v.probe_len = static_cast<uint16_t>(ctx.module.slots->payloads[v.slot].size());
    v.kind = V::Kind::kResult;
    return v;
  }

  static bool wants_reply(const Verdict<Addr>&) { return false; }
  static size_t reply(const Verdict<Addr>&, const uint8_t*, const ReplyContext&, uint8_t*) {
    return 0;
  }

 private:
  // The slot among `candidates` whose cookie for (us, them) gives source port `our_port`.
  static int match(const std::vector<uint16_t>& candidates, Addr us, Addr them, uint16_t our_port,
                   const CookieParams& cp) {
    for (uint16_t s : candidates)
      if (udp_detail::sport_of(cp, cookie_hash(cp, us, them, s)) == our_port) return s;
    return -1;
  }

  // UDP checksums: zero is "none" over IPv4 (RFC 768), never allowed over IPv6 (RFC 8200
  // section 8.1); otherwise taken as for TCP (l4_checksum.hpp).
  static bool checksum_ok(const L3View<Addr>& l3, const uint8_t* u, size_t ulen, RxChecksum mode,
                          CsumFlag hw, Verdict<Addr>& v) {
    if (load_be16(u + udp::kChecksum) == 0) return F::kFamily == dpscan::Family::kIpv4;
    const L4Csum c = l4_checksum<F>(l3, ip4::kProtoUdp, ulen, udp::kChecksum, mode, hw);
    v.csum_device = c == L4Csum::kDevice;
    v.csum_partial = c == L4Csum::kPartial;
    return c != L4Csum::kBad;
  }
};

}  // namespace dpscan
