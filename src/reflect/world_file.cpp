// World files (config/worlds/*.yaml): every key checked, every error at its FILE:LINE:COL.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "world.hpp"

namespace dpscan::reflect {
namespace {

struct File {
  std::string path;

  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    throw UsageError(fmt::format("{}: {}", where(n), msg));
  }
  std::string text(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, fmt::format("'{}' needs a single value", key));
    return n.Scalar();
  }
  double number(const YAML::Node& n, const std::string& key, double lo, double hi) const {
    const std::string s = text(n, key);
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(s, &used);
      if (used != s.size()) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      fail(n, fmt::format("'{}' needs a number, not '{}'", key, s));
    }
    if (!std::isfinite(v) || v < lo || v > hi)
      fail(n, fmt::format("'{}' must be {} to {}, not {}", key, lo, hi, s));
    return v;
  }
  bool flag(const YAML::Node& n, const std::string& key) const {
    const std::string s = text(n, key);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, fmt::format("'{}' is true or false, not '{}'", key, s));
  }
  // Calls f(key, value) for each entry of a map; unknown keys are errors.
  template <typename F>
  void each(const YAML::Node& map, const std::string& what, const std::set<std::string>& keys,
            F&& f) const {
    if (!map.IsMap()) fail(map, fmt::format("{} must be a map", what));
    for (const auto& kv : map) {
      const std::string key = text(kv.first, "key");
      if (!keys.count(key))
        fail(kv.first,
             fmt::format("unknown key '{}' in {} (known: {})", key, what, fmt::join(keys, ", ")));
      f(key, kv.second);
    }
  }
};

OptionProfile profile(const File& file, const YAML::Node& n) {
  try {
    return parse_option_profile(file.text(n, "options"));
  } catch (const UsageError& e) {
    file.fail(n, e.what());
  }
}

Stack read_stack(const File& file, const YAML::Node& n) {
  Stack s;
  file.each(n, "a stack", {"name", "weight", "ttl", "window", "options", "synack_retries"},
            [&](const std::string& key, const YAML::Node& v) {
              if (key == "name") s.name = file.text(v, key);
              if (key == "weight") s.weight = file.number(v, key, 0, 1e9);
              if (key == "ttl") s.ttl = static_cast<uint8_t>(file.number(v, key, 1, 255));
              if (key == "window") s.window = static_cast<uint16_t>(file.number(v, key, 0, 65535));
              if (key == "options") s.options = profile(file, v);
              if (key == "synack_retries")
                s.synack_retries = static_cast<uint8_t>(file.number(v, key, 0, 10));
            });
  if (s.name.empty()) file.fail(n, "a stack needs a 'name'");
  return s;
}

NetworkKind read_network(const File& file, const YAML::Node& n, Family family) {
  NetworkKind k;
  bool has_kind = false;
  file.each(
      n, "a network kind",
      {"kind", "weight", "hosts", "open", "open_default", "closed_rst", "codes", "stack",
       "udp_open", "udp_closed_icmp", "echo"},
      [&](const std::string& key, const YAML::Node& v) {
        if (key == "kind") {
          const std::string s = file.text(v, key);
          has_kind = true;
          if (s == "empty")
            k.kind = NetKind::kEmpty;
          else if (s == "hosts")
            k.kind = NetKind::kHosts;
          else if (s == "firewalled")
            k.kind = NetKind::kFirewalled;
          else if (s == "tarpit")
            k.kind = NetKind::kTarpit;
          else if (s == "unreachable")
            k.kind = NetKind::kUnreachable;
          else if (s == "aliased" && family == Family::kIpv6)
            k.kind = NetKind::kAliased;
          else if (s == "aliased")
            file.fail(v, "kind 'aliased' is for IPv6 worlds (family: ipv6)");
          else
            file.fail(v, fmt::format("kind '{}' is not one of empty, hosts, firewalled, tarpit, "
                                     "unreachable{}",
                                     s, family == Family::kIpv6 ? ", aliased" : ""));
        }
        if (key == "weight") k.weight = file.number(v, key, 0, 1e9);
        if (key == "hosts") k.hosts = file.number(v, key, 0, 1);
        if (key == "open_default") k.open_default = file.number(v, key, 0, 1);
        if (key == "closed_rst") k.closed_rst = file.number(v, key, 0, 1);
        if (key == "stack") k.stack = file.text(v, key);
        if (key == "udp_closed_icmp") k.udp_closed_icmp = file.number(v, key, 0, 1);
        if (key == "echo") k.echo = file.number(v, key, 0, 1);
        if (key == "udp_open") {
          if (!v.IsMap())
            file.fail(v, "'udp_open' maps UDP ports to probabilities, e.g. {53: 0.1}");
          for (const auto& kv : v) {
            const auto port = static_cast<uint16_t>(file.number(kv.first, "port", 1, 65535));
            if (udp_service_of(port) == UdpService::kNone)
              file.fail(kv.first, fmt::format("no UDP service is modelled on port {} (53 dns, 123 "
                                              "ntp, 161 snmp, 11211 memcached)",
                                              port));
            k.udp_open.emplace_back(port, file.number(kv.second, "udp_open", 0, 1));
          }
        }
        if (key == "open") {
          if (!v.IsMap()) file.fail(v, "'open' maps ports to probabilities, e.g. {80: 0.1}");
          for (const auto& kv : v) {
            const auto port = static_cast<uint16_t>(file.number(kv.first, "port", 1, 65535));
            k.open.emplace_back(port, file.number(kv.second, "open", 0, 1));
          }
        }
        if (key == "codes") {
          if (!v.IsMap()) file.fail(v, "'codes' maps ICMP codes to weights, e.g. {1: 3, 13: 1}");
          for (const auto& kv : v) {
            const auto code = static_cast<uint8_t>(file.number(kv.first, "code", 0, 15));
            // The codes a scanner counts as unreachable (nmap's and dpscan's set); for
            // IPv6, RFC 4443's destination unreachable codes 0 to 6.
            if (family == Family::kIpv6 && code > 6)
              file.fail(kv.first, fmt::format("ICMPv6 destination unreachable code {} is "
                                              "not one of RFC 4443's (0 to 6)",
                                              code));
            if (family == Family::kIpv4 && !(code <= 3 || code == 9 || code == 10 || code == 13))
              file.fail(kv.first, fmt::format("ICMP code {} is not one a scanner reports "
                                              "(0, 1, 2, 3, 9, 10, 13)",
                                              code));
            k.codes.emplace_back(code, file.number(kv.second, "weight", 0, 1e9));
          }
        }
      });
  if (!has_kind) file.fail(n, "a network kind needs a 'kind'");
  return k;
}

Impairments read_impairments(const File& file, const YAML::Node& n) {
  Impairments m;
  file.each(
      n, "impairments",
      {"rtt_ms", "jitter_ms", "loss", "loss_in", "loss_out", "reorder", "duplicate", "icmp_rate",
       "icmp_burst", "retransmit", "noise_pps", "host_icmp_rate", "host_icmp_burst"},
      [&](const std::string& key, const YAML::Node& v) {
        if (key == "rtt_ms") {
          if (v.IsSequence()) {
            if (v.size() != 2) file.fail(v, "'rtt_ms' is a number or [min, max]");
            m.rtt_min_ms = file.number(v[0], key, 0, 10000);
            m.rtt_max_ms = file.number(v[1], key, m.rtt_min_ms, 10000);
          } else {
            m.rtt_min_ms = m.rtt_max_ms = file.number(v, key, 0, 10000);
          }
        }
        if (key == "jitter_ms") m.jitter_ms = file.number(v, key, 0, 10000);
        if (key == "loss") m.loss_in = m.loss_out = file.number(v, key, 0, 1);
        if (key == "loss_in") m.loss_in = file.number(v, key, 0, 1);
        if (key == "loss_out") m.loss_out = file.number(v, key, 0, 1);
        if (key == "reorder") m.reorder = file.number(v, key, 0, 1);
        if (key == "duplicate") m.duplicate = file.number(v, key, 0, 1);
        if (key == "icmp_rate") m.icmp_rate = file.number(v, key, 0, 1e9);
        if (key == "icmp_burst") m.icmp_burst = file.number(v, key, 0, 1e9);
        if (key == "retransmit") m.retransmit = file.flag(v, key);
        if (key == "noise_pps") m.noise_pps = file.number(v, key, 0, 1e9);
        if (key == "host_icmp_rate") m.host_icmp_rate = file.number(v, key, 0, 1e9);
        if (key == "host_icmp_burst") m.host_icmp_burst = file.number(v, key, 0, 1e9);
      });
  return m;
}

}  // namespace

WorldConfig load_world(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read world file '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  return load_world_text(text.str(), path);
}

WorldConfig load_world_text(const std::string& text, const std::string& path) {
  const File file{path};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw UsageError(fmt::format("{}:{}:{}: YAML syntax error: {}", path, e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) throw UsageError(fmt::format("{}:1:1: a world file is a map", path));
  WorldConfig w;
  // The family first: the network kinds and ICMP codes depend on it.
  if (const YAML::Node f = root["family"]) {
    const std::string s = file.text(f, "family");
    if (s == "ipv6") {
      w.family = Family::kIpv6;
      w.network_prefix = 64;
    } else if (s != "ipv4") {
      file.fail(f, fmt::format("'family' is ipv4 or ipv6, not '{}'", s));
    }
  }
  file.each(root, "the world",
            {"world", "family", "network_prefix", "stacks", "networks", "impairments"},
            [&](const std::string& key, const YAML::Node& v) {
              if (key == "world") w.name = file.text(v, key);
              if (key == "network_prefix") {
                if (w.family != Family::kIpv6)
                  file.fail(v, "'network_prefix' is for IPv6 worlds (IPv4 networks are /24s)");
                w.network_prefix = static_cast<unsigned>(file.number(v, key, 32, 124));
              }
              if (key == "impairments") w.impairments = read_impairments(file, v);
              if (key == "stacks" || key == "networks") {
                if (!v.IsSequence() || v.size() == 0)
                  file.fail(v, fmt::format("'{}' must be a non-empty list", key));
                for (const auto& item : v) {
                  if (key == "stacks")
                    w.stacks.push_back(read_stack(file, item));
                  else
                    w.networks.push_back(read_network(file, item, w.family));
                }
              }
            });
  if (w.networks.empty())
    throw UsageError(fmt::format("{}:1:1: the world has no 'networks'", path));
  double total = 0;
  for (const auto& n : w.networks) total += n.weight;
  if (total <= 0) throw UsageError(fmt::format("{}: the network weights add up to 0", path));
  for (const auto& n : w.networks) {
    if (n.stack.empty()) continue;
    bool found = false;
    for (const auto& s : w.stacks) found = found || s.name == n.stack;
    if (!found) throw UsageError(fmt::format("{}: no stack named '{}'", path, n.stack));
  }
  return w;
}

}  // namespace dpscan::reflect
