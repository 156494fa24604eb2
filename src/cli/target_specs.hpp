// Target and exclusion specifications of either family, as the command line, --targets-file,
// --exclude-file and campaigns give them: each item goes to its family's set by its text (an
// IPv6 spec has a ':'), and the prefix generators (2001:db8::/32-48) to a list of their own.
// A scan is of one family (plan_builder.cpp refuses a mix); exclusions of the other family
// are kept apart and never applied.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dpscan/ip6_set.hpp"
#include "dpscan/ip_set.hpp"

namespace dpscan {

struct TargetSpecs {
  IpSet v4;
  Ip6Set v6;
  std::vector<std::string> generators;  // IPv6 ADDR/OUTER-INNER, parsed by the plan builder
  bool any4 = false;
  bool any6 = false;
};

// Adds every spec of a list separated by commas and/or white space. Throws UsageError naming
// the bad spec; a generator where generators are not allowed (exclusions) is one.
void add_target_specs(TargetSpecs& out, std::string_view list, bool generators);
// Reads one or more specs per line; '#' starts a comment. Errors name FILE:LINE.
void add_target_file(TargetSpecs& out, const std::string& path, bool generators);

}  // namespace dpscan
