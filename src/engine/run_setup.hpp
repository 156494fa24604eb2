// The first named step of a scan and of a dry run, shared by both: the index space, the run
// state (seed, cookie key, resume positions, --max-targets left) and the probe order, and
// the summary's fields that follow from them.
#pragma once

#include "dpscan/plan.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/summary.hpp"
#include "dpscan/target_space.hpp"
#include "run_state.hpp"

namespace dpscan {

double unix_now();

struct RunSetup {
  explicit RunSetup(const ScanPlan& plan);  // throws UsageError (e.g. another plan's checkpoint)
  RunSetup(const RunSetup&) = delete;
  RunSetup& operator=(const RunSetup&) = delete;

  // The summary as far as the set-up knows it: plan figures, seed, start time.
  RunSummary summary_start(const ScanPlan& plan) const;

  const TargetSpace space;
  const RunState state;
  const ScanOrder order;  // refers to space
};

}  // namespace dpscan
