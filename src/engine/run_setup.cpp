#include "run_setup.hpp"

#include <chrono>

#include "dpscan/ipv6_targets.hpp"
#include "dpscan/siphash.hpp"

namespace dpscan {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Ipv4Intervals make_address_list(Ipv4, const ScanPlan& plan, uint64_t, uint64_t& identity) {
  identity = ipv4_identity(plan.addresses);
  return Ipv4Intervals(plan.addresses);
}

Ipv6Targets make_address_list(Ipv6, const ScanPlan& plan, uint64_t seed, uint64_t& identity) {
  Ipv6TargetSources sources = *plan.targets6;  // the hitlist is shared, not copied
  // Random interface IDs follow the seed (so shards and resumes agree), through a hash so
  // that they say nothing about the order's generator.
  sources.iid_key = siphash24({seed, 0x6969642d6b657921ULL}, nullptr, 0);
  Ipv6Targets targets(sources);
  identity = targets.identity();
  return targets;
}

}  // namespace dpscan
