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
static_assert(kMaxProbeBatch % 16 == 0, "the vector path reads whole groups of sixteen");

// Whether this CPU runs patch_probes_aes_avx512 (AVX-512 F/BW/DQ and VAES); checked once.
bool cpu_has_avx512_probes();
inline bool avx512_probes() {
  static const bool has = cpu_has_avx512_probes();
  return has;
}

// Cookies (AES PRF) and patches for probes i < n: the same bytes as the scalar loop in
// build_probe_batch, sixteen probes at a time (src/probe/probe_avx512.cpp). src, dst and
// dport are read up to n rounded up to 16 (the extra lanes are computed and not stored), and
// each frame is written over its first 64 bytes (zeros beyond a shorter probe).
void patch_probes_aes_avx512(const ProbeTemplate& tmpl, const CookieParams& cookie,
                             const uint32_t* src, const uint32_t* dst, const uint16_t* dport,
                             uint8_t* const* frames, unsigned n);

// Writes up to n (<= kMaxProbeBatch) probes into frames[0..n), which already hold the
// template and have room for 64 bytes. Returns how many were built: fewer than n only when
// the walk is exhausted. vector: use the AVX-512 path for AES cookies where the CPU has it.
inline unsigned build_probe_batch(CyclicWalk& walk, const ScanOrder& order,
                                  const ProbeTemplate& tmpl, const CookieParams& cookie,
                                  const SourceAddresses& sources, uint8_t* const* frames,
                                  unsigned n, bool vector = true) {
  uint64_t index[kMaxProbeBatch];
  const unsigned k = walk.next_batch(index, n);
  // IPv4 addresses as 32-bit lanes (host order), as the vector path computes on them.
  // Zero-initialised: the vector path reads whole groups of sixteen, and the compiler can
  // then see every element the AES calls read is written. 640 bytes per burst.
  alignas(64) uint32_t dst[kMaxProbeBatch] = {};
  alignas(64) uint16_t dport[kMaxProbeBatch] = {};
  alignas(64) uint32_t src[kMaxProbeBatch] = {};
  for (unsigned i = 0; i < k; ++i) {
    const Target t = order.target(index[i]);
    dst[i] = t.ip.value();
    dport[i] = t.port;
  }
  for (unsigned i = 0; i < k; ++i) src[i] = sources.pick(Ipv4Addr(dst[i]), dport[i]).value();
  if (cookie.algo == CookieAlgo::kAes && vector && avx512_probes()) {
    patch_probes_aes_avx512(tmpl, cookie, src, dst, dport, frames, k);
    return k;
  }
  Cookie cookies[kMaxProbeBatch];
  if (cookie.algo == CookieAlgo::kAes) {
    uint64_t h[kMaxProbeBatch];
    cookie_hash_aes_batch(cookie.aes, src, dst, dport, h, k);
    for (unsigned i = 0; i < k; ++i) cookies[i] = cookie_from_hash(cookie, h[i]);
  } else {
    for (unsigned i = 0; i < k; ++i)
      cookies[i] = make_cookie(cookie, Ipv4Addr(src[i]), Ipv4Addr(dst[i]), dport[i]);
  }
  for (unsigned i = 0; i < k; ++i)
    tmpl.patch(frames[i], Ipv4Addr(src[i]), Ipv4Addr(dst[i]), dport[i], cookies[i]);
  return k;
}

}  // namespace dpscan
