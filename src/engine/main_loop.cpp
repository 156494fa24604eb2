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
      config_(config) {}

// What the checkpoint claims must be safe first: every result so far is in the sinks.
void MainLoop::checkpoint() {
  if (plan_.checkpoint_path.empty()) return;
  out_.flush();
  const SendProgress p = sender_.progress();
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
  config_.status->print(sample);
  last_sent_ = sent;
  last_time_ = now;
}

bool MainLoop::run() {
  sender_.launch();
  begin_ = last_time_ = Clock::now();  // the clock of the status and --max-runtime
  auto next_status = begin_ + std::chrono::seconds(1);
  auto next_checkpoint = begin_ + seconds(plan_.checkpoint_interval_s);
  std::optional<Clock::time_point> cooldown_end;
  bool interrupted = false;
  for (;;) {
    const bool busy = sender_.poll(out_);
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
      checkpoint();  // sending is over: the final positions
      if (interrupted && config_.cooldown_s > 0) {
        log::info(
            "interrupted: sending stopped; waiting {} s for answers (Ctrl-C again to quit now)",
            config_.cooldown_s);
      }
    }
    if (cooldown_end && now >= *cooldown_end) break;
    if (!cooldown_end && now >= next_checkpoint) {
      checkpoint();
      next_checkpoint = now + seconds(plan_.checkpoint_interval_s);
    }
    if (now >= next_status) {
      print_status(now, cooldown_end, false);
      next_status += std::chrono::seconds(1);
      if (next_status < now) next_status = now + std::chrono::seconds(1);
    }
    if (!busy) std::this_thread::sleep_for(config_.tick);
  }
  if (config_.status) config_.status->finish();
  sender_.stop(out_);
  checkpoint();
  print_status(Clock::now(), cooldown_end, true);
  if (config_.status) config_.status->finish();
  return interrupted;
}

}  // namespace dpscan
