#include "main_loop.hpp"

#include <algorithm>
#include <thread>

#include "dpscan/log.hpp"

namespace dpscan {
namespace {

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

MainLoop::MainLoop(const ScanPlan& plan, const RunState& state, Sender& sender, Outputs& out,
                   const std::atomic<int>& interrupts, LoopConfig config)
    : plan_(plan),
      state_(state),
      sender_(sender),
      out_(out),
      interrupts_(interrupts),
      config_(config),
      history_(seconds(config.cooldown_s), std::chrono::milliseconds(50)) {}

void MainLoop::sample_progress() {
  if (!wants_checkpoints() || config_.cooldown_s <= 0) return;
  if (!history_.wants(Clock::now())) return;  // reading the positions allocates: not every poll
  SendProgress p = sender_.progress();        // the positions first, then the clock
  history_.record(Clock::now(), std::move(p));
}

// What the checkpoint claims must be safe first: every result so far is in the sinks, and
// the positions are those of one cooldown ago (progress_history.hpp), or the final ones once
// the whole cooldown has been waited for. While the run goes on, the checkpoint waits (as
// pending_) until the sinks have stored what was written before it, so that a sink that
// stores in the background (JetStream) never holds up the main lcore; an older pending one is
// kept rather than replaced, so that a slow sink still lets checkpoints through.
void MainLoop::checkpoint(bool waited, bool blocking) {
  if (!wants_checkpoints()) return;
  // No cooldown (a dry run): nothing can arrive late, the positions are final at once.
  const bool now_final = waited || config_.cooldown_s <= 0;
  const auto take = [&] {
    const SendProgress p = now_final ? sender_.progress() : history_.settled(Clock::now());
    return state_.checkpoint(p.positions, p.sent);
  };
  if (blocking) {
    out_.flush();  // gives up after a second Ctrl-C
    const std::vector<uint64_t> tickets = out_.mark();
    if (out_.settled(tickets)) {
      pending_.reset();
      store(take());
      return;
    }
    // Not everything is stored (a second Ctrl-C gave up waiting for the stream): a checkpoint
    // taken now would claim results that are only in memory or in this machine's spool. The
    // last settled one stays.
    if (pending_ && out_.settled(pending_->tickets)) store(pending_->checkpoint);
    pending_.reset();
    log::warn(
        "the checkpoint stays at the last one whose results were stored: what was sent "
        "after it is sent again on --resume or by the worker that continues the shard");
    return;
  }
  if (!pending_) pending_ = Pending{take(), out_.mark()};
  store_settled();
}

void MainLoop::store_settled() {
  if (!pending_ || !out_.settled(pending_->tickets)) return;
  store(pending_->checkpoint);
  pending_.reset();
}

void MainLoop::store(const Checkpoint& c) {
  if (!plan_.checkpoint_path.empty()) write_checkpoint(plan_.checkpoint_path, c);
  if (config_.lease) config_.lease->checkpoint(c);
}

void MainLoop::print_status(Clock::time_point now, std::optional<Clock::time_point> cooldown_end,
                            bool final) {
  if (!config_.status) return;
  StatusSample sample;
  sample.counters = sender_.counters();
  const uint64_t sent = sample.counters.get(TxCounter::kSent);
  const double dt = std::chrono::duration<double>(now - last_time_).count();
  sample.elapsed_s = std::chrono::duration<double>(now - begin_).count();
  // Done is 100%, whatever the estimate was.
  sample.planned = sender_.sending_done() ? sent : sender_.planned();
  sample.rate_pps = dt > 0 ? static_cast<double>(sent - last_sent_) / dt : 0;
  sample.cooldown = cooldown_end.has_value();
  if (cooldown_end && !final)
    sample.cooldown_left_s = std::chrono::duration<double>(*cooldown_end - now).count();
  sample.final = final;
  last_rate_ = sample.rate_pps;
  config_.status->print(sample);
  last_sent_ = sent;
  last_time_ = now;
}

void MainLoop::publish_metrics(Clock::time_point now, double rate_pps) {
  if (config_.lease) {
    const CounterValues c = sender_.counters();
    LeaseProgress p;
    // The shard's progress, including what a run before a takeover or resume sent.
    uint64_t before = 0;
    for (uint64_t s : state_.start_sent) before += s;
    p.sent = before + c.get(TxCounter::kSent);
    p.planned = sender_.sending_done() ? p.sent : std::max(p.sent, before + sender_.planned());
    for (size_t i = 0; i < kStatusCount; ++i) p.results += c.get(static_cast<Status>(i));
    p.rate_pps = rate_pps;
    config_.lease->progress(p);
  }
  if (!config_.metrics) return;
  MetricGauges g;
  g.planned = sender_.planned();
  g.send_rate_pps = rate_pps;
  g.elapsed_s = std::chrono::duration<double>(now - begin_).count();
  g.sending_done = sender_.sending_done();
  g.metrics_refused = config_.metrics->refused();
  g.metrics_timed_out = config_.metrics->timed_out();
  config_.metrics->publish(
      prometheus_text(sender_.counters(), sender_.lcore_counters(),
                      MetricLabels{plan_.name, plan_.shard_index, plan_.shard_count}, g));
}

bool MainLoop::run() {
  sample_progress();  // the start positions (a fresh scan's or the resumed ones)
  sender_.launch();
  begin_ = last_time_ = Clock::now();  // the clock of the status and --max-runtime
  publish_metrics(begin_, 0);
  auto next_status = begin_ + std::chrono::seconds(1);
  auto next_checkpoint = begin_ + seconds(plan_.checkpoint_interval_s);
  std::optional<Clock::time_point> cooldown_end;
  bool interrupted = false;
  bool cooldown_done = false;  // not after a second Ctrl-C
  for (;;) {
    const bool busy = sender_.poll(out_);
    sample_progress();
    const int irq = interrupts_.load();
    const auto now = Clock::now();
    if (irq >= 1 && !interrupted) {
      interrupted = true;
      sender_.stop_sending();
    }
    if (plan_.max_runtime_s > 0 && now - begin_ >= seconds(plan_.max_runtime_s))
      sender_.stop_sending();
    if (config_.lease && config_.lease->lost() && !interrupted) {
      interrupted = true;  // another worker has the shard: stop, keep the answers in flight
      sender_.stop_sending();
    }
    if (irq >= 2) break;
    if (!cooldown_end && sender_.sending_done()) {
      cooldown_end = now + seconds(config_.cooldown_s);
      checkpoint(false, false);  // the final positions only after the cooldown
      if (interrupted && config_.cooldown_s > 0) {
        log::info(
            "interrupted: sending stopped; waiting {} s for answers (Ctrl-C again to quit now)",
            config_.cooldown_s);
      }
    }
    if (cooldown_end && now >= *cooldown_end) {
      cooldown_done = true;
      break;
    }
    if (now >= next_checkpoint) {  // in the cooldown too: the settled positions move on
      checkpoint(false, false);
      next_checkpoint = now + seconds(plan_.checkpoint_interval_s);
    }
    store_settled();
    if (now >= next_status) {
      out_.hand_over_all();  // a batch leaves within a second, however slow the results
      print_status(now, cooldown_end, false);
      publish_metrics(now, last_rate_);
      next_status += std::chrono::seconds(1);
      if (next_status < now) next_status = now + std::chrono::seconds(1);
    }
    if (!busy) std::this_thread::sleep_for(config_.tick);
  }
  if (config_.status) config_.status->finish();
  sender_.stop(out_);
  checkpoint(cooldown_done, true);
  print_status(Clock::now(), cooldown_end, true);
  publish_metrics(Clock::now(), last_rate_);
  if (config_.status) config_.status->finish();
  return interrupted;
}

}  // namespace dpscan
