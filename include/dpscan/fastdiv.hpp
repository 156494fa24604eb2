// Division by a run-time invariant 64-bit divisor with one multiply, a subtract and shifts
// (Granlund & Montgomery, "Division by invariant integers using multiplication", PLDI 1994,
// figure 4.1). Exact for every 64-bit numerator. The index -> (address, port) mapping divides
// by the port count once per probe; a hardware 64-bit divide would cost more than the rest of
// the mapping.
#pragma once

#include <cstdint>

#include "dpscan/int128.hpp"

namespace dpscan {

class FastDiv {
 public:
  FastDiv() : FastDiv(1) {}
  explicit FastDiv(uint64_t d) : d_(d) {
    // l = ceil(log2(d)); m = floor(2^64 * (2^l - d) / d) + 1
    const unsigned l = d <= 1 ? 0 : 64 - static_cast<unsigned>(__builtin_clzll(d - 1));
    const uint64_t two_l_minus_d = l == 64 ? (0 - d) : ((uint64_t{1} << l) - d);
    m_ = static_cast<uint64_t>((static_cast<u128>(two_l_minus_d) << 64) / d) + 1;
    s1_ = l == 0 ? 0 : 1;
    s2_ = l == 0 ? 0 : l - 1;
  }
  uint64_t divisor() const { return d_; }
  uint64_t div(uint64_t n) const {
    const auto t = static_cast<uint64_t>((static_cast<u128>(m_) * n) >> 64);
    return (t + ((n - t) >> s1_)) >> s2_;
  }

 private:
  uint64_t d_;
  uint64_t m_;
  unsigned s1_;
  unsigned s2_;
};

}  // namespace dpscan
