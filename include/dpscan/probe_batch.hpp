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
inline unsigned build_probe_batch(CyclicWalk& walk, const ScanOrder& order,
                                  const ProbeTemplate& tmpl, const CookieParams& cookie,
                                  const SourceAddresses& sources, uint8_t* const* frames,
                                  unsigned n) {
  Target targets[kMaxProbeBatch];
  Cookie cookies[kMaxProbeBatch];
  unsigned k = 0;
  uint64_t index;
  while (k < n && walk.next(index)) targets[k++] = order.target(index);
  uint32_t src[kMaxProbeBatch];
  for (unsigned i = 0; i < k; ++i) {
    src[i] = sources.pick(targets[i].ip, targets[i].port);
    cookies[i] = make_cookie(cookie, src[i], targets[i].ip, targets[i].port);
  }
  for (unsigned i = 0; i < k; ++i)
    tmpl.patch(frames[i], src[i], targets[i].ip, targets[i].port, cookies[i]);
  return k;
}

}  // namespace dpscan
