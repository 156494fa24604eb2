#include "dpscan/ipv6_targets.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/siphash.hpp"

namespace dpscan {
namespace {

using Range = std::pair<u128, u128>;  // inclusive

// Sorts and merges inclusive ranges, then returns what they leave of [0, n - 1].
std::vector<Range> complement(std::vector<Range> removed, u128 n) {
  std::sort(removed.begin(), removed.end());
  std::vector<Range> kept;
  u128 next = 0;  // the first value not yet accounted for
  for (const auto& [lo, hi] : removed) {
    if (lo > next) kept.push_back({next, lo - 1});
    next = std::max(next, hi + 1);
  }
  if (next < n) kept.push_back({next, n - 1});
  return kept;
}

u128 count_of(const std::vector<Range>& ranges) {
  u128 n = 0;
  for (const auto& [lo, hi] : ranges) n += hi - lo + 1;
  return n;
}

// SipHash-2-4 over a stream of 64-bit words with a fixed key: the list's identity.
class IdentityHash {
 public:
  void add(uint64_t w) {
    s_.compress(w);
    ++words_;
  }
  void add(Ipv6Addr a) {
    add(a.hi());
    add(a.lo());
  }
  void add(u128 v) { add(Ipv6Addr::from_u128(v)); }
  uint64_t finish() {
    s_.compress(words_);
    return s_.finish();
  }

 private:
  siphash_detail::State s_{SipKey{0x7473696c2d367069ULL, 0x6e616373706400ULL}};  // "ip6-list"
  uint64_t words_ = 0;
};

[[noreturn]] void too_many(u128 n) {
  // 2^64 and more cannot be printed as a uint64_t: say it in powers of two.
  const auto bits = n >> 64 ? 64 + std::bit_width(static_cast<uint64_t>(n >> 64))
                            : std::bit_width(static_cast<uint64_t>(n));
  throw UsageError(fmt::format(
      "the IPv6 targets hold about 2^{} addresses, more than a scan can index (2^64 - 60): "
      "scan a generator (such as 2001:db8::/32-64, one address per /64) or fewer prefixes",
      bits - 1));
}

}  // namespace

SortedAddressIndex::SortedAddressIndex(std::shared_ptr<const std::vector<Ipv6Addr>> addrs)
    : addrs_(std::move(addrs)) {
  const auto& v = *addrs_;
  block_hi_.reserve((v.size() >> kBlockBits) + 1);
  for (size_t i = 0; i < v.size(); i += size_t{1} << kBlockBits) block_hi_.push_back(v[i].hi());
  for (size_t b = 0; b < block_hi_.size(); b += size_t{1} << kBlockBits) {
    group_hi_.push_back(block_hi_[b]);
  }
}

std::optional<uint64_t> SortedAddressIndex::find(Ipv6Addr a) const {
  const auto& v = *addrs_;
  if (v.empty()) return std::nullopt;
  const uint64_t h = a.hi();
  // In a table of first high words (of groups, then of blocks), the address is in the last
  // entry whose word is below h, or in one of the entries whose word is h: usually one
  // entry. The search of each level stays inside what the level above left.
  const auto narrow = [h](const std::vector<uint64_t>& firsts, size_t begin, size_t end) {
    const auto b = firsts.begin();
    auto lo =
        std::lower_bound(b + static_cast<ptrdiff_t>(begin), b + static_cast<ptrdiff_t>(end), h);
    if (lo != b + static_cast<ptrdiff_t>(begin)) --lo;
    const auto hi = std::upper_bound(lo, b + static_cast<ptrdiff_t>(end), h);
    return std::pair{static_cast<size_t>(lo - b), static_cast<size_t>(hi - b)};
  };
  const auto [g_lo, g_hi] = narrow(group_hi_, 0, group_hi_.size());
  const auto [b_lo, b_hi] =
      narrow(block_hi_, g_lo << kBlockBits, std::min(g_hi << kBlockBits, block_hi_.size()));
  const auto first = v.begin() + static_cast<ptrdiff_t>(b_lo << kBlockBits);
  const auto last = v.begin() + static_cast<ptrdiff_t>(std::min(b_hi << kBlockBits, v.size()));
  const auto it = std::lower_bound(first, last, a);
  if (it == last || *it != a) return std::nullopt;
  return static_cast<uint64_t>(it - v.begin());
}

Ipv6Targets::Ipv6Targets(const Ipv6TargetSources& s) {
  // Intervals: what the exclusions leave.
  const Ip6Set kept = s.intervals.minus(s.exclusions);
  u128 total = kept.size();
  if (total > kMaxSize) too_many(total);
  for (const auto& iv : kept.intervals())
    intervals_.add(iv.first.to_u128(), static_cast<uint64_t>(iv.size()));
  intervals_.finish();
  counts_.interval_addresses = intervals_.size();

  // Generators lose what the intervals and the exclusions hold.
  Ip6Set dropped = s.intervals;
  dropped.add(s.exclusions);
  build_generators(s, dropped);
  for (const auto& g : generators_) total += g.kept.size();

  build_hitlist(s, kept, dropped);
  if (hitlist_) total += hitlist_->kept.size();
  if (total > kMaxSize) too_many(total);
  if (total == 0) throw UsageError("no target addresses");
  size_ = static_cast<uint64_t>(total);
  hash_identity();
}

void Ipv6Targets::build_generators(const Ipv6TargetSources& s, const Ip6Set& dropped) {
  // Overlapping generators would scan some prefixes twice, or the same prefix at two
  // lengths: refuse them.
  std::vector<const GeneratorSpec*> by_base;
  for (const auto& g : s.generators) by_base.push_back(&g);
  std::sort(by_base.begin(), by_base.end(),
            [](const GeneratorSpec* a, const GeneratorSpec* b) { return a->base < b->base; });
  for (size_t i = 1; i < by_base.size(); ++i) {
    if (by_base[i]->base <= by_base[i - 1]->range().last) {
      throw UsageError(fmt::format("the generators '{}' and '{}' overlap: give one of them only",
                                   by_base[i - 1]->text, by_base[i]->text));
    }
  }

  u128 total = intervals_.size();
  for (const auto& spec : s.generators) {
    const PrefixGenerator gen(spec, s.iid_key);
    const Interval6 outer = spec.range();
    const u128 base = outer.first.to_u128();
    const unsigned h = 128 - spec.inner;
    const u128 host_mask = ~Ipv6Addr::prefix_mask(spec.inner).to_u128();
    const auto prefix_of = [&](u128 a) { return h == 128 ? u128{0} : (a - base) >> h; };

    // Each dropped range removes the prefixes it covers whole, and the (at most two) prefixes
    // it covers in part when their address falls inside it.
    std::vector<Range> removed;
    const auto& d = dropped.intervals();
    auto it = std::lower_bound(d.begin(), d.end(), outer.first,
                               [](const Interval6& iv, Ipv6Addr x) { return iv.last < x; });
    for (; it != d.end() && it->first <= outer.last; ++it) {
      const u128 f = std::max(it->first, outer.first).to_u128();
      const u128 l = std::min(it->last, outer.last).to_u128();
      const u128 jf = prefix_of(f), jl = prefix_of(l);
      const bool head_part = ((f - base) & host_mask) != 0;
      const bool tail_part = ((l - base) & host_mask) != host_mask;
      const auto remove_if_inside = [&](u128 j) {
        const u128 a = gen.address(static_cast<uint64_t>(j)).to_u128();
        if (a >= f && a <= l) removed.push_back({j, j});
      };
      if (jf == jl && (head_part || tail_part)) {
        remove_if_inside(jf);
        continue;
      }
      const u128 whole_lo = head_part ? jf + 1 : jf;
      const u128 whole_hi = tail_part ? jl - 1 : jl;
      if (whole_lo <= whole_hi) removed.push_back({whole_lo, whole_hi});
      if (head_part) remove_if_inside(jf);
      if (tail_part) remove_if_inside(jl);
    }
    const std::vector<Range> keep = complement(std::move(removed), spec.prefixes());
    Ipv6TargetCounts::Generator c;
    c.prefixes = spec.prefixes();
    const u128 kept = count_of(keep);
    c.removed = c.prefixes - kept;
    total += kept;
    if (total > kMaxSize) too_many(total);
    c.kept = static_cast<uint64_t>(kept);
    counts_.generators.push_back(c);

    Generator g{gen, {}};
    for (const auto& [lo, hi] : keep) {
      g.kept.add(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi - lo + 1));
    }
    g.kept.finish();
    generators_.push_back(std::move(g));
  }
}

void Ipv6Targets::build_hitlist(const Ipv6TargetSources& s, const Ip6Set& kept,
                                const Ip6Set& dropped) {
  if (!s.hitlist) return;
  auto h = std::make_shared<Hitlist>(s.hitlist);
  const auto& v = *s.hitlist;
  const auto pos = [&v](std::vector<Ipv6Addr>::const_iterator it) {
    return static_cast<u128>(it - v.begin());
  };
  // The positions to leave out, as inclusive ranges; the three kinds are disjoint.
  std::vector<Range> holes;
  const auto drop_inside = [&](const Ip6Set& set) {
    uint64_t n = 0;
    for (const auto& iv : set.intervals()) {
      const auto lo = std::lower_bound(v.begin(), v.end(), iv.first);
      const auto hi = std::upper_bound(lo, v.end(), iv.last);
      if (lo == hi) continue;
      holes.push_back({pos(lo), pos(hi) - 1});
      n += static_cast<uint64_t>(hi - lo);
    }
    return n;
  };
  counts_.hitlist_excluded = drop_inside(s.exclusions);
  counts_.hitlist_in_intervals = drop_inside(kept);
  for (const auto& g : generators_) {
    const Interval6 outer = g.gen.spec().range();
    const auto lo = std::lower_bound(v.begin(), v.end(), outer.first);
    const auto hi = std::upper_bound(lo, v.end(), outer.last);
    for (auto it = lo; it != hi; ++it) {
      if (g.gen.index_of(*it) && !dropped.contains(*it)) {
        holes.push_back({pos(it), pos(it)});
        ++counts_.hitlist_generated;
      }
    }
  }
  for (const auto& [lo, hi] : complement(std::move(holes), v.size())) {
    h->kept.add(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi - lo + 1));
  }
  h->kept.finish();
  counts_.hitlist_kept = h->kept.size();
  hitlist_ = std::move(h);
}

void Ipv6Targets::hash_identity() {
  IdentityHash hash;
  hash.add(intervals_.run_count());
  for (size_t k = 0; k < intervals_.run_count(); ++k) {
    hash.add(intervals_.run_first(k));
    hash.add(intervals_.run_size(k));
  }
  hash.add(generators_.size());
  for (const auto& g : generators_) {
    const GeneratorSpec& spec = g.gen.spec();
    hash.add(spec.base);
    hash.add(uint64_t{spec.outer} << 8 | spec.inner);
    hash.add(static_cast<uint64_t>(spec.iid.kind));
    hash.add(spec.iid.kind == InterfaceId::kFixed ? spec.iid.fixed : Ipv6Addr());
    hash.add(spec.iid.kind == InterfaceId::kRandom ? g.gen.key() : 0);
    hash.add(g.kept.run_count());
    for (size_t k = 0; k < g.kept.run_count(); ++k) {
      hash.add(g.kept.run_first(k));
      hash.add(g.kept.run_size(k));
    }
  }
  hash.add(hitlist_ ? hitlist_->kept.size() : 0);
  if (hitlist_) {
    const auto& v = hitlist_->index.addresses();
    for (size_t k = 0; k < hitlist_->kept.run_count(); ++k) {
      const uint64_t first = hitlist_->kept.run_first(k);
      for (uint64_t p = first; p < first + hitlist_->kept.run_size(k); ++p) hash.add(v[p]);
    }
  }
  identity_ = hash.finish();
}

std::optional<uint64_t> Ipv6Targets::index_of(Ipv6Addr a) const {
  if (const auto r = intervals_.rank(a.to_u128())) return *r;
  uint64_t base = intervals_.size();
  for (const auto& g : generators_) {
    if (const auto j = g.gen.index_of(a)) {
      const auto r = g.kept.rank(*j);
      if (r) return base + *r;
      return std::nullopt;  // generators do not overlap, and the hitlist has none of theirs
    }
    base += g.kept.size();
  }
  if (!hitlist_) return std::nullopt;
  const auto p = hitlist_->index.find(a);
  if (!p) return std::nullopt;
  const auto r = hitlist_->kept.rank(*p);
  if (!r) return std::nullopt;
  return base + *r;
}

}  // namespace dpscan
