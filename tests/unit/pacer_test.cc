// The TX pacing against a simulated clock (1 tick = 1 ns): steady rates, catch-up after a
// stall at no more than twice the rate, long lags forgiven and counted once.
#include <doctest/doctest.h>

#include <vector>

#include "engine/pacer.hpp"

using namespace dpscan;

namespace {

constexpr uint64_t kHz = 1'000'000'000;

// Polls every `step` ns from 0 to `until`, sending what the pacer allows (the device takes at
// most `device_max` per poll) except while the lcore is stalled in [stall_from, stall_to).
// Returns the send times (one entry per probe).
struct Run {
  std::vector<uint64_t> times;
  unsigned stalls = 0;
};
Run simulate(double rate, uint64_t until, uint64_t step, uint64_t stall_from = 0,
             uint64_t stall_to = 0, unsigned device_max = 64) {
  Pacer p(rate, kHz, 0);
  Run r;
  for (uint64_t now = 0; now < until; now += step) {
    if (now >= stall_from && now < stall_to) continue;
    bool stall = false;
    const unsigned n = p.allowed(now, r.times.size(), device_max, stall);
    r.stalls += stall ? 1 : 0;
    p.spent(n);
    for (unsigned i = 0; i < n; ++i) r.times.push_back(now);
  }
  return r;
}

uint64_t min_gap(const std::vector<uint64_t>& t) {
  uint64_t g = ~uint64_t{0};
  for (size_t i = 1; i < t.size(); ++i) g = std::min(g, t[i] - t[i - 1]);
  return g;
}

}  // namespace

TEST_CASE("unpaced: everything asked for") {
  Pacer p(0, kHz, 0);
  bool stall = true;
  CHECK_FALSE(p.paced());
  CHECK(p.allowed(123, 0, 64, stall) == 64);
  CHECK_FALSE(stall);
}

TEST_CASE("steady rates: exact counts, one probe at a time at low rates") {
  const Run slow = simulate(1000, 2 * kHz, 10'000);  // polled every 10 us
  CHECK(slow.times.size() >= 1999);
  CHECK(slow.times.size() <= 2001);
  CHECK(min_gap(slow.times) >= 990'000);  // 1 ms apart, less one poll interval
  CHECK(slow.stalls == 0);
  const Run fast = simulate(10e6, kHz / 10, 1'000);  // 10 Mpps, polled every 1 us
  CHECK(fast.times.size() >= 1'000'000 - 64);
  CHECK(fast.times.size() <= 1'000'000 + 1);
}

TEST_CASE("after a short stall the lag is caught up at no more than twice the rate") {
  // 1 kpps, the lcore away from 500 ms to 510 ms: 10 probes behind.
  const Run r = simulate(1000, 2 * kHz, 10'000, kHz / 2, kHz / 2 + 10'000'000);
  CHECK(r.stalls == 0);
  CHECK(min_gap(r.times) >= 490'000);  // half the interval, less one poll
  CHECK(r.times.size() >= 1999);       // and the total is the schedule's again
  CHECK(r.times.size() <= 2001);
  // At most twice the rate in any 10 ms: 20 probes (+1 at the window's edge).
  size_t j = 0, most = 0;
  for (size_t i = 0; i < r.times.size(); ++i) {
    while (r.times[i] - r.times[j] >= 10'000'000) ++j;
    most = std::max(most, i - j + 1);
  }
  CHECK(most <= 21);
}

TEST_CASE("a lag beyond 0.1 s is forgiven, and counted once") {
  // 1 kpps, away for one second: about 100 probes (0.1 s) caught up, the other ~900 forgiven.
  const Run r = simulate(1000, 3 * kHz, 10'000, kHz, 2 * kHz);
  CHECK(r.stalls == 1);
  CHECK(r.times.size() >= 2095);
  CHECK(r.times.size() <= 2105);
  CHECK(min_gap(r.times) >= 490'000);
  // A device slower than the asked rate keeps the lag at its limit: still one stall.
  const Run slow = simulate(1e6, kHz, 2'000, 0, 0, 1);  // 1 probe per 2 us poll: 0.5 Mpps
  CHECK(slow.stalls == 1);
}
