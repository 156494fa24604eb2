// Sorted, disjoint runs of values, numbered in order: at(i) is the i-th value of all the
// runs, rank(v) the number of value v. The IPv6 address list (ipv6_targets.hpp) is made of
// them: the addresses of target intervals (V = u128), the prefixes a generator keeps and the
// positions of a hitlist that are kept (V = uint64_t).
//
// at() runs once per probe on the TX path. As Ipv4Intervals does, it starts from a bucket
// table: bucket b holds the run that contains number b << shift, so the run of i is usually
// that one or the next; where one bucket spans many small runs a binary search over just
// those runs bounds the cost. rank() (the RX path) is a binary search over the runs' first
// values.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

namespace dpscan {

template <typename V>
class RankTable {
 public:
  RankTable() = default;
  // Appends a run of `count` (> 0) values from `first`; runs come in ascending order, apart,
  // and all of them hold fewer than 2^64 values. finish() once after the last.
  void add(V first, uint64_t count) {
    runs_.push_back({first, total_});
    total_ += count;
  }
  void finish();

  uint64_t size() const { return total_; }
  size_t run_count() const { return runs_.empty() ? 0 : runs_.size() - 1; }
  // The first value of run k and the number of values in it (k < run_count()).
  V run_first(size_t k) const { return runs_[k].first; }
  uint64_t run_size(size_t k) const { return runs_[k + 1].before - runs_[k].before; }

  // Precondition: i < size().
  V at(uint64_t i) const {
    const uint64_t b = i >> shift_;
    size_t k = buckets_[b];
    const size_t end = buckets_[b + 1];
    if (end - k > kLinear) {
      k = static_cast<size_t>(
              std::upper_bound(runs_.begin() + static_cast<ptrdiff_t>(k) + 1,
                               runs_.begin() + static_cast<ptrdiff_t>(end) + 1, i,
                               [](uint64_t x, const Run& r) { return x < r.before; }) -
              runs_.begin()) -
          1;
    } else {
      while (runs_[k + 1].before <= i) ++k;
    }
    return runs_[k].first + static_cast<V>(i - runs_[k].before);
  }

  std::optional<uint64_t> rank(V v) const {
    if (runs_.size() < 2) return std::nullopt;
    const auto it = std::upper_bound(runs_.begin(), runs_.end() - 1, v,
                                     [](const V& x, const Run& r) { return x < r.first; });
    if (it == runs_.begin()) return std::nullopt;
    const auto k = static_cast<size_t>(it - runs_.begin()) - 1;
    const V offset = v - runs_[k].first;
    if (offset >= static_cast<V>(run_size(k))) return std::nullopt;
    return runs_[k].before + static_cast<uint64_t>(offset);
  }

 private:
  static constexpr size_t kLinear = 8;
  struct Run {
    V first;
    uint64_t before;  // values in the runs before this one; the sentinel's is the total
  };
  std::vector<Run> runs_;  // plus a sentinel {_, total} at the end after finish()
  std::vector<uint32_t> buckets_;
  unsigned shift_ = 63;
  uint64_t total_ = 0;
};

template <typename V>
void RankTable<V>::finish() {
  runs_.push_back({V{}, total_});
  const size_t n = runs_.size() - 1;
  if (total_ == 0) {
    buckets_.assign(2, 0);
    return;
  }
  // About four buckets per run, a power of two, at most 2^20 of them.
  const uint64_t want = std::bit_ceil(std::min<uint64_t>(4 * n, uint64_t{1} << 20));
  const auto bits = static_cast<unsigned>(std::bit_width(total_ - 1));
  const auto bucket_bits = static_cast<unsigned>(std::countr_zero(want));
  shift_ = bits > bucket_bits ? bits - bucket_bits : 0;
  const uint64_t nbuckets = ((total_ - 1) >> shift_) + 1;
  buckets_.resize(nbuckets + 1);
  uint32_t k = 0;
  for (uint64_t b = 0; b < nbuckets; ++b) {
    while (runs_[k + 1].before <= (b << shift_)) ++k;
    buckets_[b] = k;
  }
  // The last bucket's search may end at the last run.
  buckets_[nbuckets] = static_cast<uint32_t>(n - 1);
}

}  // namespace dpscan
