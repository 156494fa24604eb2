// The option table: every option once, with its name, its type, its default and its help,
// bound to a ScanPlan field or to a raw value (CliVars) that plan_builder.cpp checks. The one
// table serves the command-line parser, --help, the campaign file's keys (option_catalog) and
// the parsed options a campaign hands to Boost directly.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "dpscan/plan.hpp"

namespace dpscan {

namespace po = boost::program_options;

// The options whose values plan_builder.cpp parses and checks, as given.
struct CliVars {
  std::vector<std::string> targets, targets_files, excludes, exclude_files, output_specs, hitlists,
      udp_payloads;
  std::string ports, output, output_format, output_fields, status_format, report, gateway_ip,
      gateway_mac, source_ip, eal_args, probe_options, source_port, shard, max_targets, seed,
      cookie, bandwidth, config, tx_cpus, rx_cpus, rx_checksum, ipv6_iid, probe_module;
  unsigned lcores = 0;  // --lcores (0: not given)
  unsigned ttl = 64;
  unsigned window = 65535;
};

struct Descriptions {
  po::options_description visible;
  po::options_description all;
  po::positional_options_description positional;
};

// Binds every option to `plan` (fields taken as they are) or `v` (values to check).
void describe(Descriptions& d, ScanPlan& plan, CliVars& v);

}  // namespace dpscan
