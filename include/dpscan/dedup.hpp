// Exact duplicate suppression (masscan's lossy table prints duplicates: #127, #410). While the
// index space fits in the memory budget, one bit per (address, port) through the inverse
// mapping: exact and lock-free across RX lcores (atomic fetch_or). Beyond the budget, a
// direct-mapped window of recent keys: still never reports a pair twice while it stays in the
// window, and says so in the summary (mode "window").
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace dpscan {

class Dedup {
 public:
  // targets: the index space's size.
  Dedup(uint64_t targets, uint64_t memory_bytes);

  // True the first time a pair is seen; false for a duplicate.
  bool first(uint64_t index) {
    if (bits_) {
      const uint64_t mask = uint64_t{1} << (index & 63);
      std::atomic_ref<uint64_t> word(bits_[index >> 6]);
      return (word.fetch_or(mask, std::memory_order_relaxed) & mask) == 0;
    }
    const uint64_t key = index + 1;
    std::atomic_ref<uint64_t> slot(window_[mix(key) & window_mask_]);
    return slot.exchange(key, std::memory_order_relaxed) != key;
  }
  // Starts loading the word first(index) will change (for writing).
  void prefetch(uint64_t index) const {
    if (bits_)
      __builtin_prefetch(&bits_[index >> 6], 1, 3);
    else
      __builtin_prefetch(&window_[mix(index + 1) & window_mask_], 1, 3);
  }
  std::string_view mode() const { return bits_ ? "exact" : "window"; }
  uint64_t memory() const { return words_ * 8; }

 private:
  static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
  }
  std::unique_ptr<uint64_t[]> bits_;
  std::unique_ptr<uint64_t[]> window_;
  uint64_t window_mask_ = 0;
  uint64_t words_ = 0;
};

}  // namespace dpscan
