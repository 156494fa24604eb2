// The addresses of an IPv6 scan: the address list of IndexSpace<Ipv6Targets>
// (target_space.hpp), as Ipv4Intervals is for IPv4. Three kinds of sources, numbered one
// after the other:
//   [0, A)      target intervals (addresses, prefixes, ranges), ascending;
//   [A, A+G)    each generator's prefixes in turn, ascending (prefix_generator.hpp);
//   [A+G, N)    the hitlist's addresses, ascending (hitlist.hpp).
// Every address is in the list once: intervals lose what the exclusions cover; a generator
// loses the prefixes whose address is in an interval or an exclusion; the hitlist loses the
// addresses that an interval, an exclusion or a generator already has. Generators whose
// outer prefixes overlap are refused. Everything removed is counted (counts()).
//
// at() is on the TX path (once per probe), index_of() on the RX path (once per answer):
// neither allocates or throws. The hitlist is shared, never copied (10^8 addresses are
// 1.6 GB, and plans are copied), and searched through a two-level index of the high words
// of every 64th and every 4096th address, so that index_of touches about eight cache lines
// where a plain binary search over 10^8 addresses would touch 27.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/int128.hpp"
#include "dpscan/ip6_set.hpp"
#include "dpscan/prefix_generator.hpp"
#include "dpscan/rank_table.hpp"

namespace dpscan {

struct Ipv6TargetSources {
  Ip6Set intervals;                                      // addresses, prefixes and ranges given
  std::vector<GeneratorSpec> generators;                 // parse_generator()
  std::shared_ptr<const std::vector<Ipv6Addr>> hitlist;  // sorted, distinct; may be null
  Ip6Set exclusions;                                     // the user's and the default blocklist
  uint64_t iid_key = 0;                                  // the key of random interface IDs
};

struct Ipv6TargetCounts {
  uint64_t interval_addresses = 0;  // kept from the intervals
  struct Generator {
    u128 prefixes = 0;  // 2^(inner - outer)
    uint64_t kept = 0;
    u128 removed = 0;  // their address is in an interval or an exclusion
  };
  std::vector<Generator> generators;
  uint64_t hitlist_kept = 0;
  uint64_t hitlist_excluded = 0;      // in an exclusion
  uint64_t hitlist_in_intervals = 0;  // in an interval (and not excluded)
  uint64_t hitlist_generated = 0;     // a generator's address (and in neither of the above)
};

// A sorted, distinct address vector with an index for finding an address with few cache
// misses. Shared between copies of the plan.
class SortedAddressIndex {
 public:
  explicit SortedAddressIndex(std::shared_ptr<const std::vector<Ipv6Addr>> addrs);
  const std::vector<Ipv6Addr>& addresses() const { return *addrs_; }
  // The position of `a`, if it is there.
  std::optional<uint64_t> find(Ipv6Addr a) const;

 private:
  static constexpr unsigned kBlockBits = 6;  // 64 addresses per block, 64 blocks per group
  std::shared_ptr<const std::vector<Ipv6Addr>> addrs_;
  std::vector<uint64_t> block_hi_;  // hi() of address 64 b
  std::vector<uint64_t> group_hi_;  // hi() of address 4096 g
};

class Ipv6Targets {
 public:
  using Addr = Ipv6Addr;
  // The largest index space: the largest tabled cyclic-group prime is 2^64 - 59 (cyclic.hpp),
  // whose group has 2^64 - 60 elements.
  static constexpr uint64_t kMaxSize = ~uint64_t{0} - 59;

  // Throws UsageError when no address is left, when there are more than kMaxSize, or when
  // two generators overlap.
  explicit Ipv6Targets(const Ipv6TargetSources& sources);

  uint64_t size() const { return size_; }

  // Precondition: i < size().
  Ipv6Addr at(uint64_t i) const {
    if (i < intervals_.size()) return Ipv6Addr::from_u128(intervals_.at(i));
    i -= intervals_.size();
    for (const auto& g : generators_) {
      if (i < g.kept.size()) return g.gen.address(g.kept.at(i));
      i -= g.kept.size();
    }
    return hitlist_->index.addresses()[hitlist_->kept.at(i)];
  }

  std::optional<uint64_t> index_of(Ipv6Addr a) const;

  // A hint a few probes ahead of at(i): the hitlist address it will read.
  void prefetch(uint64_t i) const {
    const uint64_t first_hit = size_ - (hitlist_ ? hitlist_->kept.size() : 0);
    if (i < first_hit) return;
    __builtin_prefetch(&hitlist_->index.addresses()[hitlist_->kept.at(i - first_hit)]);
  }

  // A 64-bit hash of which addresses the list holds, in which order (checkpoints compare
  // it): the intervals, each generator's spec, key (random interface IDs) and kept prefixes,
  // and every hitlist address kept, hashed once here.
  uint64_t identity() const { return identity_; }
  const Ipv6TargetCounts& counts() const { return counts_; }

 private:
  struct Generator {
    PrefixGenerator gen;
    RankTable<uint64_t> kept;  // the prefix indices kept
  };
  struct Hitlist {
    explicit Hitlist(std::shared_ptr<const std::vector<Ipv6Addr>> a) : index(std::move(a)) {}
    SortedAddressIndex index;
    RankTable<uint64_t> kept;  // the positions kept
  };

  void build_generators(const Ipv6TargetSources& s, const Ip6Set& dropped);
  void build_hitlist(const Ipv6TargetSources& s, const Ip6Set& kept, const Ip6Set& dropped);
  void hash_identity();

  RankTable<u128> intervals_;
  std::vector<Generator> generators_;
  std::shared_ptr<const Hitlist> hitlist_;
  uint64_t size_ = 0;
  uint64_t identity_ = 0;
  Ipv6TargetCounts counts_;
};

}  // namespace dpscan
