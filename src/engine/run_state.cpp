#include "run_state.hpp"

#include <cmath>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/rng.hpp"

namespace dpscan {

RunState prepare_run(const ScanPlan& plan, const TargetSpace& space) {
  RunState st;
  const uint32_t lcores = plan.tx_lcores;
  st.start_position.assign(lcores, 0);
  st.start_sent.assign(lcores, 0);
  if (!plan.resume_path.empty()) {
    const Checkpoint c = read_checkpoint(plan.resume_path);
    if (plan.seed_given && plan.seed != c.seed) {
      throw UsageError(fmt::format("checkpoint '{}' was written by a scan with seed {}, not {}",
                                   plan.resume_path, c.seed, plan.seed));
    }
    st.seed = c.seed;
    st.key = c.key;
    st.cookie = c.cookie;
    if (st.cookie == CookieAlgo::kAes && !cpu_has_aes()) {
      throw UsageError(fmt::format("checkpoint '{}' uses AES cookies, and this CPU has no AES-NI",
                                   plan.resume_path));
    }
    st.plan_hash = plan_identity(plan, st.seed, st.key);
    if (st.plan_hash != c.plan_hash || c.positions.size() != lcores) {
      throw UsageError(
          fmt::format("checkpoint '{}' belongs to another scan: targets, ports, shard, --tx-lcores "
                      "or --retries differ",
                      plan.resume_path));
    }
    st.start_position = c.positions;
    st.start_sent = c.sent;
    st.resumed = true;
  } else {
    st.seed = plan.seed_given ? plan.seed : random_seed();
    st.key = {random_seed(), random_seed()};
    st.cookie = plan.cookie_algo;
    st.plan_hash = plan_identity(plan, st.seed, st.key);
  }

  uint64_t max_probes = std::numeric_limits<uint64_t>::max();
  const uint64_t copies = uint64_t{plan.retries} + 1;
  if (plan.max_targets) max_probes = *plan.max_targets * copies;
  if (plan.max_targets_percent) {
    const auto targets = static_cast<uint64_t>(
        std::floor(static_cast<double>(space.size()) * *plan.max_targets_percent / 100.0));
    max_probes = targets * copies;
  }
  for (uint32_t t = 0; t < lcores; ++t) {
    st.cap.push_back(max_probes == std::numeric_limits<uint64_t>::max()
                         ? max_probes
                         : lcore_share(max_probes, t, lcores));
  }
  return st;
}

}  // namespace dpscan
