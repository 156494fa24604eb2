// The main lcore's loop, the same for a scan and a dry run (docs/architecture.md, "A scan in
// named steps"): it moves the sender along, decides when sending stops (all probes sent,
// Ctrl-C, --max-runtime) and when the run ends (after the cooldown; a second Ctrl-C at
// once), writes checkpoints, and prints the status once a second. What sends is a Sender:
// the DPDK lcores of a scan (scan.cpp), or the dry run's probe writer (dry_run.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "dpscan/counters.hpp"
#include "dpscan/metrics.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "lease.hpp"
#include "progress_history.hpp"
#include "run_state.hpp"
#include "status.hpp"

namespace dpscan {

// Where each local TX lcore's walk stands, for a checkpoint.
struct SendProgress {
  std::vector<uint64_t> positions;  // walk positions
  std::vector<uint64_t> sent;       // probes sent in total (including before a --resume)
};

class Sender {
 public:
  virtual ~Sender() = default;
  virtual void launch() = 0;
  // Moves the work along: hands results to the outputs (a scan), or writes the next probes
  // (a dry run). Returns false when there is nothing to do until the next tick.
  virtual bool poll(Outputs& out) = 0;
  virtual bool sending_done() const = 0;  // every probe of this run has been sent
  virtual void stop_sending() = 0;        // Ctrl-C, --max-runtime: send no more probes
  virtual void stop(Outputs& out) = 0;    // the end: stop the workers, hand over the rest
  virtual SendProgress progress() const = 0;
  virtual CounterValues counters() const = 0;
  // Each lcore's share, for the metrics' lcore label (none: the totals only).
  virtual std::vector<LcoreCounters> lcore_counters() const { return {}; }
  virtual uint64_t planned() const = 0;  // probes this run will send at most
};

struct LoopConfig {
  double cooldown_s = 0;
  std::chrono::steady_clock::duration tick{};  // sleep between polls when idle
  StatusPrinter* status = nullptr;             // none: no status line (dry run)
  MetricsServer* metrics = nullptr;            // --metrics-listen: published once a second
  RunLease* lease = nullptr;                   // a cluster worker's shard (checkpoints, progress)
};

class MainLoop {
 public:
  MainLoop(const ScanPlan& plan, const RunState& state, Sender& sender, Outputs& out,
           const std::atomic<int>& interrupts, LoopConfig config);
  // Runs until the end of the cooldown (or a second interrupt), stops the sender and writes
  // the last checkpoint. Returns whether the run was interrupted.
  bool run();

 private:
  using Clock = std::chrono::steady_clock;
  void sample_progress();
  // waited: the whole cooldown is over, nothing is in flight; blocking: at the end, wait for
  // the sinks (otherwise the checkpoint is stored once they have settled: store_settled()).
  void checkpoint(bool waited, bool blocking);
  void store_settled();
  void store(const Checkpoint& c);
  bool wants_checkpoints() const { return !plan_.checkpoint_path.empty() || config_.lease; }
  void print_status(Clock::time_point now, std::optional<Clock::time_point> cooldown_end,
                    bool final);
  void publish_metrics(Clock::time_point now, double rate_pps);

  const ScanPlan& plan_;
  const RunState& state_;
  Sender& sender_;
  Outputs& out_;
  const std::atomic<int>& interrupts_;
  LoopConfig config_;
  Clock::time_point begin_;
  Clock::time_point last_time_;
  double last_rate_ = 0;
  uint64_t last_sent_ = 0;
  ProgressHistory<Clock, SendProgress> history_;
  struct Pending {
    Checkpoint checkpoint;
    std::vector<uint64_t> tickets;  // Outputs::mark() when it was taken
  };
  std::optional<Pending> pending_;
};

}  // namespace dpscan
