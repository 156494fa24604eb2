#include <chrono>

#include "dpscan/cyclic.hpp"
#include "dpscan/target_space.hpp"
#include "engine.hpp"

namespace dpscan {

RunSummary run_dry_run(const ScanPlan& plan, uint64_t seed, ResultWriter& out,
                       const std::atomic<int>& interrupts) {
  using clock = std::chrono::system_clock;
  RunSummary sum;
  sum.dry_run = true;
  sum.seed = seed;
  sum.start_time = std::chrono::duration<double>(clock::now().time_since_epoch()).count();
  const TargetSpace space(plan.addresses, plan.ports);
  sum.addresses = space.addresses();
  sum.ports = space.ports().size();
  sum.probes = space.size();
  sum.rate_asked = plan.rate_pps;
  const CyclicGroup group = make_group(space.size(), seed);
  CyclicWalk walk(group, space.size(), 0, group.prime - 1);

  const auto t0 = std::chrono::steady_clock::now();
  uint64_t index;
  uint64_t n = 0;
  while (walk.next(index)) {
    const Target t = space.at(index);
    out.probe(t.ip, t.port);
    if ((++n & 0xffff) == 0 && interrupts.load(std::memory_order_relaxed)) {
      sum.interrupted = true;
      break;
    }
  }
  sum.sent = n;
  sum.send_duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.end_time = std::chrono::duration<double>(clock::now().time_since_epoch()).count();
  return sum;
}

}  // namespace dpscan
