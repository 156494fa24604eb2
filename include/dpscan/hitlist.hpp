// IPv6 hitlists: files of known addresses (the IPv6 Hitlist Service publishes tens of
// millions a week), one address or prefix per line, '#' comments and blank lines, plain or
// compressed with gzip, xz or zstd (found from the file's first bytes). A hitlist is read as
// a stream, never whole, and becomes a sorted vector of distinct addresses at 16 bytes each:
// 10^8 addresses are 1.6 GB, and loading them stays within 2 GB (docs/benchmarks.md).
//
// Nothing is skipped silently: a line that is neither an address, nor a prefix, nor a
// comment stops the load with its file, line and text; so does a prefix too large to list.
// Exclusions (the user's and the default blocklist) are applied by the caller, with
// remove_in(), so that the counts of the summary can say what each removed.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/ip6_set.hpp"

namespace dpscan {

// A prefix line lists all its addresses only up to a /112 (65,536 addresses): a hitlist
// holds known addresses, and a bigger prefix is a target (2001:db8::/48) or a generator
// (2001:db8::/48-64), which costs no memory per address.
inline constexpr unsigned kHitlistMinPrefix = 112;

struct HitlistCounts {
  uint64_t lines = 0;          // every line read
  uint64_t comment_lines = 0;  // blank or comment-only lines
  uint64_t entries = 0;        // address or prefix lines
  uint64_t listed = 0;         // addresses those lines list (prefixes expanded)
  uint64_t duplicates = 0;     // listed more than once: listed - addresses
  uint64_t addresses = 0;      // distinct addresses kept
};

struct Hitlist {
  std::vector<Ipv6Addr> addresses;  // sorted, distinct
  HitlistCounts counts;
  const char* compression = "none";  // "none", "gzip", "xz" or "zstd"
};

// Loads the hitlist at `path`. Throws UsageError for a file that cannot be read, corrupt or
// truncated compressed data, a bad line ("FILE:LINE: not an IPv6 address or prefix: 'TEXT'",
// TEXT escaped and cut when long), a prefix shorter than /112, or a hitlist without any
// address; RuntimeError for a failing read.
Hitlist load_hitlist(const std::string& path);
// The same from a stream (compressed or not); errors name `source`.
Hitlist load_hitlist(std::istream& in, const std::string& source);

// One line of a hitlist, without its line end.
struct HitlistLine {
  enum Kind { kBlank, kEntry, kInvalid, kPrefixTooBig } kind = kBlank;
  Interval6 range;        // kEntry: the address, or the prefix's addresses
  std::string_view text;  // kInvalid, kPrefixTooBig: the offending text, trimmed
  unsigned prefix = 128;  // kPrefixTooBig: the prefix length
};
HitlistLine parse_hitlist_line(std::string_view line);

// Removes from `sorted` (ascending) every address inside `set`, in place, keeping the order;
// returns how many it removed. O(intervals * log n) plus one move of what follows the first
// removal.
uint64_t remove_in(std::vector<Ipv6Addr>& sorted, const Ip6Set& set);

}  // namespace dpscan
