// The two ways a plan runs: a real scan through DPDK, or a dry run that writes every probe.
#pragma once

#include <atomic>

#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/summary.hpp"

namespace dpscan {

// Both call out.begin() once the plan has been checked, and leave end() to the caller.
// `interrupts` counts SIGINT/SIGTERM: the first stops sending (then the cooldown runs), the
// second ends the run at once. Results are written as they arrive.
// `lease`: the shard of a cluster worker (lease.hpp), or none. `metrics`: the /metrics
// server the run publishes to (--metrics-listen), or none; its owner (main) keeps it until
// the outputs, the summary and the lease are finished.
class Dataplane;
class RunLease;
class MetricsServer;
RunSummary run_scan(const ScanPlan& plan, Dataplane& dataplane, Outputs& out,
                    const std::atomic<int>& interrupts, RunLease* lease = nullptr,
                    MetricsServer* metrics = nullptr);
RunSummary run_dry_run(const ScanPlan& plan, Outputs& out, const std::atomic<int>& interrupts,
                       RunLease* lease = nullptr, MetricsServer* metrics = nullptr);

}  // namespace dpscan
