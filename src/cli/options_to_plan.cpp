// Option values (from the command line, a campaign, or both merged) -> a ScanPlan, in one
// pass: the values become Boost's parsed options directly, Boost stores and converts them
// once, and plan_builder.cpp checks them once. No command line is rendered and nothing is
// parsed twice. Errors are placed: a bad value at its place in the campaign file (an item
// of a list at the item's), a contradiction between options at the scan's.
#include <fmt/format.h>

#include "dpscan/campaign.hpp"
#include "dpscan/error.hpp"
#include "option_table.hpp"
#include "plan_builder.hpp"

namespace dpscan {
namespace {

constexpr const char* kTargetsKey = "targets";

ScanPlan build(const NamedOptions& scan) {
  ScanPlan plan;
  CliVars v;
  Descriptions d;
  describe(d, plan, v);
  po::parsed_options parsed(&d.all);
  for (const auto& [key, sv] : scan.options) {
    if (key == "scan-name" && !scan.name.empty()) continue;  // the campaign scan's name wins
    const std::string name = key == kTargetsKey ? "target" : key;
    const OptionInfo* info = find_option(name);
    if (!info) throw UsageError(fmt::format("unknown option '{}'", key));
    if (info->is_switch) {
      if (!sv.values.empty() && sv.values[0] == "true")
        parsed.options.emplace_back(name, std::vector<std::string>{});
    } else if (info->repeatable) {
      for (const auto& value : sv.values)
        parsed.options.emplace_back(name, std::vector<std::string>{value});
    } else {
      parsed.options.emplace_back(name, sv.values);
    }
  }
  if (!scan.name.empty())
    parsed.options.emplace_back("scan-name", std::vector<std::string>{scan.name});
  po::variables_map vm;
  try {
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error_with_option_name& e) {
    std::string option = e.get_option_name();
    option.erase(0, option.find_first_not_of('-'));
    throw OptionError(option == "target" ? kTargetsKey : option, e.what());
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return build_plan(vm, plan, v);
}

}  // namespace

ScanPlan plan_from_options(const NamedOptions& scan) {
  try {
    return build(scan);
  } catch (const OptionError& e) {
    const auto it = scan.options.find(e.option);
    if (it != scan.options.end() && !it->second.where.empty()) {
      const SourcedValue& sv = it->second;
      const bool item = e.item >= 0 && static_cast<size_t>(e.item) < sv.item_where.size();
      throw UsageError(fmt::format("{}: '{}': {}",
                                   item ? sv.item_where[static_cast<size_t>(e.item)] : sv.where,
                                   e.option, e.what()));
    }
    if (scan.where.empty()) throw;
    throw UsageError(fmt::format("{}: scan '{}': {}", scan.where, scan.name, e.what()));
  } catch (const UsageError& e) {
    if (scan.where.empty()) throw;
    throw UsageError(fmt::format("{}: scan '{}': {}", scan.where, scan.name, e.what()));
  }
}

}  // namespace dpscan
