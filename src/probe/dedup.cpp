#include "dpscan/dedup.hpp"

#include <bit>

namespace dpscan {

Dedup::Dedup(uint64_t targets, uint64_t memory_bytes) {
  const uint64_t words = targets / 64 + (targets % 64 != 0);
  if (words * 8 <= memory_bytes) {
    words_ = words;
    bits_ = std::make_unique<uint64_t[]>(words);  // value-initialised: all zero
  } else {
    words_ = std::bit_floor(std::max<uint64_t>(memory_bytes / 8, 1024));
    window_ = std::make_unique<uint64_t[]>(words_);
    window_mask_ = words_ - 1;
  }
}

}  // namespace dpscan
