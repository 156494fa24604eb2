// A set of IPv6 addresses as sorted, disjoint, non-adjacent inclusive intervals: IpSet's
// counterpart (ip_set.hpp), with the same specifications and list syntax. Target addresses,
// prefixes and ranges, exclusions and the default IPv6 blocklist all become Ip6Sets.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/int128.hpp"

namespace dpscan {

struct Interval6 {
  Ipv6Addr first;
  Ipv6Addr last;  // inclusive, so ::/0 is representable
  // The number of addresses, saturated at 2^128 - 1: only ::/0 (2^128) saturates.
  u128 size() const {
    const u128 d = last.to_u128() - first.to_u128();
    return d == ~u128{0} ? d : d + 1;
  }
  friend bool operator==(const Interval6&, const Interval6&) = default;
};

// Parses one spec: "addr", "addr/len" (len 0 to 128; host bits are masked off, as
// parse_interval does for IPv4) or "addr-addr". Throws UsageError naming the spec.
Interval6 parse_interval6(std::string_view spec);

class Ip6Set {
 public:
  void add(Interval6 iv);
  void add(const Ip6Set& other);
  // Adds every spec of a list separated by commas and/or white space.
  void add_specs(std::string_view list);
  // Reads one spec (or several, comma-separated) per line; '#' starts a comment, blank lines
  // are skipped. Errors name `source` and the line number.
  void add_stream(std::istream& in, const std::string& source);
  void add_file(const std::string& path);

  Ip6Set minus(const Ip6Set& excluded) const;
  bool contains(Ipv6Addr ip) const;
  // The number of addresses, saturated at 2^128 - 1 (only a set holding all of ::/0, 2^128
  // addresses, saturates).
  u128 size() const;
  bool empty() const { return intervals().empty(); }
  const std::vector<Interval6>& intervals() const;

 private:
  void normalize() const;
  mutable std::vector<Interval6> intervals_;
  mutable bool normalized_ = true;
};

// The IANA IPv6 special-purpose ranges, multicast and the IETF-reserved space of
// config/blocklist6.conf, compiled in.
const Ip6Set& default_blocklist6();

}  // namespace dpscan
