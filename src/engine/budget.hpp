// The --max-targets budget shared by all TX lcores of a process: each takes what it is about
// to send with one compare-and-swap per burst (never per probe), so the total is exact
// however the targets fall over the lcores' parts of the scan (ZMap and a per-lcore split
// come up short when one lcore's part runs out first).
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace dpscan {

class TargetBudget {
 public:
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();
  explicit TargetBudget(uint64_t left = kUnlimited) : left_(left) {}
  bool unlimited() const { return left_.load(std::memory_order_relaxed) == kUnlimited; }
  uint64_t left() const { return left_.load(std::memory_order_relaxed); }

  // Takes up to `want`; returns how many were granted (0 once the budget is spent).
  uint64_t take(uint64_t want) {
    uint64_t cur = left_.load(std::memory_order_relaxed);
    if (cur == kUnlimited) return want;
    uint64_t got;
    do got = cur < want ? cur : want;
    while (got && !left_.compare_exchange_weak(cur, cur - got, std::memory_order_relaxed));
    return got;
  }

 private:
  std::atomic<uint64_t> left_;
};

}  // namespace dpscan
