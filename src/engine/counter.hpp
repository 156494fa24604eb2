// A statistics counter with one writer (its lcore) and any number of readers (the main
// lcore's status line). Relaxed atomic load + store, not fetch_add: no locked instruction on
// the per-packet path, and still a data-race-free read from another thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace dpscan {

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace dpscan
