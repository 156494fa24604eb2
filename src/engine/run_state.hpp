// What the dry run and the scan share before their first probe: the seed and cookie key
// (fresh, or from --resume after checking that the checkpoint belongs to this plan), each
// local lcore's starting position, and what is left of --max-targets.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "dpscan/checkpoint.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/scan_order.hpp"
#include "engine/budget.hpp"

namespace dpscan {

struct RunState {
  uint64_t seed = 0;
  SipKey key{};
  CookieAlgo cookie = CookieAlgo::kSipHash;
  uint64_t plan_hash = 0;
  bool resumed = false;
  std::vector<uint64_t> start_position;  // per local TX lcore
  std::vector<uint64_t> start_sent;
  uint64_t budget = TargetBudget::kUnlimited;  // --max-targets left for this run

  Checkpoint checkpoint(const std::vector<uint64_t>& positions,
                        const std::vector<uint64_t>& sent) const {
    return Checkpoint{plan_hash, seed, key, cookie, positions, sent};
  }
};

// Throws UsageError for a checkpoint of another plan.
RunState prepare_run(const ScanPlan& plan, const TargetSpace& space);

}  // namespace dpscan
