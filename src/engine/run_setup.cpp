#include "run_setup.hpp"

#include <chrono>

namespace dpscan {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RunSetup::RunSetup(const ScanPlan& plan)
    : space(plan.addresses, plan.ports),
      state(prepare_run(plan, space)),
      order(space, plan.retries, state.seed, {plan.shard_index, plan.shard_count}, plan.tx_lcores) {
}

RunSummary RunSetup::summary_start(const ScanPlan& plan) const {
  RunSummary sum;
  sum.start_time = unix_now();
  sum.rate_asked = plan.rate_pps;
  sum.seed = state.seed;
  sum.addresses = space.addresses();
  sum.ports = space.ports().size();
  sum.probes = order.probes();
  sum.dry_run = plan.dry_run;
  return sum;
}

}  // namespace dpscan
