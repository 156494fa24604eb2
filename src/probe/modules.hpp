// Every probe module, and the one place that chooses among them: with_module() calls its
// function with the module the plan names, so everything below it (the TX and RX loops,
// the scan's set-up) is instantiated once per module and the choice is made once per run.
#pragma once

#include <string_view>

#include "dpscan/plan.hpp"
#include "probe/tcp_syn.hpp"

namespace dpscan {

template <typename F>
decltype(auto) with_module(ProbeKind kind, F&& f) {
  switch (kind) {
    case ProbeKind::kTcpSyn:
      break;
  }
  return f(TcpSyn{});
}

// The names a module's results carry (outputs: "tcp", nmap's scan type "syn").
struct ModuleNames {
  std::string_view name;
  std::string_view protocol;
  std::string_view scan_type;
};
inline ModuleNames module_names(ProbeKind kind) {
  return with_module(kind, [](auto m) {
    using M = decltype(m);
    return ModuleNames{M::kName, M::kProtocol, M::kScanType};
  });
}

}  // namespace dpscan
