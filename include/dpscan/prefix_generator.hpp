// The prefix x interface-ID generator (XMap's target windows: Li et al., "Fast IPv6 Network
// Periphery Discovery and Security Implications", DSN 2021): "2001:db8::/32-48" stands for
// every /48 inside 2001:db8::/32, 2^16 prefixes, each scanned at one address: the prefix's
// bits followed by an interface ID chosen by --ipv6-iid:
//   low     ::1, the address routers and servers most often hold;
//   random  a keyed hash of the prefix's index (64-bit key from the scan's seed: the same
//           key gives the same addresses, so a resumed or sharded scan agrees with itself);
//   FIXED   an address whose bits above the inner prefix length are zero (::1, ::dead:beef).
// Only the interface ID's bits (128 - inner) are used: with an inner length of 128 there are
// none and the prefix is the address.
//
// Prefix j's address is a few shifts and, for random, two SplitMix64 mixes (Steele, Lea and
// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): no division, no
// table, cheap enough per probe. The inverse (RX path) recomputes the address of the prefix
// an answer comes from and compares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dpscan/addr.hpp"
#include "dpscan/int128.hpp"
#include "dpscan/ip6_set.hpp"

namespace dpscan {

struct InterfaceId {
  enum Kind { kLow, kRandom, kFixed } kind = kLow;
  Ipv6Addr fixed;  // kFixed
  friend bool operator==(const InterfaceId&, const InterfaceId&) = default;
};
// "low", "random" or an IPv6 address (FIXED); anything else is a UsageError.
InterfaceId parse_interface_id(std::string_view text);

struct GeneratorSpec {
  Ipv6Addr base;       // the outer prefix, host bits cleared
  unsigned outer = 0;  // outer prefix length
  unsigned inner = 0;  // inner prefix length, outer <= inner <= 128, inner - outer <= 64
  InterfaceId iid;
  std::string text;  // as given, for messages

  // 2^(inner - outer): up to 2^64, so a u128.
  u128 prefixes() const { return u128{1} << (inner - outer); }
  Interval6 range() const { return {base, base | ~Ipv6Addr::prefix_mask(outer)}; }
};

// True when `spec` has the generator form ADDR/OUTER-INNER (a '-' after the '/'), so that a
// target list can tell it from an address, a prefix or a range.
bool is_generator_spec(std::string_view spec);

// Parses "ADDR/OUTER-INNER" with the interface ID to use. Throws UsageError naming the spec
// for junk, lengths over 128, an inner length shorter than the outer, more than 2^64
// prefixes (inner - outer > 64), and a FIXED interface ID with bits above the inner length.
// Host bits of ADDR beyond OUTER are cleared, as for a prefix.
GeneratorSpec parse_generator(std::string_view spec, InterfaceId iid);

class PrefixGenerator {
 public:
  PrefixGenerator() = default;
  PrefixGenerator(const GeneratorSpec& spec, uint64_t key);

  const GeneratorSpec& spec() const { return spec_; }
  uint64_t key() const { return key_; }

  // The address scanned in prefix j (j < spec().prefixes()).
  Ipv6Addr address(uint64_t j) const {
    u128 a = base_ | iid_bits(j);
    if (host_bits_ < 128) a |= u128{j} << host_bits_;
    return Ipv6Addr::from_u128(a);
  }

  // j such that address(j) == addr, if there is one.
  std::optional<uint64_t> index_of(Ipv6Addr addr) const {
    const u128 a = addr.to_u128();
    if ((a & outer_mask_) != base_) return std::nullopt;
    const uint64_t j = host_bits_ < 128 ? static_cast<uint64_t>((a - base_) >> host_bits_) : 0;
    if (address(j) != addr) return std::nullopt;
    return j;
  }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  u128 iid_bits(uint64_t j) const {
    if (spec_.iid.kind != InterfaceId::kRandom) return iid_;
    // SplitMix64's j-th output from state `key`, and a second word from another stream.
    const uint64_t z = key_ + (j + 1) * 0x9e3779b97f4a7c15ULL;
    const uint64_t lo = mix(z);
    const uint64_t hi = host_bits_ > 64 ? mix(z ^ 0xd1b54a32d192ed03ULL) : 0;
    return (u128{hi} << 64 | lo) & host_mask_;
  }

  GeneratorSpec spec_;
  u128 base_ = 0;
  u128 outer_mask_ = 0;
  u128 host_mask_ = 0;  // the interface ID's bits
  u128 iid_ = 0;        // low and fixed: the interface ID
  unsigned host_bits_ = 0;
  uint64_t key_ = 0;
};

}  // namespace dpscan
