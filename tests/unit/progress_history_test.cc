// The checkpoint's positions (engine/progress_history.hpp) against a brute-force record of
// when each probe was sent: a checkpoint never claims a probe sent less than one cooldown
// ago, and is no staler than the sampling interval allows.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/progress_history.hpp"

using namespace dpscan;

namespace {

struct FakeClock {
  using duration = std::chrono::microseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<FakeClock>;
};

FakeClock::time_point at(int64_t us) {
  return FakeClock::time_point(std::chrono::microseconds(us));
}

}  // namespace

TEST_CASE("progress history: the start positions until one lag has passed") {
  ProgressHistory<FakeClock, uint64_t> h(std::chrono::microseconds(1000),
                                         std::chrono::microseconds(50));
  h.record(at(0), 7);  // resumed at 7
  h.record(at(100), 20);
  h.record(at(900), 90);
  CHECK(h.settled(at(500)) == 7);
  CHECK(h.settled(at(1099)) == 7);
  CHECK(h.settled(at(1100)) == 20);
  CHECK(h.settled(at(1900)) == 90);
  CHECK(h.size() == 1);  // older samples forgotten
}

TEST_CASE("progress history: samples closer than `every` are not kept") {
  ProgressHistory<FakeClock, uint64_t> h(std::chrono::microseconds(0),
                                         std::chrono::microseconds(50));
  h.record(at(0), 1);
  h.record(at(10), 2);
  h.record(at(49), 3);
  h.record(at(50), 4);
  CHECK(h.size() == 2);
  CHECK(h.settled(at(60)) == 4);
}

TEST_CASE("progress history: never a probe younger than the lag, never staler than needed") {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t lag = 200 + static_cast<int64_t>(rng() % 5000);
    const int64_t every = 1 + static_cast<int64_t>(rng() % 300);
    ProgressHistory<FakeClock, uint64_t> h{std::chrono::microseconds(lag),
                                           std::chrono::microseconds(every)};
    // The sender: bursts at uneven times; sent_at[i] is when probe i left.
    std::vector<int64_t> sent_at;
    std::vector<std::pair<int64_t, uint64_t>> polls;  // (time, position) at every main-loop poll
    int64_t now = 0;
    const uint64_t start = rng() % 1000;  // a resumed scan starts past 0
    sent_at.assign(start, -1);            // sent by an earlier run
    h.record(at(now), start);
    polls.emplace_back(now, start);
    while (now < 40000) {
      now += 1 + static_cast<int64_t>(rng() % 120);
      const unsigned burst = rng() % 3 == 0 ? 0 : static_cast<unsigned>(rng() % 64);
      for (unsigned i = 0; i < burst; ++i) sent_at.push_back(now);
      const uint64_t pos = sent_at.size();
      h.record(at(now), pos);  // positions read, then the clock: both `now` here
      polls.emplace_back(now, pos);
      if (rng() % 7 == 0) {
        const uint64_t p = h.settled(at(now));
        // Safe: every probe before p left at least one lag ago (or in an earlier run).
        REQUIRE(p >= start);
        REQUIRE(p <= sent_at.size());
        if (p > start) REQUIRE(sent_at[p - 1] <= now - lag);
        // Fresh enough: a sample is kept at least every `every` plus one poll gap (120), so
        // p is at least the position of any poll that old beyond the lag.
        uint64_t floor = start;
        for (const auto& [t, q] : polls)
          if (t <= now - lag - every - 120) floor = q;
        REQUIRE(p >= floor);
      }
    }
  }
}
