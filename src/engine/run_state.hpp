// What the dry run and the scan share before their first probe: the seed and cookie key
// (fresh, or from --resume after checking that the checkpoint belongs to this plan), each
// local lcore's starting position, and what is left of --max-targets.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "dpscan/checkpoint.hpp"
#include "dpscan/plan.hpp"
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
  // IPv6's flow label for every probe of the scan: constant (a flow is never reordered by
  // ECMP), and the same after a resume.
  uint32_t flow_label() const { return static_cast<uint32_t>((key.k0 ^ key.k1) & 0xfffff); }
};

// The first step: the seed and key, fresh or from the checkpoint of --resume (read, not yet
// checked against the plan: the address list may depend on the seed).
RunState start_run(const ScanPlan& plan, std::optional<Checkpoint>& resumed);
// The second, once the index space is built: the plan's identity (targets_identity: the
// address list's), checked against the checkpoint's, and --max-targets' budget. Throws
// UsageError for a checkpoint of another plan.
void bind_run(RunState& st, const ScanPlan& plan, const std::optional<Checkpoint>& resumed,
              uint64_t targets_identity, uint64_t targets);

}  // namespace dpscan
