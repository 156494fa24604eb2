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
  if (name == "tcp-syn") return ProbeKind::kTcpSyn;
  if (name == "icmp-echo") return ProbeKind::kIcmpEcho;
  if (name == "udp") return ProbeKind::kUdp;
  throw UsageError(fmt::format("--probe-module: '{}' is not one of tcp-syn, udp, icmp-echo", name));
}

std::vector<uint16_t> probe_slots(const ScanPlan& plan) {
  if (plan.probe == ProbeKind::kIcmpEcho) return {0};  // one probe per address
  if (plan.probe == ProbeKind::kUdp) {
    std::vector<uint16_t> ports;
    for (const auto& p : plan.udp_payloads) ports.push_back(p.port());
    return ports;
  }
  return plan.ports;
}

std::vector<std::string> probe_slot_names(const ScanPlan& plan) {
  std::vector<std::string> names;
  for (const auto& p : plan.udp_payloads) names.push_back(p.name());
  return names;
}

// UDP: each slot's payload as it would be sent with a zero cookie to a zero address (its
// constant bytes and its length), so a resumed scan sends the same payloads.
uint64_t probe_identity(const ScanPlan& plan) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  const auto mix = [&h](const uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  };
  const uint8_t zero[16] = {};
  for (const auto& p : plan.udp_payloads) {
    std::vector<uint8_t> bytes(p.size() + 2);
    bytes[0] = static_cast<uint8_t>(p.port() >> 8);
    bytes[1] = static_cast<uint8_t>(p.port());
    p.write(bytes.data() + 2, udp::PayloadCookie{},
            {zero, plan.family == Family::kIpv6 ? size_t{16} : size_t{4}});
    mix(bytes.data(), bytes.size());
    mix(reinterpret_cast<const uint8_t*>(p.name().data()), p.name().size());
  }
  return plan.udp_payloads.empty() ? 0 : h;
}

}  // namespace dpscan
