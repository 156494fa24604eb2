#include "main_loop.hpp"

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
  if (plan_.checkpoint_path.empty() || config_.cooldown_s <= 0) return;
  if (!history_.wants(Clock::now())) return;  // reading the positions allocates: not every poll
  SendProgress p = sender_.progress();        // the positions first, then the clock
  history_.record(Clock::now(), std::move(p));
}

// What the checkpoint claims must be safe first: every result so far is in the sinks, and
// the positions are those of one cooldown ago (progress_history.hpp), or the final ones once
// the whole cooldown has been waited for.
void MainLoop::checkpoint(bool waited) {
  if (plan_.checkpoint_path.empty()) return;
  out_.flush();
  // No cooldown (a dry run): nothing can arrive late, the positions are final at once.
  const bool now_final = waited || config_.cooldown_s <= 0;
  const SendProgress p = now_final ? sender_.progress() : history_.settled(Clock::now());
  write_checkpoint(plan_.checkpoint_path, state_.checkpoint(p.positions, p.sent));
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
  if (!config_.metrics) return;
  MetricGauges g;
  g.planned = sender_.planned();
  g.send_rate_pps = rate_pps;
  g.elapsed_s = std::chrono::duration<double>(now - begin_).count();
  g.sending_done = sender_.sending_done();
  config_.metrics->publish(prometheus_text(
      sender_.counters(), MetricLabels{plan_.name, plan_.shard_index, plan_.shard_count}, g));
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
    if (irq >= 2) break;
    if (!cooldown_end && sender_.sending_done()) {
      cooldown_end = now + seconds(config_.cooldown_s);
      checkpoint(false);  // the final positions only after the cooldown
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
      checkpoint(false);
      next_checkpoint = now + seconds(plan_.checkpoint_interval_s);
    }
    if (now >= next_status) {
      print_status(now, cooldown_end, false);
      publish_metrics(now, last_rate_);
      next_status += std::chrono::seconds(1);
      if (next_status < now) next_status = now + std::chrono::seconds(1);
    }
    if (!busy) std::this_thread::sleep_for(config_.tick);
  }
  if (config_.status) config_.status->finish();
  sender_.stop(out_);
  checkpoint(cooldown_done);
  print_status(Clock::now(), cooldown_end, true);
  publish_metrics(Clock::now(), last_rate_);
  if (config_.status) config_.status->finish();
  return interrupted;
}

}  // namespace dpscan
