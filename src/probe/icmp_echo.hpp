// The ICMP echo probe module (probe_module.hpp): host discovery, for either family. An echo
// request (ICMP type 8, ICMPv6 type 128) carries the cookie - the 64-bit PRF of (our address,
// the target, port 0) - in its identifier (bits 32-47), its sequence number (bits 48-63) and
// the first four bytes of its payload (bits 0-31). An echo reply echoes all three (RFC 792,
// RFC 4443 section 4.2): a reply that carries them is "up", with 64 validation bits. An ICMP
// error quoting the request makes the target "unreachable": ICMPv4 quotes the identifier and
// sequence (32 bits), ICMPv6 the whole request (64).
#pragma once

#include <array>
#include <cstring>
#include <span>

#include "dpscan/checksum.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/probe_module.hpp"
#include "probe/probe_batch.hpp"

namespace dpscan {

namespace icmp_echo_detail {

constexpr size_t kPayload = 8;  // cookie bits 0-31, then four zero bytes
constexpr size_t kEchoLen = icmp::kLen + kPayload;
constexpr size_t kId = 4, kSeq = 6, kData = 8;  // offsets in the ICMP message

// Whether an echo message (request or reply) at m carries the cookie h; how many of its bits
// the available bytes prove.
inline unsigned proven(const uint8_t* m, size_t len, uint64_t h) {
  if (len < icmp::kLen || load_be16(m + kId) != static_cast<uint16_t>(h >> 32) ||
      load_be16(m + kSeq) != static_cast<uint16_t>(h >> 48))
    return 0;
  if (len < kData + 4) return 32;
  return load_be32(m + kData) == static_cast<uint32_t>(h) ? 64 : 0;
}

}  // namespace icmp_echo_detail

// Ethernet + IP + an echo request with an 8-byte payload.
template <typename F>
class EchoTemplate {
 public:
  using Addr = typename F::Addr;
  static constexpr size_t kIp = eth::kLen;
  static constexpr size_t kIcmp = eth::kLen + F::kHeaderLen;

  EchoTemplate(const LinkConfig& link) {
    uint8_t* f = bytes_.data();
    std::memcpy(f + eth::kDst, link.dst_mac.data(), 6);
    std::memcpy(f + eth::kSrc, link.src_mac.data(), 6);
    store_be16(f + eth::kType, F::kEtherType);
    F::write_header(f + kIp, F::kIcmpProto, icmp_echo_detail::kEchoLen, link.ttl, link.flow_label);
    f[kIcmp + icmp::kType] = F::kEchoRequest;
    ip_sum_ = F::header_sum(f + kIp);
  }
  std::span<const uint8_t> frame() const { return {bytes_.data(), bytes_.size()}; }

  void patch(uint8_t* frame, Addr src, Addr dst, uint64_t h) const {
    using namespace icmp_echo_detail;
    F::patch(frame + kIp, src, dst, static_cast<uint16_t>(h >> 16), ip_sum_);
    uint8_t* m = frame + kIcmp;
    store_be16(m + kId, static_cast<uint16_t>(h >> 32));
    store_be16(m + kSeq, static_cast<uint16_t>(h >> 48));
    store_be32(m + kData, static_cast<uint32_t>(h));
    store_be16(m + icmp::kChecksum, 0);
    const uint32_t sum = F::icmp_pseudo_sum(src, dst, static_cast<uint32_t>(kEchoLen));
    store_be16(m + icmp::kChecksum, checksum_fold(checksum_add(sum, m, kEchoLen)));
  }

 private:
  std::array<uint8_t, kIcmp + icmp_echo_detail::kEchoLen> bytes_{};
  uint32_t ip_sum_ = 0;
};

template <typename F>
struct IcmpEcho {
  using Family = F;
  using Addr = typename F::Addr;
  using Template = EchoTemplate<F>;
  struct RxConfig {};
  static constexpr std::string_view kName = "icmp-echo";
  static constexpr Proto kProtocol = Proto::kIcmp;
  static constexpr std::string_view kScanType = "ping";
  static constexpr uint8_t kIpProto = F::kIcmpProto;
  static constexpr bool kFixedLength = true;
  static constexpr std::array<Status, 2> kStatuses{Status::kUp, Status::kUnreachable};
  static constexpr std::array<Drop, 1> kDrops{Drop::kBadCookie};

  static Template make_template(const LinkConfig& link, const ProbePlan&) { return Template(link); }
  static RxConfig make_rx_config(const ProbePlan&) { return {}; }

  static unsigned build_batch(CyclicWalk& walk, const TxContext<IcmpEcho>& tx,
                              uint8_t* const* frames, uint16_t* /*lens*/, unsigned n) {
    Addr dst[kMaxProbeBatch], src[kMaxProbeBatch];
    uint16_t port[kMaxProbeBatch];
    const unsigned k = next_targets(walk, *tx.order, *tx.space, dst, port, n);
    for (unsigned i = 0; i < k; ++i) src[i] = tx.sources->pick(dst[i], 0);
    uint64_t h[kMaxProbeBatch];
    const uint16_t zero[kMaxProbeBatch] = {};
    cookie_hashes(tx.cookie, src, dst, zero, h, k);
    for (unsigned i = 0; i < k; ++i) tx.tmpl->patch(frames[i], src[i], dst[i], h[i]);
    return k;
  }

  // An echo reply (classify.hpp has checked its ICMP checksum).
  static Verdict<Addr> classify(const L3View<Addr>& l3, const RxContext<IcmpEcho>& ctx, CsumHints) {
    using V = Verdict<Addr>;
    const uint64_t h = cookie_hash(ctx.cookie, l3.dst, l3.src, 0);
    const unsigned bits = icmp_echo_detail::proven(l3.l4, l3.l4_len, h);
    if (bits < 64) return V::dropped(Drop::kBadCookie);
    V v;
    v.ip = l3.src;
    v.status = Status::kUp;
    v.reason = Reason::kEchoReply;
    v.validation_bits = static_cast<uint8_t>(bits);
    v.resp_len = static_cast<uint16_t>(l3.l4_len - icmp::kLen);
    v.probe_len = static_cast<uint16_t>(icmp_echo_detail::kPayload);
    v.kind = V::Kind::kResult;
    return v;
  }

  // An error quoting our echo request.
  static Verdict<Addr> classify_quoted(const IcmpError& err, const L3View<Addr>& probe,
                                       const RxContext<IcmpEcho>& ctx) {
    using V = Verdict<Addr>;
    if (probe.l4[icmp::kType] != F::kEchoRequest) return V::dropped(Drop::kIcmpOther);
    const uint64_t h = cookie_hash(ctx.cookie, probe.src, probe.dst, 0);
    const unsigned bits = icmp_echo_detail::proven(probe.l4, probe.l4_len, h);
    if (bits == 0) return V::dropped(Drop::kBadCookie);
    V v;
    v.ip = probe.dst;
    v.status = Status::kUnreachable;
    v.reason = err.reason;
    v.validation_bits = static_cast<uint8_t>(bits);
    v.kind = V::Kind::kResult;
    return v;
  }

  static bool wants_reply(const Verdict<Addr>&) { return false; }
  static size_t reply(const Verdict<Addr>&, const uint8_t*, const ReplyContext&, uint8_t*) {
    return 0;
  }
};
static_assert(ProbeModule<IcmpEcho<Ipv4>>);
static_assert(ProbeModule<IcmpEcho<Ipv6>>);

}  // namespace dpscan
