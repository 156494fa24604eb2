// The probe-module seam (docs/design.md, decision 13; ZMap's probe_module_t as a C++
// concept). A module owns its packets: its configuration (read from the plan), its frames
// with a per-probe length, the transport-layer step of classifying an answer (the family's
// parser, classify.hpp, hands it the upper-layer bytes), the statuses and reasons it reports,
// the drops it counts, and the replies it wants sent. Modules are templates over the
// address family (family.hpp): TcpSyn<Ipv4>, Udp<Ipv6>, ... The TX and RX loops are templates
// over the module, instantiated once per (family, module) pair, so the per-packet path has no
// indirect call. src/probe/modules.hpp lists the modules; docs/architecture.md says how to
// add one.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dpscan/cookie.hpp"
#include "dpscan/cyclic.hpp"
#include "dpscan/family.hpp"
#include "dpscan/result.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/sources.hpp"
#include "dpscan/target_space.hpp"

namespace dpscan {

struct ScanPlan;

// What a classification step decides about one frame.
template <typename A>
struct Verdict {
  enum class Kind : uint8_t { kResult, kNeighbour, kDrop };
  Kind kind = Kind::kDrop;
  Drop drop = Drop::kTruncated;
  Status status = Status::kOpen;
  Reason reason = Reason::kSynAck;
  uint8_t ttl = 0;
  uint8_t vlan_tags = 0;    // 802.1Q/802.1ad tags skipped
  bool ip_options = false;  // IPv4 options or IPv6 extension headers skipped
  // How the transport checksum of a result was accepted, for the counters: the device
  // checked it, or it was a partial (offload) checksum, or one never filled in.
  bool csum_device = false;
  bool csum_partial = false;
  bool slot_known = false;      // `slot` names the probe slot (else: the port's first)
  uint8_t validation_bits = 0;  // cookie bits the answer proved
  uint8_t icmp_type = 0;        // an ICMP error's type and code
  uint8_t icmp_code = 0;
  uint16_t port = 0;  // target port (0 for ICMP echo)
  uint16_t slot = 0;
  A ip;  // the target
  A our_ip;
  uint16_t our_port = 0;
  uint32_t ack = 0;  // TCP: the acknowledgement, for the RST after a SYN-ACK
  uint16_t window = 0;
  uint16_t resp_len = 0;          // the answer's payload bytes (UDP, echo)
  uint16_t probe_len = 0;         // the probe's payload bytes
  const uint8_t* data = nullptr;  // the answer's payload, inside the frame
  size_t l3 = 0;                  // offset of the L3 header (neighbour discovery)

  static Verdict dropped(Drop d) {
    Verdict v;
    v.drop = d;
    return v;
  }
};

// What a reply needs besides the answer: our MAC and the TTL of our packets.
struct ReplyContext {
  MacAddr mac;
  uint8_t ttl = 64;
};

// The RX side's view of a scan, for module M: our addresses, the cookie, how checksums are
// taken, and the module's own receive configuration.
template <typename M>
struct RxContext {
  SourceAddressesOf<typename M::Family::Addr> sources;
  CookieParams cookie;
  RxChecksum checksum = RxChecksum::kAuto;
  typename M::RxConfig module{};
};

// The TX side's view, for module M: the probe template(s), the cookie, our addresses, and
// how walk indices become targets.
template <typename M>
struct TxContext {
  const typename M::Template* tmpl = nullptr;
  CookieParams cookie;
  const SourceAddressesOf<typename M::Family::Addr>* sources = nullptr;
  const ScanOrder* order = nullptr;
  const IndexSpace<typename M::Family::AddressList>* space = nullptr;
};

// The link a module's frames go out on: the Ethernet addresses, TTL / hop limit and
// IPv6's flow label.
struct LinkConfig {
  MacAddr src_mac;
  MacAddr dst_mac;
  uint8_t ttl = 64;
  uint32_t flow_label = 0;
};

template <typename M>
concept ProbeModule = requires(const typename M::Template& tmpl, const LinkConfig& link,
                               const ScanPlan& plan, CyclicWalk& walk, const TxContext<M>& tx,
                               uint8_t* const* frames, uint16_t* lens, unsigned n,
                               const L3View<typename M::Family::Addr>& l3, const RxContext<M>& rx,
                               CsumHints hints, const IcmpError& err,
                               const Verdict<typename M::Family::Addr>& v, const uint8_t* frame,
                               const ReplyContext& rc, uint8_t* out) {
  requires AddressFamily<typename M::Family>;
  { M::kName } -> std::convertible_to<std::string_view>;      // "tcp-syn"
  { M::kProtocol } -> std::convertible_to<Proto>;             // in the results
  { M::kScanType } -> std::convertible_to<std::string_view>;  // nmap's scaninfo type, "syn"
  { M::kIpProto } -> std::convertible_to<uint8_t>;            // the transport its answers arrive on
  { M::kFixedLength } -> std::convertible_to<bool>;  // every probe has the template's length
  { M::kStatuses } -> std::convertible_to<std::span<const Status>>;
  { M::kDrops } -> std::convertible_to<std::span<const Drop>>;  // its own, beyond the family's
  { M::make_template(link, plan) } -> std::same_as<typename M::Template>;
  { M::make_rx_config(plan) } -> std::same_as<typename M::RxConfig>;
  { tmpl.frame() } -> std::convertible_to<std::span<const uint8_t>>;  // pre-filled into buffers
  // Builds up to n probes (the walk's next ones) into frames holding the template; where
  // !kFixedLength, writes each probe's frame length into lens. Returns how many.
  { M::build_batch(walk, tx, frames, lens, n) } -> std::same_as<unsigned>;
  // An answer on the module's transport (or an echo reply, for an ICMP module).
  { M::classify(l3, rx, hints) } -> std::same_as<Verdict<typename M::Family::Addr>>;
  // An ICMP error quoting one of the module's probes (l3: the quoted probe's header).
  { M::classify_quoted(err, l3, rx) } -> std::same_as<Verdict<typename M::Family::Addr>>;
  { M::wants_reply(v) } -> std::same_as<bool>;
  { M::reply(v, frame, rc, out) } -> std::same_as<size_t>;  // writes the reply frame
};

}  // namespace dpscan
