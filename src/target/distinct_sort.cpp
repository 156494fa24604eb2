#include "target/distinct_sort.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {
namespace {

size_t page_size() {
  static const auto size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}
size_t round_up(size_t bytes) {
  return (bytes + page_size() - 1) / page_size() * page_size();
}
size_t round_down(size_t bytes) {
  return bytes / page_size() * page_size();
}

// How often (in addresses) a run being merged gives back what the merge has read: 64 KiB.
constexpr size_t kReleaseStep = 4096;

}  // namespace

MappedRun::MappedRun(size_t capacity) : capacity_(capacity) {
  const size_t bytes = round_up(capacity * sizeof(Ipv6Addr));
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw RuntimeError(
        fmt::format("cannot map {} bytes for addresses: {}", bytes, std::strerror(errno)));
  }
  base_ = static_cast<Ipv6Addr*>(p);
  mapped_end_ = bytes;
}

MappedRun::~MappedRun() {
  if (mapped_end_ > mapped_begin_) {
    munmap(reinterpret_cast<char*>(base_) + mapped_begin_, mapped_end_ - mapped_begin_);
  }
}

MappedRun::MappedRun(MappedRun&& o) noexcept
    : base_(o.base_),
      capacity_(o.capacity_),
      size_(o.size_),
      mapped_begin_(o.mapped_begin_),
      mapped_end_(o.mapped_end_) {
  o.mapped_begin_ = o.mapped_end_ = 0;
  o.size_ = o.capacity_ = 0;
}

void MappedRun::truncate(size_t n) {
  size_ = capacity_ = n;
  const size_t end = std::max(round_up(n * sizeof(Ipv6Addr)), mapped_begin_);
  if (end < mapped_end_) {
    munmap(reinterpret_cast<char*>(base_) + end, mapped_end_ - end);
    mapped_end_ = end;
  }
}

void MappedRun::release_front(size_t n) {
  const size_t begin = std::min(round_down(n * sizeof(Ipv6Addr)), mapped_end_);
  if (begin > mapped_begin_) {
    munmap(reinterpret_cast<char*>(base_) + mapped_begin_, begin - mapped_begin_);
    mapped_begin_ = begin;
  }
}

void DistinctCollector::seal(MappedRun& run) {
  std::sort(run.begin(), run.end());
  run.truncate(static_cast<size_t>(std::unique(run.begin(), run.end()) - run.begin()));
}

void DistinctCollector::seal_and_start() {
  if (current_) {
    seal(*current_);
    runs_.push_back(std::move(*current_));
  }
  current_.emplace(run_size_);
}

std::vector<Ipv6Addr> DistinctCollector::finish() {
  if (current_) {
    seal(*current_);
    runs_.push_back(std::move(*current_));
    current_.reset();
  }
  size_t total = 0;
  for (const auto& r : runs_) total += r.size();
  std::vector<Ipv6Addr> out;
  out.reserve(total);  // resident only as written

  // A k-way merge over a binary min-heap of the runs' next addresses.
  struct Head {
    Ipv6Addr addr;
    size_t run;
  };
  std::vector<Head> heap;
  std::vector<size_t> pos(runs_.size(), 0);
  for (size_t r = 0; r < runs_.size(); ++r) {
    if (runs_[r].size()) heap.push_back({runs_[r][0], r});
  }
  const auto sift_down = [&heap] {
    const size_t n = heap.size();
    size_t i = 0;
    const Head h = heap[0];
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1].addr < heap[c].addr) ++c;
      if (!(heap[c].addr < h.addr)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = h;
  };
  std::make_heap(heap.begin(), heap.end(),
                 [](const Head& a, const Head& b) { return b.addr < a.addr; });
  while (!heap.empty()) {
    Head& top = heap[0];
    if (out.empty() || out.back() != top.addr) out.push_back(top.addr);
    MappedRun& run = runs_[top.run];
    const size_t p = ++pos[top.run];
    if (p == run.size()) {
      run.truncate(0);  // all of it read: give it back now
      top = heap.back();
      heap.pop_back();
      if (heap.empty()) break;
    } else {
      if (p % kReleaseStep == 0) run.release_front(p);
      top.addr = run[p];
    }
    sift_down();
  }
  runs_.clear();
  added_ = 0;
  return out;
}

}  // namespace dpscan
