// TSC pacing for one TX lcore (issue 5): how many probes may leave now, checked once per
// burst. The schedule is rate x elapsed time, so at low rates one probe is released at a time
// and the rate over any second is exact. After a stall (the CPU taken away, a slow device
// call) the lag is caught up at no more than twice the rate: a token bucket filled at 2x the
// rate, holding at least one probe, so the catch-up is not a burst above the rate. A lag
// beyond kMaxLagSeconds is forgiven instead of caught up, once counted as a stall.
// Pure arithmetic on TSC values, so tests/unit/pacer_test.cc drives it with a simulated clock.
#pragma once

#include <algorithm>
#include <cstdint>

namespace dpscan {

class Pacer {
 public:
  static constexpr double kMaxLagSeconds = 0.1;   // lag caught up at most (then forgiven)
  static constexpr double kTokenSeconds = 50e-6;  // the catch-up bucket's depth, at 2x the rate

  // rate_pps 0: unpaced (as fast as the device takes probes).
  Pacer(double rate_pps, uint64_t tsc_hz, uint64_t start_tsc)
      : per_tick_(rate_pps / static_cast<double>(tsc_hz)),
        start_(start_tsc),
        token_tsc_(start_tsc),
        max_lag_(std::max<uint64_t>(1, static_cast<uint64_t>(rate_pps * kMaxLagSeconds))),
        token_cap_(std::max(1.0, 2 * rate_pps * kTokenSeconds)),
        tokens_(token_cap_) {}

  bool paced() const { return per_tick_ > 0; }
  // Probe slots of the schedule forgiven so far (lags beyond kMaxLagSeconds): the scan sends
  // them later, so in a fixed time sent + forgiven is rate x time.
  uint64_t forgiven() const { return static_cast<uint64_t>(forgiven_); }

  // How many of `want` probes may be sent at `now`, `sent` having been sent since the start
  // (0: none yet). Sets `stall` when a new lag episode beyond kMaxLagSeconds began.
  unsigned allowed(uint64_t now, uint64_t sent, unsigned want, bool& stall) {
    stall = false;
    if (per_tick_ <= 0) return want;
    tokens_ = std::min(token_cap_, tokens_ + static_cast<double>(now - token_tsc_) * 2 * per_tick_);
    token_tsc_ = now;
    auto due = static_cast<uint64_t>(static_cast<double>(now - start_) * per_tick_ - forgiven_);
    const bool behind = due > sent && due - sent > max_lag_;
    if (behind) {
      stall = !lagging_;  // once per episode, not per burst
      forgiven_ += static_cast<double>(due - sent - max_lag_);
      due = sent + max_lag_;
    }
    lagging_ = behind;
    const auto tokens = static_cast<uint64_t>(tokens_);
    if (due <= sent || tokens == 0) return 0;
    return static_cast<unsigned>(std::min<uint64_t>({want, due - sent, tokens}));
  }

  // n probes were taken for sending (call after the buffers were obtained).
  void spent(unsigned n) {
    if (per_tick_ > 0) tokens_ -= n;
  }

 private:
  double per_tick_;
  uint64_t start_;
  uint64_t token_tsc_;
  uint64_t max_lag_;
  double token_cap_;
  double tokens_;
  double forgiven_ = 0;  // probes of lag not caught up
  bool lagging_ = false;
};

}  // namespace dpscan
