// SipHash-2-4 (Aumasson & Bernstein, 2012) for the probe cookie. The generic function is
// for tests and set-up; cookie.hpp uses a version specialised to the 10-byte message
// (source address, destination address, destination port), which is one compression block
// plus the final block and costs about 30 cycles.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "dpscan/bytes.hpp"

namespace dpscan {

struct SipKey {
  uint64_t k0;
  uint64_t k1;
};

namespace siphash_detail {
struct State {
  uint64_t v0, v1, v2, v3;
  explicit State(SipKey k)
      : v0(k.k0 ^ 0x736f6d6570736575ULL),
        v1(k.k1 ^ 0x646f72616e646f6dULL),
        v2(k.k0 ^ 0x6c7967656e657261ULL),
        v3(k.k1 ^ 0x7465646279746573ULL) {}
  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  uint64_t finish() {
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};
}  // namespace siphash_detail

inline uint64_t siphash24(SipKey key, const uint8_t* msg, size_t len) {
  siphash_detail::State s(key);
  const size_t full = len / 8 * 8;
  for (size_t i = 0; i < full; i += 8) s.compress(load_le64(msg + i));
  uint64_t last = uint64_t{len & 0xff} << 56;
  for (size_t i = 0; i < len - full; ++i) last |= uint64_t{msg[full + i]} << (8 * i);
  s.compress(last);
  return s.finish();
}

}  // namespace dpscan
