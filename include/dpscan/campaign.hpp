// YAML campaigns (-c FILE): campaign-wide defaults and a list of named scans, run in order.
// A campaign is a set of option maps. Every key is the long name of a command-line option
// (plus `targets`, `outputs` and `name`), so that the file and the command line mean the
// same thing, and each scan's merged map goes to the one option table and plan builder:
//     scan options = defaults < scan < command line.
// Each value remembers where it came from (file:line:column), so that a bad value is
// reported at its place in the file (exit 2), before anything is sent.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dpscan/plan.hpp"

namespace dpscan {

struct OptionInfo {
  std::string name;  // long name, as in the file
  bool is_switch;    // takes no value: true/false in the file
  bool repeatable;   // may be given several times: a scalar or a sequence in the file
};
const std::vector<OptionInfo>& option_catalog();
const OptionInfo* find_option(const std::string& name);

struct SourcedValue {
  std::vector<std::string> values;      // switches: "true" or "false"
  std::string where;                    // "file:line:column", empty for the command line
  std::vector<std::string> item_where;  // for a list: each item's place
};
using OptionMap = std::map<std::string, SourcedValue>;

// The command line as an option map (key "targets" for the positional arguments): argv is
// parsed by Boost once, here.
OptionMap command_line_options(int argc, const char* const* argv);
// Prints --help or --version if the map holds them; returns whether it did.
bool print_help_or_version(const OptionMap& cli);

struct CampaignScan {
  std::string name;
  std::string where;
  OptionMap options;
};

// A campaign run by several workers (docs/cluster.md): `shards: N` and a `cluster:` map with
// `servers` (a URL or a list; --cluster on the command line overrides it), `bucket` (default:
// the file's name without .yaml), `replicas`, `claim-ttl`, `heartbeat`.
struct ClusterSection {
  bool present = false;     // the file has `cluster:` or `shards:`
  std::string where;        // file:line:col of `cluster:` (or of `shards:`)
  std::string servers;      // comma-separated URLs, as given
  std::string bucket;       // key-value bucket; also names the results stream and subject
  uint32_t shards = 0;      // 0: not given
  int replicas = 1;         // copies of the bucket and of the results stream
  double claim_ttl_s = 10;  // a claim whose heartbeat was not seen for this long expires
  double heartbeat_s = 1;
};

struct Campaign {
  std::string path;
  OptionMap defaults;
  std::vector<CampaignScan> scans;
  ClusterSection cluster;
};

// Reads and checks the structure and the value types; throws UsageError "file:line:col: ...".
Campaign load_campaign(const std::string& path);

struct NamedOptions {
  std::string name;   // the scan's name (empty: the command line's --scan-name or "scan")
  std::string where;  // the scan's place in the file (empty: the command line)
  OptionMap options;
};

// defaults < scan < command line, "{scan}" in paths replaced by the scan's name.
std::vector<NamedOptions> merge_campaign(const Campaign& c, const OptionMap& cli);

// The plan: the values go to Boost as parsed options (no command line is rendered), are
// stored once and checked once (src/cli/plan_builder.cpp). An error in one option's value is
// reported at that value's place in the file ("FILE:L:C: 'key': ..."), an error between
// options at the scan's place.
ScanPlan plan_from_options(const NamedOptions& scan);

// The effective configuration as a campaign that dpscan reads back unchanged.
std::string print_config(const std::vector<NamedOptions>& scans);

}  // namespace dpscan
