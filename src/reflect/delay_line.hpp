// Answers waiting for their time to leave: a timing wheel on the TSC. The wheel has 2^16
// slots of one tick each (the reflector uses a millisecond: a 65 s horizon, longer than any
// round trip or SYN-ACK retransmission it schedules); an entry due beyond the horizon goes
// round again. Entries live in a pool allocated once (no allocation per packet), linked in
// per-slot FIFO lists, so answers due in the same millisecond leave in the order they were
// scheduled and the wheel costs O(1) per entry. Pure arithmetic on TSC values: the unit
// tests drive it with a simulated clock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dpscan::reflect {

template <typename T>
class DelayLine {
 public:
  static constexpr uint32_t kSlots = 1u << 16;
  static constexpr uint32_t kNone = ~uint32_t{0};

  // capacity: entries at most; tick: TSC ticks per slot; now: the clock at the start.
  DelayLine(size_t capacity, uint64_t tick, uint64_t now)
      : items_(capacity),
        next_(capacity),
        due_(capacity),
        head_(kSlots, kNone),
        tail_(kSlots, kNone),
        tick_(tick),
        cursor_(now / tick) {
    for (size_t i = 0; i < capacity; ++i)
      next_[i] = i + 1 < capacity ? static_cast<uint32_t>(i + 1) : kNone;
    free_ = capacity ? 0 : kNone;
  }

  size_t size() const { return size_; }
  size_t capacity() const { return items_.size(); }

  // Schedules `item` for `due` (a due time in the past leaves at the next pop). Returns false
  // when the line is full (the caller counts it).
  bool push(uint64_t due, const T& item) {
    if (free_ == kNone) return false;
    const uint32_t i = free_;
    free_ = next_[i];
    items_[i] = item;
    due_[i] = due;
    link(i, std::max(due / tick_, cursor_));
    ++size_;
    return true;
  }

  // Hands every entry due by `now` to f(const T&), at most `max` of them; returns how many.
  // Entries a full pop leaves behind are handed over by the next call.
  template <typename F>
  size_t pop_due(uint64_t now, size_t max, F&& f) {
    const uint64_t now_slot = now / tick_;
    size_t n = 0;
    while (n < max && cursor_ <= now_slot) {
      const uint32_t s = static_cast<uint32_t>(cursor_ & (kSlots - 1));
      uint32_t i = head_[s];
      if (i == kNone) {
        if (cursor_ == now_slot) break;  // the current slot may still receive entries
        ++cursor_;
        continue;
      }
      head_[s] = next_[i];
      if (head_[s] == kNone) tail_[s] = kNone;
      if (due_[i] / tick_ > cursor_) {
        link(i, due_[i] / tick_);  // due beyond the horizon: once more round the wheel
        continue;
      }
      f(static_cast<const T&>(items_[i]));
      next_[i] = free_;
      free_ = i;
      --size_;
      ++n;
    }
    return n;
  }

 private:
  void link(uint32_t i, uint64_t slot) {
    // Beyond the horizon: parked in the last slot it can reach, and looked at again there.
    if (slot >= cursor_ + kSlots) slot = cursor_ + kSlots - 1;
    const uint32_t s = static_cast<uint32_t>(slot & (kSlots - 1));
    next_[i] = kNone;
    if (tail_[s] == kNone)
      head_[s] = i;
    else
      next_[tail_[s]] = i;
    tail_[s] = i;
  }

  std::vector<T> items_;
  std::vector<uint32_t> next_;
  std::vector<uint64_t> due_;
  std::vector<uint32_t> head_;
  std::vector<uint32_t> tail_;
  uint64_t tick_;
  uint64_t cursor_;  // the slot number (not modulo) looked at next
  uint32_t free_ = kNone;
  size_t size_ = 0;
};

// Token buckets, one per router (ICMP errors, like Linux's icmp_msgs_per_sec and
// icmp_msgs_burst): `rate` tokens a second, `burst` at most. A direct-mapped table of 2^20
// buckets keyed by the router's network, allocated once; a network that takes over another's
// bucket starts with a full one (the reflector does not know the scan's size in advance).
class RateLimiter {
 public:
  RateLimiter(double rate, double burst, uint64_t tsc_hz)
      : per_tick_(rate / static_cast<double>(tsc_hz)),
        burst_(std::max(burst, 1.0)),
        slots_(rate > 0 ? kSize : 0) {}

  bool limited() const { return per_tick_ > 0; }

  // Whether the router of `net` may send one more error at `now` (takes its token).
  bool allow(uint32_t net, uint64_t now) {
    if (per_tick_ <= 0) return true;
    Slot& s = slots_[mix(net) & (kSize - 1)];
    if (!s.used || s.net != net) s = {net, true, burst_, now};
    s.tokens = std::min(burst_, s.tokens + static_cast<double>(now - s.last) * per_tick_);
    s.last = now;
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }

 private:
  static constexpr size_t kSize = size_t{1} << 20;
  struct Slot {
    uint32_t net = 0;
    bool used = false;
    double tokens = 0;
    uint64_t last = 0;
  };
  static uint32_t mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    return x;
  }
  double per_tick_;
  double burst_;
  std::vector<Slot> slots_;
};

}  // namespace dpscan::reflect
