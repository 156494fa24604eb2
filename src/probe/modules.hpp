// Every (family, probe module) pair, and the one place that chooses among them: with_scan()
// calls its function with the module the plan names, instantiated for the plan's family, so
// everything below it (the TX and RX loops, the scan's set-up) is instantiated once per pair
// and the choice is made once per run. tests/unit/modules_test.cc instantiates every pair.
#pragma once

#include <string_view>

#include "dpscan/plan.hpp"
#include "probe/icmp_echo.hpp"
#include "probe/tcp_syn.hpp"
#include "probe/udp.hpp"

namespace dpscan {

// The modules of family F, by kind.
template <typename F, typename Fn>
decltype(auto) with_module(ProbeKind kind, Fn&& f) {
  switch (kind) {
    case ProbeKind::kIcmpEcho:
      return f(IcmpEcho<F>{});
    case ProbeKind::kUdp:
      return f(Udp<F>{});
    case ProbeKind::kTcpSyn:
      break;
  }
  return f(TcpSyn<F>{});
}

template <typename Fn>
decltype(auto) with_scan(Family family, ProbeKind kind, Fn&& f) {
  if (family == Family::kIpv6) return with_module<Ipv6>(kind, f);
  return with_module<Ipv4>(kind, f);
}

// The names a module's results carry (outputs: "tcp", nmap's scan type "syn").
struct ModuleNames {
  std::string_view name;
  Proto protocol;
  std::string_view scan_type;
};
inline ModuleNames module_names(ProbeKind kind) {
  return with_module<Ipv4>(kind, [](auto m) {
    using M = decltype(m);
    return ModuleNames{M::kName, M::kProtocol, M::kScanType};
  });
}

}  // namespace dpscan
