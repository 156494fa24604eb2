// Sorting and deduplicating more addresses than fit twice in memory.
//
// A hitlist of 10^8 addresses is 1.6 GB at 16 bytes each, and the load must stay within
// 2 GB. The obvious ways need twice the data: a std::vector that doubles copies 1 GiB into
// a 2 GiB block while the old one is still there, and sorting into a second array needs
// both. So addresses are collected in runs of 1 Mi (16 MiB, each in its own anonymous
// mapping); a full run is sorted and deduplicated and its unused tail given back to the
// kernel. At the end the runs are merged, dropping duplicates, into a vector reserved for
// the sum of the runs; pages of that vector are only resident once written, and each run
// unmaps what the merge has consumed every 64 KiB. The peak is then the distinct data plus
// about 64 KiB per run, however the input is ordered. (The runs' sorts are in place;
// std::sort on 16 MiB stays mostly in the caches' reach.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "dpscan/addr.hpp"

namespace dpscan {

// A growable array of addresses in an anonymous mapping whose two ends can be given back
// to the kernel (munmap) while the middle is still in use.
class MappedRun {
 public:
  explicit MappedRun(size_t capacity);
  ~MappedRun();
  MappedRun(MappedRun&& o) noexcept;
  MappedRun& operator=(MappedRun&&) = delete;
  MappedRun(const MappedRun&) = delete;
  MappedRun& operator=(const MappedRun&) = delete;

  bool full() const { return size_ == capacity_; }
  size_t size() const { return size_; }
  void push_back(Ipv6Addr a) { base_[size_++] = a; }
  Ipv6Addr* begin() { return base_; }
  Ipv6Addr* end() { return base_ + size_; }
  const Ipv6Addr& operator[](size_t i) const { return base_[i]; }
  // Keeps the first n addresses and unmaps the whole pages after them.
  void truncate(size_t n);
  // Unmaps the whole pages before address n (they will not be read again).
  void release_front(size_t n);

 private:
  Ipv6Addr* base_ = nullptr;
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t mapped_begin_ = 0;  // bytes: [mapped_begin_, mapped_end_) is still mapped
  size_t mapped_end_ = 0;
};

class DistinctCollector {
 public:
  static constexpr size_t kRunSize = size_t{1} << 20;
  explicit DistinctCollector(size_t run_size = kRunSize) : run_size_(run_size) {}

  void add(Ipv6Addr a) {
    if (!current_ || current_->full()) seal_and_start();
    current_->push_back(a);
    ++added_;
  }
  uint64_t added() const { return added_; }
  // Every address added, ascending, each once. The collector is empty afterwards.
  std::vector<Ipv6Addr> finish();

 private:
  void seal_and_start();
  static void seal(MappedRun& run);

  size_t run_size_;
  std::optional<MappedRun> current_;  // the run being filled
  std::vector<MappedRun> runs_;       // sealed runs: sorted, distinct
  uint64_t added_ = 0;
};

}  // namespace dpscan
