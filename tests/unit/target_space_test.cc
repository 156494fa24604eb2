#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "dpscan/target_space.hpp"

using namespace dpscan;

namespace {

// Brute-force reference: list every (ip, port) in index order.
std::vector<Target> enumerate(const IpSet& s, const std::vector<uint16_t>& ports) {
  std::vector<Target> out;
  for (const auto& iv : s.intervals())
    for (uint64_t ip = iv.first.value(); ip <= iv.last.value(); ++ip)
      for (size_t slot = 0; slot < ports.size(); ++slot)
        out.push_back(
            {Ipv4Addr(static_cast<uint32_t>(ip)), ports[slot], static_cast<uint16_t>(slot)});
  return out;
}

}  // namespace

TEST_CASE("TargetSpace::at and index_of agree with enumeration") {
  std::mt19937 rng(99);
  for (int round = 0; round < 100; ++round) {
    IpSet s;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const uint32_t first = 0xc6120000u + rng() % 5000;
      s.add({first, static_cast<uint32_t>(first + rng() % 64)});
    }
    std::vector<uint16_t> ports;
    for (int i = 0, np = 1 + static_cast<int>(rng() % 5); i < np; ++i)
      ports.push_back(static_cast<uint16_t>(1 + rng() % 1000));
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    const TargetSpace space(s, ports);
    const auto ref = enumerate(s, ports);
    REQUIRE(space.size() == ref.size());
    for (uint64_t i = 0; i < ref.size(); ++i) {
      REQUIRE(space.at(i) == ref[i]);
      REQUIRE(space.index_of(ref[i].ip, ref[i].port) == i);
    }
    CHECK_FALSE(space.index_of(Ipv4Addr(0x01020304u), ports[0]).has_value());
    CHECK_FALSE(space.index_of(ref[0].ip, 0).has_value());
  }
}

TEST_CASE("TargetSpace covers all of IPv4 x all ports (2^48)") {
  IpSet all;
  all.add({0, 0xffffffffu});
  std::vector<uint16_t> ports;
  for (unsigned p = 1; p <= 65535; ++p) ports.push_back(static_cast<uint16_t>(p));
  const TargetSpace space(all, ports);
  CHECK(space.size() == (uint64_t{1} << 32) * 65535);
  const uint64_t last = space.size() - 1;
  CHECK(space.at(last) == Target{Ipv4Addr(0xffffffffu), 65535, 65534});
  CHECK(space.at(0) == Target{Ipv4Addr(0), 1, 0});
  CHECK(space.index_of(Ipv4Addr(0xffffffffu), 65535) == last);
  CHECK(space.index_of(Ipv4Addr(0x80000000u), 2) == (uint64_t{1} << 31) * 65535 + 1);
}

TEST_CASE("TargetSpace with many intervals (bucket table)") {
  IpSet s;
  for (uint32_t i = 0; i < 3000; ++i) s.add({i * 1000, i * 1000 + (i % 7)});
  const TargetSpace space(s, {80, 443});
  const auto ref = enumerate(s, {80, 443});
  REQUIRE(space.size() == ref.size());
  for (uint64_t i = 0; i < ref.size(); ++i) REQUIRE(space.at(i) == ref[i]);
}
