// The first named step of a scan and of a dry run, shared by both: the run state (seed,
// cookie key, resume positions, --max-targets left), the index space of the plan's family
// and the probe order, and the summary's fields that follow from them.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dpscan/ipv4.hpp"
#include "dpscan/ipv6.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/summary.hpp"
#include "dpscan/target_space.hpp"
#include "run_state.hpp"

namespace dpscan {

double unix_now();

// The family's address list for the plan, and its identity (checkpoint.hpp): IPv4's
// intervals, or IPv6's intervals, generators and hitlist (whose random interface IDs are
// keyed by the seed).
Ipv4Intervals make_address_list(Ipv4, const ScanPlan& plan, uint64_t seed, uint64_t& identity);
Ipv6Targets make_address_list(Ipv6, const ScanPlan& plan, uint64_t seed, uint64_t& identity);

template <typename F>
struct RunSetup {
  using Space = IndexSpace<typename F::AddressList>;
  // Throws UsageError (e.g. another plan's checkpoint).
  explicit RunSetup(const ScanPlan& plan)
      : state(start_run(plan, resumed_)),
        space(make_address_list(F{}, plan, state.seed, identity_), probe_slots(plan)),
        order(space.size(), plan.retries, state.seed, {plan.shard_index, plan.shard_count},
              plan.tx_lcores) {
    bind_run(state, plan, resumed_, identity_, space.size());
  }
  RunSetup(const RunSetup&) = delete;
  RunSetup& operator=(const RunSetup&) = delete;

  // The ports probed: fewer than the probe slots when a port has several (UDP payloads).
  uint64_t distinct_ports() const {
    std::vector<uint16_t> p = space.ports();
    std::sort(p.begin(), p.end());
    return static_cast<uint64_t>(std::unique(p.begin(), p.end()) - p.begin());
  }
  // For the log: "3 ports", or "3 ports, 5 probe slots" when a port has several.
  std::string ports_text() const {
    const uint64_t ports = distinct_ports(), slots = space.ports().size();
    return ports == slots ? fmt::format("{} ports", ports)
                          : fmt::format("{} ports, {} probe slots", ports, slots);
  }

  // The summary as far as the set-up knows it: plan figures, seed, start time.
  RunSummary summary_start(const ScanPlan& plan) const {
    RunSummary sum;
    sum.start_time = unix_now();
    sum.rate_asked = plan.rate_pps;
    sum.seed = state.seed;
    sum.addresses = space.addresses();
    sum.ports = distinct_ports();
    sum.probe_slots = space.ports().size();
    sum.probes = order.probes();
    sum.dry_run = plan.dry_run;
    return sum;
  }

 private:
  std::optional<Checkpoint> resumed_;  // declared first: the members below use them
  uint64_t identity_ = 0;

 public:
  RunState state;
  const Space space;
  const ScanOrder order;
};

}  // namespace dpscan
