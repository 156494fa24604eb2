// --dry-run: the same plan, order, limits and checkpoints as a scan, but each probe becomes an
// output record instead of a packet.
#include <chrono>

#include "dpscan/log.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/target_space.hpp"
#include "engine.hpp"
#include "run_state.hpp"

namespace dpscan {

RunSummary run_dry_run(const ScanPlan& plan, Outputs& out, const std::atomic<int>& interrupts) {
  using Clock = std::chrono::steady_clock;
  const auto unix_now = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  RunSummary sum;
  sum.dry_run = true;
  sum.start_time = unix_now();
  const TargetSpace space(plan.addresses, plan.ports);
  const RunState st = prepare_run(plan, space);
  const ScanOrder order(space, plan.retries, st.seed, {plan.shard_index, plan.shard_count},
                        plan.tx_lcores);
  sum.seed = st.seed;
  sum.addresses = space.addresses();
  sum.ports = space.ports().size();
  sum.probes = order.probes();
  sum.rate_asked = plan.rate_pps;
  out.begin();
  log::info("dry run: {} addresses x {} ports = {} targets, {} probes{}{}", space.addresses(),
            space.ports().size(), space.size(), order.probes(), st.resumed ? " (resumed)" : "",
            plan.shard_count > 1
                ? fmt::format(", shard {}/{}", plan.shard_index + 1, plan.shard_count)
                : "");

  std::vector<uint64_t> position = st.start_position;
  std::vector<uint64_t> sent = st.start_sent;
  const auto t0 = Clock::now();
  auto next_checkpoint = t0 + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(plan.checkpoint_interval_s));
  auto checkpoint = [&] {
    if (plan.checkpoint_path.empty()) return;
    out.flush();
    write_checkpoint(plan.checkpoint_path, st.checkpoint(position, sent));
  };
  uint64_t budget = st.budget;
  bool stop = false;
  for (uint32_t t = 0; t < plan.tx_lcores && !stop; ++t) {
    CyclicWalk walk = order.walk(t);
    walk.seek(position[t]);
    uint64_t index;
    while (budget != 0 && walk.next(index)) {
      if (budget != TargetBudget::kUnlimited) --budget;
      const Target target = order.target(index);
      out.probe(target.ip, target.port);
      ++sent[t];
      if ((sent[t] & 0xfff) == 0) {
        position[t] = walk.position();
        if (interrupts.load(std::memory_order_relaxed)) {
          sum.interrupted = true;
          stop = true;
          break;
        }
        const auto now = Clock::now();
        if (plan.max_runtime_s > 0 &&
            now - t0 >= std::chrono::duration<double>(plan.max_runtime_s)) {
          stop = true;
          break;
        }
        if (now >= next_checkpoint) {
          checkpoint();
          next_checkpoint = now + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(plan.checkpoint_interval_s));
        }
      }
    }
    position[t] = walk.position();
  }
  checkpoint();
  for (uint32_t t = 0; t < plan.tx_lcores; ++t) sum.sent += sent[t] - st.start_sent[t];
  sum.send_duration_s = std::chrono::duration<double>(Clock::now() - t0).count();
  sum.end_time = unix_now();
  return sum;
}

}  // namespace dpscan
