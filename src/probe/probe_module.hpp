// The probe-module seam (docs/design.md, decision 13; ZMap's probe_module_t as a C++
// concept). A module says what a probe is and what an answer means: its frame template,
// how a burst of probes is built into frames that already hold the template, how a received
// frame is classified, which answers get a reply (and the reply's bytes), and the names its
// results carry. The TX and RX loops (tx_loop.hpp, rx_loop.hpp) are templates over it,
// instantiated once per module, so the per-packet path has no indirect call. TCP SYN
// (tcp_syn.hpp) is the first module; docs/architecture.md says how to add one.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dpscan/classify.hpp"
#include "dpscan/cookie.hpp"
#include "dpscan/cyclic.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/result.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/sources.hpp"

namespace dpscan {

// What a reply needs besides the answer: our MAC and the TTL of our packets.
struct ReplyContext {
  MacAddr mac;
  uint8_t ttl = 64;
};

template <typename M>
concept ProbeModule = requires(const typename M::Template& tmpl, const ProbeConfig& config,
                               CyclicWalk& walk, const ScanOrder& order, const CookieParams& cookie,
                               const SourceAddresses& sources, uint8_t* const* frames, unsigned n,
                               const uint8_t* frame, size_t len, const RxContext& ctx,
                               CsumHints hints, const Verdict& v, const ReplyContext& rc,
                               uint8_t* out, uint32_t now_s) {
  { M::kName } -> std::convertible_to<std::string_view>;      // "tcp-syn"
  { M::kProtocol } -> std::convertible_to<std::string_view>;  // "tcp", in the results
  { M::kScanType } -> std::convertible_to<std::string_view>;  // nmap's scaninfo type, "syn"
  { M::make_template(config) } -> std::same_as<typename M::Template>;
  { tmpl.frame() } -> std::convertible_to<std::span<const uint8_t>>;  // the probe frame
  // Builds up to n probes (the walk's next ones) into frames holding the template.
  { M::build_batch(walk, order, tmpl, cookie, sources, frames, n) } -> std::same_as<unsigned>;
  { M::classify(frame, len, ctx, hints) } -> std::same_as<Verdict>;
  { M::result(v, now_s) } -> std::same_as<Result>;
  { M::wants_reply(v) } -> std::same_as<bool>;
  { M::reply(v, frame, rc, out) } -> std::same_as<size_t>;  // writes the reply frame
};

}  // namespace dpscan
