#include "dpscan/ip_set.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "dpscan/addr.hpp"
#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "target/spec_list.hpp"

namespace dpscan {
namespace {

uint32_t address_or_throw(std::string_view text, std::string_view spec) {
  if (auto ip = Ipv4Addr::parse(trim_space(text))) return ip->value();
  throw UsageError(fmt::format("invalid target '{}': '{}' is not an IPv4 address",
                               printable(spec, 64), printable(text, 64)));
}

}  // namespace

Interval parse_interval(std::string_view spec) {
  spec = trim_space(spec);
  if (spec.empty()) throw UsageError("invalid target: empty specification");
  if (const size_t slash = spec.find('/'); slash != std::string_view::npos) {
    const uint32_t base = address_or_throw(spec.substr(0, slash), spec);
    const std::string_view bits_text = spec.substr(slash + 1);
    unsigned bits = 0;
    const auto [end, ec] =
        std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (ec != std::errc{} || end != bits_text.data() + bits_text.size() || bits > 32 ||
        bits_text.empty()) {
      throw UsageError(
          fmt::format("invalid target '{}': prefix length must be 0 to 32", printable(spec, 64)));
    }
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return {base & mask, (base & mask) | ~mask};
  }
  if (const size_t dash = spec.find('-'); dash != std::string_view::npos) {
    const uint32_t first = address_or_throw(spec.substr(0, dash), spec);
    const uint32_t last = address_or_throw(spec.substr(dash + 1), spec);
    if (first > last) {
      throw UsageError(
          fmt::format("invalid target '{}': range start is above its end", printable(spec, 64)));
    }
    return {first, last};
  }
  const uint32_t ip = address_or_throw(spec, spec);
  return {ip, ip};
}

void IpSet::add(Interval iv) {
  intervals_.push_back(iv);
  normalized_ = false;
}

void IpSet::add(const IpSet& other) {
  for (const auto& iv : other.intervals()) add(iv);
}

void IpSet::add_specs(std::string_view list) {
  for_each_spec(list, [this](std::string_view item) { add(parse_interval(item)); });
}

void IpSet::add_stream(std::istream& in, const std::string& source) {
  for_each_spec_line(in, source, [this](std::string_view text) { add_specs(text); });
}

void IpSet::add_file(const std::string& path) {
  std::ifstream in = open_spec_file(path);
  add_stream(in, path);
}

void IpSet::normalize() const {
  if (normalized_) return;
  std::sort(intervals_.begin(), intervals_.end(),
            [](const Interval& a, const Interval& b) { return a.first < b.first; });
  std::vector<Interval> merged;
  for (const auto& iv : intervals_) {
    // Merge overlapping and adjacent intervals (last + 1 == first).
    if (!merged.empty() && uint64_t{iv.first.value()} <= uint64_t{merged.back().last.value()} + 1) {
      merged.back().last = std::max(merged.back().last, iv.last);
    } else {
      merged.push_back(iv);
    }
  }
  intervals_ = std::move(merged);
  normalized_ = true;
}

const std::vector<Interval>& IpSet::intervals() const {
  normalize();
  return intervals_;
}

IpSet IpSet::minus(const IpSet& excluded) const {
  IpSet out;
  const auto& ex = excluded.intervals();
  size_t j = 0;
  for (const auto& iv : intervals()) {
    uint64_t cur = iv.first.value();  // 64-bit: cur may step past 255.255.255.255
    const uint32_t last = iv.last.value();
    while (j < ex.size() && ex[j].last.value() < cur) ++j;
    size_t k = j;
    while (cur <= last && k < ex.size() && ex[k].first.value() <= last) {
      if (ex[k].first.value() > cur) out.add({static_cast<uint32_t>(cur), ex[k].first.value() - 1});
      cur = uint64_t{ex[k].last.value()} + 1;
      ++k;
    }
    if (cur <= last) out.add({static_cast<uint32_t>(cur), last});
  }
  out.normalize();
  return out;
}

bool IpSet::contains(Ipv4Addr ip) const {
  const auto& v = intervals();
  auto it = std::upper_bound(v.begin(), v.end(), ip,
                             [](Ipv4Addr x, const Interval& iv) { return x < iv.first; });
  return it != v.begin() && std::prev(it)->last >= ip;
}

uint64_t IpSet::size() const {
  uint64_t n = 0;
  for (const auto& iv : intervals()) n += iv.size();
  return n;
}

}  // namespace dpscan
