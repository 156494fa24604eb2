// Building a burst of TCP SYN probes in passes (targets, cookies, patches) rather than one
// probe at a time: each pass is a short loop over independent data, so the CPU overlaps the
// cookie PRF and the walk's multiplications of different probes instead of waiting on each
// one's dependency chain. The TX lcore and tests/perf/probe_bench share this code.
#pragma once

#include <cstdint>

#include "dpscan/cookie.hpp"
#include "dpscan/cyclic.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/sources.hpp"
#include "dpscan/target_space.hpp"

namespace dpscan {

constexpr unsigned kMaxProbeBatch = 64;
static_assert(kMaxProbeBatch % 16 == 0, "the vector path reads whole groups of sixteen");

// Whether this CPU runs patch_probes_aes_avx512 (AVX-512 F/BW/DQ and VAES); checked once.
bool cpu_has_avx512_probes();
inline bool avx512_probes() {
  static const bool has = cpu_has_avx512_probes();
  return has;
}

// Cookies (AES PRF) and patches for IPv4 probes i < n: the same bytes as the scalar loop in
// build_probe_batch, sixteen probes at a time (src/probe/probe_avx512.cpp). src, dst and
// dport are read up to n rounded up to 16 (the extra lanes are computed and not stored), and
// each frame is written over its first 64 bytes (zeros beyond a shorter probe).
void patch_probes_aes_avx512(const ProbeTemplate& tmpl, const CookieParams& cookie,
                             const uint32_t* src, const uint32_t* dst, const uint16_t* dport,
                             uint8_t* const* frames, unsigned n);

// The walk's next up to n (<= kMaxProbeBatch) targets: addresses, ports and (where asked)
// probe slots. Returns how many: fewer than n only when the walk is exhausted.
template <typename AddressList>
unsigned next_targets(CyclicWalk& walk, const ScanOrder& order,
                      const IndexSpace<AddressList>& space, typename AddressList::Addr* dst,
                      uint16_t* dport, unsigned n, uint16_t* slot = nullptr) {
  uint64_t index[kMaxProbeBatch];
  const unsigned k = walk.next_batch(index, n);
  for (unsigned i = 0; i < k; ++i) {
    index[i] = order.target_index(index[i]);
    space.prefetch(index[i]);
  }
  for (unsigned i = 0; i < k; ++i) {
    const auto t = space.at(index[i]);
    dst[i] = t.ip;
    dport[i] = t.port;
    if (slot) slot[i] = t.slot;
  }
  return k;
}

// Writes up to n (<= kMaxProbeBatch) probes into frames[0..n), which already hold the
// template and have room for 64 bytes. Returns how many were built: fewer than n only when
// the walk is exhausted. vector: use the AVX-512 path (IPv4, AES cookies) where the CPU has it.
template <typename F>
unsigned build_probe_batch(CyclicWalk& walk, const ScanOrder& order,
                           const IndexSpace<typename F::AddressList>& space,
                           const TcpTemplate<F>& tmpl, const CookieParams& cookie,
                           const SourceAddressesOf<typename F::Addr>& sources,
                           uint8_t* const* frames, unsigned n, bool vector = true) {
  using A = typename F::Addr;
  // Zero-initialised: the vector path reads whole groups of sixteen, and the compiler can
  // then see every element the AES calls read is written.
  alignas(64) A dst[kMaxProbeBatch] = {};
  alignas(64) A src[kMaxProbeBatch] = {};
  alignas(64) uint16_t dport[kMaxProbeBatch] = {};
  const unsigned k = next_targets(walk, order, space, dst, dport, n);
  for (unsigned i = 0; i < k; ++i) src[i] = sources.pick(dst[i], dport[i]);
  if constexpr (F::kFamily == Family::kIpv4) {
    if (cookie.algo == CookieAlgo::kAes && vector && avx512_probes()) {
      static_assert(sizeof(A) == sizeof(uint32_t));  // IPv4 addresses as 32-bit lanes
      patch_probes_aes_avx512(tmpl, cookie, reinterpret_cast<const uint32_t*>(src),
                              reinterpret_cast<const uint32_t*>(dst), dport, frames, k);
      return k;
    }
  }
  uint64_t h[kMaxProbeBatch];
  cookie_hashes(cookie, src, dst, dport, h, k);
  for (unsigned i = 0; i < k; ++i)
    tmpl.patch(frames[i], src[i], dst[i], dport[i], cookie_from_hash(cookie, h[i]));
  return k;
}

}  // namespace dpscan
