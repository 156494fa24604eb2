// Option values -> ScanPlan: everything semantic (addresses, ports, rates, contradictions)
// is checked here, after Boost has parsed the syntax, so that a bad value is one clear line
// and exit code 2, before any device is touched. A problem with one option's value is an
// OptionError naming that option (and, for a list, the item), so that a campaign can point
// at its place in the file; contradictions between options are plain UsageErrors.
#pragma once

#include "dpscan/plan.hpp"
#include "option_table.hpp"

namespace dpscan {

// `plan` and `v` are what describe() bound and Boost stored into `vm` (after notify).
ScanPlan build_plan(const po::variables_map& vm, ScanPlan plan, const CliVars& v);

// Splits --eal-args like a shell would for the simple cases (dpscan-reflect's too).
std::vector<std::string> split_args(const std::string& s);

}  // namespace dpscan
