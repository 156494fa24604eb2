// The command line: one Boost parse of argv into an option map (the form campaigns use too),
// --help and --version, and the plan (campaign.cpp's plan_from_options, the one path from
// option values to a ScanPlan).
#include <iostream>

#include <fmt/format.h>

#include "dpscan/campaign.hpp"
#include "dpscan/error.hpp"
#include "dpscan_version.h"
#include "option_table.hpp"

namespace dpscan {

OptionMap command_line_options(int argc, const char* const* argv) {
  ScanPlan plan;
  CliVars cli;
  Descriptions d;
  describe(d, plan, cli);
  OptionMap out;
  try {
    const auto parsed =
        po::command_line_parser(argc, argv).options(d.all).positional(d.positional).run();
    for (const auto& o : parsed.options) {
      const std::string key = o.string_key == "target" ? "targets" : o.string_key;
      const OptionInfo* info = find_option(o.string_key);
      auto& sv = out[key];
      if (info && info->is_switch) {
        sv.values = {"true"};
        continue;
      }
      if (!sv.values.empty() && info && !info->repeatable) {
        throw UsageError(fmt::format("option '--{}' cannot be specified more than once", key));
      }
      sv.values.insert(sv.values.end(), o.value.begin(), o.value.end());
    }
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return out;
}

bool print_help_or_version(const OptionMap& cli) {
  if (cli.count("help")) {
    ScanPlan plan;
    CliVars v;
    Descriptions d;
    describe(d, plan, v);
    std::cout << "Usage: dpscan [OPTIONS] TARGET...\n"
                 "A kernel-bypass TCP SYN port scanner on DPDK. TARGETs are CIDR blocks,\n"
                 "a-b ranges or addresses, separated by spaces or commas.\n"
                 "Example (the lab): dpscan --no-default-blocklist 198.18.0.0/20 -p 22,80,443 \\\n"
                 "  --device net_af_packet0,iface=veth0 --source-ip 198.19.255.2 --gateway-ip "
                 "198.19.255.1\n"
              << d.visible << '\n';
    return true;
  }
  if (cli.count("version")) {
    std::cout << "dpscan " << DPSCAN_VERSION << '\n';
    return true;
  }
  return false;
}

std::optional<ScanPlan> parse_command_line(int argc, const char* const* argv) {
  const OptionMap cli = command_line_options(argc, argv);
  if (print_help_or_version(cli)) return std::nullopt;
  return plan_from_options({"", "", cli});
}

}  // namespace dpscan
