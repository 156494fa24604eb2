#include "dpscan/ports.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"

namespace dpscan {
namespace {

uint16_t port_or_throw(std::string_view text, std::string_view item) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    throw UsageError(fmt::format("invalid port '{}': not a number", printable(item, 64)));
  }
  if (value == 0 || value > 65535) {
    throw UsageError(fmt::format("invalid port '{}': ports are 1 to 65535", item));
  }
  return static_cast<uint16_t>(value);
}

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::vector<uint16_t> parse_ports(std::string_view list) {
  std::vector<bool> seen(65536, false);
  size_t pos = 0;
  bool any = false;
  while (pos <= list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string_view item = trim(
        list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (item.empty())
      throw UsageError(fmt::format("invalid port list '{}': empty item", printable(list, 64)));
    if (const size_t dash = item.find('-'); dash != std::string_view::npos) {
      const uint16_t lo = port_or_throw(trim(item.substr(0, dash)), item);
      const uint16_t hi = port_or_throw(trim(item.substr(dash + 1)), item);
      if (lo > hi) throw UsageError(fmt::format("invalid port range '{}': start above end", item));
      for (unsigned p = lo; p <= hi; ++p) seen[p] = true;
    } else {
      seen[port_or_throw(item, item)] = true;
    }
    any = true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  std::vector<uint16_t> ports;
  for (unsigned p = 1; p < 65536; ++p)
    if (seen[p]) ports.push_back(static_cast<uint16_t>(p));
  if (!any || ports.empty()) throw UsageError("no ports given");
  return ports;
}

std::string ports_text(const std::vector<uint16_t>& ports) {
  std::string s;
  for (size_t i = 0; i < ports.size();) {
    size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
    s += (s.empty() ? "" : ",") +
         (j == i ? fmt::format("{}", ports[i]) : fmt::format("{}-{}", ports[i], ports[j]));
    i = j + 1;
  }
  return s;
}

}  // namespace dpscan
