#include <doctest/doctest.h>

#include "dpscan/dedup.hpp"
#include "dpscan/target_space.hpp"

using namespace dpscan;

TEST_CASE("exact dedup reports each index once") {
  IpSet s;
  s.add({0xc6120000u, 0xc6123fffu});
  const TargetSpace space(s, {22, 80, 443});
  Dedup d(space.size(), 1 << 20);
  CHECK(d.mode() == "exact");
  for (uint64_t i = 0; i < space.size(); ++i) REQUIRE(d.first(i));
  for (uint64_t i = 0; i < space.size(); ++i) REQUIRE_FALSE(d.first(i));
}

TEST_CASE("beyond the memory budget a window is used") {
  IpSet s;
  s.add({0, 0xffffffffu});
  const TargetSpace space(s, {80});
  Dedup d(space.size(), 1 << 16);
  CHECK(d.mode() == "window");
  CHECK(d.first(12345));
  CHECK_FALSE(d.first(12345));
}
