// A set of IPv4 addresses as sorted, disjoint, non-adjacent inclusive intervals. Target
// specifications (CIDR, "a-b" ranges, single addresses), exclusions and the default
// blocklist all become IpSets; the scan's address space is targets minus exclusions.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/addr.hpp"

namespace dpscan {

struct Interval {
  Ipv4Addr first;
  Ipv4Addr last;  // inclusive, so 0.0.0.0-255.255.255.255 is representable
  constexpr Interval() = default;
  constexpr Interval(Ipv4Addr f, Ipv4Addr l) : first(f), last(l) {}
  // From host-order numbers (the set algebra and the tests work on them).
  constexpr Interval(uint32_t f, uint32_t l) : first(f), last(l) {}
  uint64_t size() const { return uint64_t{last.value()} - first.value() + 1; }
  friend bool operator==(const Interval&, const Interval&) = default;
};

// Parses one spec: "a.b.c.d", "a.b.c.d/n" (host bits are masked off, as masscan and ZMap
// do) or "a.b.c.d-e.f.g.h". Throws UsageError naming the spec.
Interval parse_interval(std::string_view spec);

class IpSet {
 public:
  void add(Interval iv);
  void add(const IpSet& other);
  // Adds every spec of a list separated by commas and/or white space.
  void add_specs(std::string_view list);
  // Reads one spec (or several, comma-separated) per line; '#' starts a comment, blank lines
  // are skipped. Errors name `source` and the line number.
  void add_stream(std::istream& in, const std::string& source);
  void add_file(const std::string& path);

  IpSet minus(const IpSet& excluded) const;
  bool contains(Ipv4Addr ip) const;
  uint64_t size() const;
  bool empty() const { return intervals().empty(); }
  const std::vector<Interval>& intervals() const;

 private:
  void normalize() const;
  mutable std::vector<Interval> intervals_;
  mutable bool normalized_ = true;
};

// The IANA special-purpose ranges of config/blocklist.conf, compiled in.
const IpSet& default_blocklist();

}  // namespace dpscan
