// Building a burst of probes in three passes (targets, cookies, patches) rather than one
// probe at a time: each pass is a short loop over independent data, so the CPU overlaps the
// SipHash rounds and the walk's multiplications of different probes instead of waiting on
// each one's dependency chain. The TX lcore and tests/perf/probe_bench share this code.
#pragma once

#include <cstdint>

#include "dpscan/cookie.hpp"
#include "dpscan/cyclic.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/sources.hpp"

namespace dpscan {

constexpr unsigned kMaxProbeBatch = 64;

// Writes up to n (<= kMaxProbeBatch) probes into frames[0..n), which already hold the
// template. Returns how many were built: fewer than n only when the walk is exhausted.
// positions, when given, receives the walk position after each probe (to give some back).
inline unsigned build_probe_batch(CyclicWalk& walk, const ScanOrder& order,
                                  const ProbeTemplate& tmpl, const CookieParams& cookie,
                                  const SourceAddresses& sources, uint8_t* const* frames,
                                  unsigned n, uint64_t* positions = nullptr) {
  // Zero-initialised so the compiler can see every element the AES call reads is written
  // (it cannot see that only the first k are read); 640 bytes per burst, not per probe.
  uint32_t dst[kMaxProbeBatch] = {};
  uint16_t dport[kMaxProbeBatch] = {};
  uint32_t src[kMaxProbeBatch] = {};
  Cookie cookies[kMaxProbeBatch];
  unsigned k = 0;
  uint64_t index;
  while (k < n && walk.next(index)) {
    const Target t = order.target(index);
    dst[k] = t.ip;
    dport[k] = t.port;
    if (positions) positions[k] = walk.position();
    ++k;
  }
  for (unsigned i = 0; i < k; ++i) src[i] = sources.pick(dst[i], dport[i]);
  if (cookie.algo == CookieAlgo::kAes) {
    uint64_t h[kMaxProbeBatch];
    cookie_hash_aes_batch(cookie.aes, src, dst, dport, h, k);
    for (unsigned i = 0; i < k; ++i) cookies[i] = cookie_from_hash(cookie, h[i]);
  } else {
    for (unsigned i = 0; i < k; ++i) cookies[i] = make_cookie(cookie, src[i], dst[i], dport[i]);
  }
  for (unsigned i = 0; i < k; ++i) tmpl.patch(frames[i], src[i], dst[i], dport[i], cookies[i]);
  return k;
}

}  // namespace dpscan
