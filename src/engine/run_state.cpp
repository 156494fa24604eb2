#include "run_state.hpp"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/rng.hpp"

namespace dpscan {

RunState start_run(const ScanPlan& plan, std::optional<Checkpoint>& resumed) {
  RunState st;
  const uint32_t lcores = plan.tx_lcores;
  st.start_position.assign(lcores, 0);
  st.start_sent.assign(lcores, 0);
  if (plan.resume_path.empty()) {
    st.seed = plan.seed_given ? plan.seed : random_seed();
    st.key = {random_seed(), random_seed()};
    st.cookie = plan.cookie_algo;
    return st;
  }
  const Checkpoint c = plan.resume_text.empty()
                           ? read_checkpoint(plan.resume_path)
                           : parse_checkpoint(plan.resume_text, plan.resume_path);
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
  resumed = c;
  return st;
}

void bind_run(RunState& st, const ScanPlan& plan, const std::optional<Checkpoint>& resumed,
              uint64_t targets_identity, uint64_t targets) {
  st.plan_hash = plan_identity(plan, targets_identity, st.seed, st.key);
  if (resumed) {
    if (st.plan_hash != resumed->plan_hash || resumed->positions.size() != plan.tx_lcores) {
      throw UsageError(
          fmt::format("checkpoint '{}' belongs to another scan: targets, ports, probe module, "
                      "shard, --tx-lcores or --retries differ",
                      plan.resume_path));
    }
    st.start_position = resumed->positions;
    st.start_sent = resumed->sent;
    st.resumed = true;
  }
  // --max-targets caps this process's targets (with --shard, each shard's); a percentage is
  // of the shard's share of the space. Probes sent before a --resume count against it.
  std::optional<uint64_t> cap = plan.max_targets;
  if (plan.max_targets_percent) {
    // A space near 2^64 rounds up to 2^64 as a double, which no uint64_t holds.
    const double c = std::floor(static_cast<double>(targets) * *plan.max_targets_percent / 100.0 /
                                plan.shard_count);
    cap = c >= 0x1p64 ? targets : static_cast<uint64_t>(c);
  }
  if (cap) {
    uint64_t done = 0;
    for (uint64_t s : st.start_sent) done += s;
    st.budget = *cap > done ? *cap - done : 0;
  }
}

}  // namespace dpscan
