// Where the send positions stood a while ago, for checkpoints (docs/design.md, "Checkpoints").
//
// A checkpoint must not claim a probe whose answer may still be on its way: if the process
// dies after writing it, a resume would skip that probe and its answer would be lost (a crash
// test lost 1 of 98,304 open pairs that way). So a checkpoint holds the positions of at least
// one cooldown (`lag`) earlier, and every result received up to the moment it is written is
// flushed first: each probe before those positions was sent at least `lag` ago, so its
// answers, if any, have arrived. A resume sends the last window again; answers seen by both
// runs are in both runs' results (each run reports a pair once).
//
// The main loop records a sample at most every `every` (positions read first, then the
// clock, so a sample's time is never earlier than the positions it holds).
#pragma once

#include <deque>
#include <utility>

namespace dpscan {

template <class Clock, class Progress>
class ProgressHistory {
 public:
  using TimePoint = typename Clock::time_point;
  using Duration = typename Clock::duration;

  ProgressHistory(Duration lag, Duration every) : lag_(lag), every_(every) {}

  // Whether a sample at `t` would be kept: the first one, then one per `every`.
  bool wants(TimePoint t) const { return samples_.empty() || t - samples_.back().first >= every_; }

  // Keeps `p` as the positions at time `t` (t never decreases) if wants(t).
  void record(TimePoint t, Progress p) {
    if (wants(t)) samples_.emplace_back(t, std::move(p));
  }

  // The newest sample at least `lag` old at `now` (the oldest sample if none is yet: the
  // start positions). Older samples are forgotten. Needs one sample.
  const Progress& settled(TimePoint now) {
    while (samples_.size() > 1 && now - samples_[1].first >= lag_) samples_.pop_front();
    return samples_.front().second;
  }

  size_t size() const { return samples_.size(); }

 private:
  Duration lag_;
  Duration every_;
  std::deque<std::pair<TimePoint, Progress>> samples_;
};

}  // namespace dpscan
