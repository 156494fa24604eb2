#include <doctest/doctest.h>

#include <map>

#include "dpscan/error.hpp"
#include "dpscan/sources.hpp"

using namespace dpscan;

TEST_CASE("source address lists, ranges and membership") {
  const auto one = parse_sources4("198.19.255.2");
  CHECK(one.size() == 1);
  CHECK(one.pick(Ipv4Addr(0x01020304u), 80) == Ipv4Addr(0xc613ff02u));
  CHECK(one.contains(Ipv4Addr(0xc613ff02u)));
  CHECK_FALSE(one.contains(Ipv4Addr(0xc613ff03u)));

  const auto range = parse_sources4("198.19.255.2-198.19.255.5");
  CHECK(range.size() == 4);
  CHECK(range.contains(Ipv4Addr(0xc613ff05u)));
  CHECK_FALSE(range.contains(Ipv4Addr(0xc613ff06u)));
  CHECK_FALSE(range.contains(Ipv4Addr(0xc613ff01u)));

  const auto list = parse_sources4("198.19.255.9,198.19.255.2,198.19.0.0/31");
  CHECK(list.size() == 4);
  CHECK(list.contains(Ipv4Addr(0xc6130001u)));
  CHECK_FALSE(list.contains(Ipv4Addr(0xc613ff03u)));
  CHECK_THROWS_AS(parse_sources4("198.19.255.300"), UsageError);
  CHECK_THROWS_AS(parse_sources4("10.0.0.0/8"), UsageError);  // too many
}

TEST_CASE("pick spreads targets evenly over the sources and is stable") {
  const auto s = parse_sources4("198.19.255.2-198.19.255.5");
  std::map<Ipv4Addr, int> count;
  for (uint32_t ip = 0; ip < 40000; ++ip) {
    const Ipv4Addr a = s.pick(Ipv4Addr(0xc6120000u + ip), 80);
    REQUIRE(s.contains(a));
    REQUIRE(a == s.pick(Ipv4Addr(0xc6120000u + ip), 80));
    ++count[a];
  }
  CHECK(count.size() == 4);
  for (const auto& [a, n] : count) CHECK(std::abs(n - 10000) < 500);
}
