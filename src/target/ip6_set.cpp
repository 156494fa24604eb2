#include "dpscan/ip6_set.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "target/ipv6_text.hpp"
#include "target/spec_list.hpp"

namespace dpscan {

Interval6 parse_interval6(std::string_view spec) {
  spec = trim_space(spec);
  if (spec.empty()) throw UsageError("invalid target: empty specification");
  if (const size_t slash = spec.find('/'); slash != std::string_view::npos) {
    const Ipv6Addr base = ipv6_or_throw(spec.substr(0, slash), spec);
    const unsigned len = prefix_length_or_throw(spec.substr(slash + 1), spec);
    const Ipv6Addr mask = Ipv6Addr::prefix_mask(len);
    return {base & mask, base | ~mask};
  }
  if (const size_t dash = spec.find('-'); dash != std::string_view::npos) {
    const Ipv6Addr first = ipv6_or_throw(spec.substr(0, dash), spec);
    const Ipv6Addr last = ipv6_or_throw(spec.substr(dash + 1), spec);
    if (first > last) {
      throw UsageError(
          fmt::format("invalid target '{}': range start is above its end", printable(spec, 64)));
    }
    return {first, last};
  }
  const Ipv6Addr ip = ipv6_or_throw(spec, spec);
  return {ip, ip};
}

void Ip6Set::add(Interval6 iv) {
  intervals_.push_back(iv);
  normalized_ = false;
}

void Ip6Set::add(const Ip6Set& other) {
  for (const auto& iv : other.intervals()) add(iv);
}

void Ip6Set::add_specs(std::string_view list) {
  for_each_spec(list, [this](std::string_view item) { add(parse_interval6(item)); });
}

void Ip6Set::add_stream(std::istream& in, const std::string& source) {
  for_each_spec_line(in, source, [this](std::string_view text) { add_specs(text); });
}

void Ip6Set::add_file(const std::string& path) {
  std::ifstream in = open_spec_file(path);
  add_stream(in, path);
}

void Ip6Set::normalize() const {
  if (normalized_) return;
  std::sort(intervals_.begin(), intervals_.end(),
            [](const Interval6& a, const Interval6& b) { return a.first < b.first; });
  std::vector<Interval6> merged;
  for (const auto& iv : intervals_) {
    // Merge overlapping and adjacent intervals (last + 1 == first); nothing follows ffff:...
    if (!merged.empty() &&
        (merged.back().last == Ipv6Addr::max() || iv.first <= merged.back().last.plus(1))) {
      merged.back().last = std::max(merged.back().last, iv.last);
    } else {
      merged.push_back(iv);
    }
  }
  intervals_ = std::move(merged);
  normalized_ = true;
}

const std::vector<Interval6>& Ip6Set::intervals() const {
  normalize();
  return intervals_;
}

Ip6Set Ip6Set::minus(const Ip6Set& excluded) const {
  Ip6Set out;
  const auto& ex = excluded.intervals();
  size_t j = 0;
  for (const auto& iv : intervals()) {
    // The part of iv not yet handed out starts at cur; `done` once an exclusion reaches the
    // end of the address space (cur cannot step past ffff:...).
    Ipv6Addr cur = iv.first;
    bool done = false;
    while (j < ex.size() && ex[j].last < cur) ++j;
    for (size_t k = j; !done && cur <= iv.last && k < ex.size() && ex[k].first <= iv.last; ++k) {
      if (ex[k].first > cur) out.add({cur, Ipv6Addr::from_u128(ex[k].first.to_u128() - 1)});
      if (ex[k].last == Ipv6Addr::max()) done = true;
      cur = ex[k].last.plus(1);
    }
    if (!done && cur <= iv.last) out.add({cur, iv.last});
  }
  out.normalize();
  return out;
}

bool Ip6Set::contains(Ipv6Addr ip) const {
  const auto& v = intervals();
  auto it = std::upper_bound(v.begin(), v.end(), ip,
                             [](Ipv6Addr x, const Interval6& iv) { return x < iv.first; });
  return it != v.begin() && std::prev(it)->last >= ip;
}

u128 Ip6Set::size() const {
  u128 n = 0;
  for (const auto& iv : intervals()) {
    const u128 s = iv.size();
    n = n > ~u128{0} - s ? ~u128{0} : n + s;
  }
  return n;
}

}  // namespace dpscan
