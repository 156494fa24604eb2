#include "dpscan/campaign.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {
namespace {

// Keys of a scan that are not options: the scan's name and its list of outputs.
constexpr const char* kTargetsKey = "targets";
constexpr const char* kOutputsKey = "outputs";
constexpr const char* kNameKey = "name";
// Options that make no sense inside a file.
const std::set<std::string> kCommandLineOnly{"config",  "print-config", "help",
                                             "version", "scan-name",    "cluster"};
// Options whose values are paths that may name the scan.
const std::set<std::string> kPathOptions{"output", "output-spec", "summary", "checkpoint",
                                         "resume"};

std::string where(const std::string& file, const YAML::Mark& m) {
  return fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

[[noreturn]] void fail_at(const std::string& file, const YAML::Node& n, const std::string& msg) {
  throw UsageError(fmt::format("{}: {}", where(file, n.Mark()), msg));
}

std::string scalar(const std::string& file, const std::string& key, const YAML::Node& v) {
  if (!v.IsScalar())
    fail_at(file, v,
            fmt::format("'{}' needs a single value, not a {}", key,
                        v.IsMap()        ? "map"
                        : v.IsSequence() ? "list"
                                         : "null"));
  return v.Scalar();
}

std::string as_bool(const std::string& file, const std::string& key, const YAML::Node& v) {
  const std::string s = scalar(file, key, v);
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (l == "true" || l == "yes" || l == "on") return "true";
  if (l == "false" || l == "no" || l == "off") return "false";
  fail_at(file, v, fmt::format("'{}' is a switch: true or false, not '{}'", key, s));
}

// One key of `defaults` or of a scan.
void read_key(const std::string& file, const std::string& key, const YAML::Node& k,
              const YAML::Node& v, OptionMap& out) {
  SourcedValue sv;
  sv.where = where(file, v.Mark());
  if (key == kOutputsKey) {
    if (!v.IsSequence()) fail_at(file, v, "'outputs' needs a list of {format: ..., path: ...}");
    auto& specs = out["output-spec"];
    specs.where = sv.where;
    for (const auto& o : v) {
      if (!o.IsMap()) fail_at(file, o, "each output needs 'format' and 'path', as a map");
      std::string format, path;
      for (const auto& kv : o) {
        const std::string ok = kv.first.as<std::string>();
        if (ok == "format")
          format = scalar(file, "format", kv.second);
        else if (ok == "path")
          path = scalar(file, "path", kv.second);
        else
          fail_at(file, kv.first, fmt::format("unknown key '{}' in an output (format, path)", ok));
      }
      if (format.empty() || path.empty())
        fail_at(file, o, "an output needs both 'format' and 'path'");
      try {
        (void)parse_output_format(format);
      } catch (const UsageError& e) {
        fail_at(file, o, e.what());
      }
      specs.values.push_back(format + ":" + path);
    }
    return;
  }
  const OptionInfo* info = find_option(key == kTargetsKey ? "target" : key);
  if (!info || kCommandLineOnly.count(key) || key == "target") {
    fail_at(
        file, k,
        fmt::format("unknown key '{}' (keys are dpscan's long option names; see docs/campaigns.md)",
                    key));
  }
  if (info->is_switch) {
    sv.values.push_back(as_bool(file, key, v));
  } else if (v.IsSequence()) {
    if (!info->repeatable && key != "ports") {
      fail_at(file, v, fmt::format("'{}' takes a single value, not a list", key));
    }
    std::vector<std::string> items;
    for (const auto& item : v) {
      items.push_back(scalar(file, key, item));
      sv.item_where.push_back(where(file, item.Mark()));
    }
    if (items.empty()) fail_at(file, v, fmt::format("'{}' is an empty list", key));
    if (key == "ports") {
      std::string joined;
      for (const auto& i : items) joined += (joined.empty() ? "" : ",") + i;
      items = {joined};
      sv.item_where.clear();
    }
    sv.values = items;
  } else {
    sv.values.push_back(scalar(file, key, v));
  }
  out[key] = sv;
}

OptionMap read_options(const std::string& file, const YAML::Node& map, bool is_scan,
                       std::string* name, std::string* name_where = nullptr) {
  OptionMap out;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) fail_at(file, kv.first, "keys must be option names");
    const std::string key = kv.first.Scalar();
    if (key == kNameKey) {
      if (!is_scan) fail_at(file, kv.first, "'name' belongs in a scan, not in defaults");
      *name = scalar(file, "name", kv.second);
      if (name_where) *name_where = where(file, kv.second.Mark());
      if (name->empty() ||
          name->find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
              std::string::npos) {
        fail_at(file, kv.second,
                fmt::format("scan name '{}' must be letters, digits, '_', '.' or '-'", *name));
      }
      continue;
    }
    read_key(file, key, kv.first, kv.second, out);
  }
  return out;
}

uint64_t number(const std::string& file, const std::string& key, const YAML::Node& v, uint64_t lo,
                uint64_t hi) {
  const std::string s = scalar(file, key, v);
  uint64_t n = 0;
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos ||
      (n = std::stoull(s)) < lo || n > hi)
    fail_at(file, v,
            fmt::format("'{}' must be a whole number from {} to {}, not '{}'", key, lo, hi, s));
  return n;
}

double seconds(const std::string& file, const std::string& key, const YAML::Node& v) {
  const std::string s = scalar(file, key, v);
  size_t used = 0;
  double d = 0;
  try {
    d = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size() || !(d > 0) || d > 3600)
    fail_at(file, v, fmt::format("'{}' must be seconds above 0 (at most 3600), not '{}'", key, s));
  return d;
}

void read_cluster(const std::string& file, const YAML::Node& k, const YAML::Node& v,
                  ClusterSection& c) {
  if (!v.IsMap())
    fail_at(file, v, "'cluster' must be a map: servers, bucket, replicas, claim-ttl, heartbeat");
  c.where = where(file, k.Mark());
  for (const auto& kv : v) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& val = kv.second;
    if (key == "servers") {
      if (val.IsSequence()) {
        for (const auto& item : val)
          c.servers += (c.servers.empty() ? "" : ",") + scalar(file, "servers", item);
      } else {
        c.servers = scalar(file, key, val);
      }
    } else if (key == "bucket") {
      c.bucket = scalar(file, key, val);
      for (char ch : c.bucket)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_'))
          fail_at(file, val,
                  fmt::format("'bucket' may hold letters, digits, '-' and '_' only, not '{}'",
                              c.bucket));
    } else if (key == "shards") {
      c.shards = static_cast<uint32_t>(number(file, key, val, 1, 65536));
    } else if (key == "replicas") {
      c.replicas = static_cast<int>(number(file, key, val, 1, 5));
    } else if (key == "claim-ttl") {
      c.claim_ttl_s = seconds(file, key, val);
    } else if (key == "heartbeat") {
      c.heartbeat_s = seconds(file, key, val);
    } else {
      fail_at(file, kv.first,
              fmt::format("unknown key '{}' in 'cluster' (servers, bucket, shards, replicas, "
                          "claim-ttl, heartbeat)",
                          key));
    }
  }
  if (c.heartbeat_s * 2 > c.claim_ttl_s)
    fail_at(file, k,
            fmt::format("'claim-ttl' ({} s) must be at least twice 'heartbeat' ({} s)",
                        c.claim_ttl_s, c.heartbeat_s));
}

}  // namespace

Campaign load_campaign(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read campaign '{}'", path));
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::ParserException& e) {
    throw UsageError(fmt::format("{}: YAML syntax error: {}", where(path, e.mark), e.msg));
  }
  if (!root.IsMap()) {
    throw UsageError(
        fmt::format("{}: a campaign is a map with 'scans' (and optionally 'defaults')",
                    root.IsDefined() && !root.IsNull() ? where(path, root.Mark()) : path + ":1:1"));
  }
  Campaign c;
  c.path = path;
  YAML::Node scans;
  YAML::Mark scans_mark;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key == "defaults") {
      if (!kv.second.IsMap()) fail_at(path, kv.second, "'defaults' must be a map of options");
      c.defaults = read_options(path, kv.second, false, nullptr);
    } else if (key == "scans") {
      scans = kv.second;
      scans_mark = kv.first.Mark();
    } else if (key == "cluster") {
      read_cluster(path, kv.first, kv.second, c.cluster);
      c.cluster.present = true;
    } else if (key == "shards") {
      c.cluster.shards = static_cast<uint32_t>(number(path, key, kv.second, 1, 65536));
      if (!c.cluster.present) c.cluster.where = where(path, kv.first.Mark());
      c.cluster.present = true;
    } else {
      fail_at(path, kv.first,
              fmt::format("unknown top-level key '{}' (a campaign has 'defaults', 'scans', and "
                          "for several workers 'shards' and 'cluster')",
                          key));
    }
  }
  if (c.cluster.present) {
    if (c.cluster.shards == 0)
      throw UsageError(
          fmt::format("{}: a cluster campaign needs 'shards: N' (at top level or in "
                      "'cluster')",
                      c.cluster.where));
    if (c.cluster.bucket.empty()) {  // the file's name without directory and .yaml
      std::string stem = path.substr(path.find_last_of('/') + 1);
      stem = stem.substr(0, stem.find('.'));
      for (char& ch : stem)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) ch = '_';
      c.cluster.bucket = stem.empty() ? "dpscan" : stem;
    }
  }
  if (!scans.IsDefined())
    throw UsageError(fmt::format("{}:1:1: the campaign has no 'scans'", path));
  if (!scans.IsSequence() || scans.size() == 0) {
    // An empty value has no position of its own: point at the key.
    const YAML::Mark m = scans.IsNull() || scans.Mark().line < 0 ? scans_mark : scans.Mark();
    throw UsageError(fmt::format("{}: 'scans' must be a non-empty list of scans", where(path, m)));
  }
  std::set<std::string> names;
  for (const auto& s : scans) {
    if (!s.IsMap()) fail_at(path, s, "each scan must be a map with a 'name' and options");
    CampaignScan scan;
    scan.where = where(path, s.Mark());
    std::string name_where;
    scan.options = read_options(path, s, true, &scan.name, &name_where);
    if (scan.name.empty()) fail_at(path, s, "this scan has no 'name'");
    if (!names.insert(scan.name).second) {
      throw UsageError(fmt::format("{}: two scans are named '{}'", name_where, scan.name));
    }
    c.scans.push_back(std::move(scan));
  }
  return c;
}

std::vector<NamedOptions> merge_campaign(const Campaign& c, const OptionMap& cli) {
  std::vector<NamedOptions> out;
  for (const auto& scan : c.scans) {
    NamedOptions n{scan.name, scan.where, c.defaults};
    for (const auto& [k, v] : scan.options) n.options[k] = v;
    for (const auto& [k, v] : cli) n.options[k] = v;
    for (auto& [k, v] : n.options) {
      if (!kPathOptions.count(k)) continue;
      for (auto& value : v.values) {
        for (size_t at; (at = value.find("{scan}")) != std::string::npos;)
          value.replace(at, 6, scan.name);
      }
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::string print_config(const std::vector<NamedOptions>& scans) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "scans" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : scans) {
    e << YAML::BeginMap << YAML::Key << kNameKey << YAML::Value << s.name;
    for (const auto& [key, sv] : s.options) {
      const OptionInfo* info = find_option(key == kTargetsKey ? "target" : key);
      e << YAML::Key << key << YAML::Value;
      if (info && info->is_switch) {
        e << (!sv.values.empty() && sv.values[0] == "true");
      } else if (sv.values.size() == 1 && !(info && info->repeatable)) {
        e << sv.values[0];
      } else {
        e << YAML::Flow << YAML::BeginSeq;
        for (const auto& v : sv.values) e << v;
        e << YAML::EndSeq;
      }
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace dpscan
