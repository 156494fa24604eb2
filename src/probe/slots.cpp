// A plan's probe slots (plan.hpp): what the index space's slot dimension holds for each module.
#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/plan.hpp"

namespace dpscan {

std::string_view to_string(ProbeKind k) {
  switch (k) {
    case ProbeKind::kTcpSyn:
      return "tcp-syn";
    case ProbeKind::kUdp:
      return "udp";
    case ProbeKind::kIcmpEcho:
      return "icmp-echo";
  }
  return "?";
}

ProbeKind parse_probe_kind(std::string_view name) {
  for (ProbeKind k : {ProbeKind::kTcpSyn, ProbeKind::kUdp, ProbeKind::kIcmpEcho})
    if (to_string(k) == name) return k;
  throw UsageError(
      fmt::format("--probe-module: '{}' is not one of tcp-syn, udp, icmp-echo", name));
}

std::vector<uint16_t> probe_slots(const ScanPlan& plan) {
  return plan.ports;
}

std::vector<std::string> probe_slot_names(const ScanPlan&) {
  return {};
}

uint64_t probe_identity(const ScanPlan&) {
  return 0;
}

}  // namespace dpscan
