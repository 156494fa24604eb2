// A bounded single-producer, single-consumer ring: the reflector's datapath hands records to
// a thread that writes them (answered_log.hpp). Allocated once; push and pop are a load, a
// copy and a release store, no lock and no allocation. A full ring refuses the push (the
// producer counts it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace dpscan::reflect {

template <typename T>
class SpscRing {
 public:
  // capacity: rounded up to a power of two.
  explicit SpscRing(size_t capacity) {
    size_t n = 1;
    while (n < capacity) n <<= 1;
    slots_.resize(n);
    mask_ = n - 1;
  }

  size_t capacity() const { return slots_.size(); }

  // Producer only.
  bool push(const T& item) {
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return false;
    }
    slots_[t & mask_] = item;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // Consumer only: hands up to `max` items to f(const T&); returns how many.
  template <typename F>
  size_t pop(size_t max, F&& f) {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    const uint64_t t = tail_.load(std::memory_order_acquire);
    size_t n = 0;
    for (uint64_t i = h; i != t && n < max; ++i, ++n) f(static_cast<const T&>(slots_[i & mask_]));
    head_.store(h + n, std::memory_order_release);
    return n;
  }

 private:
  std::vector<T> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};  // next to pop (consumer's)
  alignas(64) std::atomic<uint64_t> tail_{0};  // next to fill (producer's)
  uint64_t head_cache_ = 0;                    // producer's last view of head_
};

}  // namespace dpscan::reflect
