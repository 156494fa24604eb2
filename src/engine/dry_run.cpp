// --dry-run: the same set-up, order, limits, checkpoints and main loop as a scan, with a
// sender that writes each probe as an output record instead of a packet.
#include <optional>

#include "dpscan/log.hpp"
#include "engine.hpp"
#include "main_loop.hpp"
#include "run_setup.hpp"

namespace dpscan {
namespace {

template <typename F>
class DryRunSender final : public Sender {
 public:
  // Probes written per poll: the main loop checks interrupts, --max-runtime and the
  // checkpoint time between polls.
  static constexpr unsigned kChunk = 4096;

  DryRunSender(const RunSetup<F>& run, const ScanPlan& plan)
      : run_(run),
        position_(run.state.start_position),
        sent_(run.state.start_sent),
        budget_(run.state.budget),
        lcores_(plan.tx_lcores) {}

  void launch() override {
    if (lcore_ < lcores_) walk_.emplace(run_.order.walk(lcore_)), walk_->seek(position_[lcore_]);
  }
  bool poll(Outputs& out) override {
    for (unsigned n = 0; n < kChunk && !done_;) {
      uint64_t index;
      if (budget_ != 0 && walk_->next(index)) {
        if (budget_ != TargetBudget::kUnlimited) --budget_;
        const auto t = run_.space.at(run_.order.target_index(index));
        out.probe(ProbeRecord{t.ip, t.port, t.slot});
        ++sent_[lcore_];
        ++written_;
        ++n;
        continue;
      }
      // This lcore's part is done (or the budget spent): the next one's.
      position_[lcore_] = walk_->position();
      walk_.reset();
      if (budget_ == 0 || ++lcore_ == lcores_) {
        done_ = true;
        break;
      }
      launch();
    }
    if (walk_) position_[lcore_] = walk_->position();
    return !done_;
  }
  bool sending_done() const override { return done_; }
  void stop_sending() override {
    if (walk_) position_[lcore_] = walk_->position();
    walk_.reset();
    done_ = true;
  }
  void stop(Outputs&) override { stop_sending(); }
  SendProgress progress() const override { return {position_, sent_}; }
  CounterValues counters() const override {
    CounterValues c;
    c.add(CounterHome::kTx, static_cast<size_t>(TxCounter::kSent), written_);
    return c;
  }
  uint64_t planned() const override { return run_.order.probes(); }

 private:
  const RunSetup<F>& run_;
  std::vector<uint64_t> position_;
  std::vector<uint64_t> sent_;
  uint64_t budget_;
  uint32_t lcores_;
  uint32_t lcore_ = 0;
  std::optional<CyclicWalk> walk_;
  uint64_t written_ = 0;
  bool done_ = false;
};

template <typename F>
RunSummary run_dry_run_with(const ScanPlan& plan, Outputs& out, const std::atomic<int>& interrupts,
                            RunLease* lease, MetricsServer* metrics) {
  const RunSetup<F> run(plan);
  RunSummary sum = run.summary_start(plan);
  out.begin();
  log::info(
      "dry run: {} addresses x {} = {} targets, {} probes{}{}", run.space.addresses(),
      run.ports_text(), run.space.size(), run.order.probes(), run.state.resumed ? " (resumed)" : "",
      plan.shard_count > 1 ? fmt::format(", shard {}/{}", plan.shard_index + 1, plan.shard_count)
                           : "");
  DryRunSender<F> sender(run, plan);
  const double t0 = unix_now();
  LoopConfig config;
  config.metrics = metrics;  // the dry run's counters (probes written) too
  config.lease = lease;
  MainLoop loop(plan, run.state, sender, out, interrupts, config);
  sum.interrupted = loop.run();
  sum.counters = sender.counters();
  sum.send_duration_s = unix_now() - t0;
  sum.end_time = unix_now();
  return sum;
}

}  // namespace

RunSummary run_dry_run(const ScanPlan& plan, Outputs& out, const std::atomic<int>& interrupts,
                       RunLease* lease, MetricsServer* metrics) {
  return plan.family == Family::kIpv6
             ? run_dry_run_with<Ipv6>(plan, out, interrupts, lease, metrics)
             : run_dry_run_with<Ipv4>(plan, out, interrupts, lease, metrics);
}

}  // namespace dpscan
