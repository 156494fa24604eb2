#include <doctest/doctest.h>

#include <random>
#include <set>
#include <sstream>

#include "dpscan/addr.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ip_set.hpp"

using namespace dpscan;

TEST_CASE("Ipv4Addr::parse accepts dotted quads and rejects the rest") {
  CHECK(Ipv4Addr::parse("198.18.0.1") == Ipv4Addr(0xc6120001u));
  CHECK(Ipv4Addr::parse("0.0.0.0") == Ipv4Addr(0u));
  CHECK(Ipv4Addr::parse("255.255.255.255") == Ipv4Addr(0xffffffffu));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d",
                          "1..2.3", "1.2.3.-4", "1.2.3.1000"}) {
    CAPTURE(bad);
    CHECK_FALSE(Ipv4Addr::parse(bad).has_value());
  }
  CHECK(Ipv4Addr(0xc6120001u).to_string() == "198.18.0.1");
  CHECK(Ipv4Addr(0).to_string() == "0.0.0.0");
  CHECK(Ipv4Addr(0xffffffffu).to_string() == "255.255.255.255");
}

TEST_CASE("MacAddr::parse and to_string") {
  const auto m = MacAddr::parse("02:00:0A:ff:10:01");
  REQUIRE(m.has_value());
  CHECK(m->to_string() == "02:00:0a:ff:10:01");
  CHECK(m->bytes() == std::array<uint8_t, 6>{2, 0, 0x0a, 0xff, 0x10, 1});
  for (const char* bad : {"", "02:00:0a:ff:10", "02:00:0a:ff:10:01:02", "02-00-0a-ff-10-01",
                          "0g:00:0a:ff:10:01", "2:00:0a:ff:10:01:", "02:00:0a:ff:10:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(MacAddr::parse(bad).has_value());
  }
}

TEST_CASE("parse_interval: CIDR, ranges, addresses") {
  CHECK(parse_interval("198.18.0.0/24") == Interval{0xc6120000u, 0xc61200ffu});
  CHECK(parse_interval("198.18.0.77/24") ==
        Interval{0xc6120000u, 0xc61200ffu});  // host bits masked
  CHECK(parse_interval("0.0.0.0/0") == Interval{0, 0xffffffffu});
  CHECK(parse_interval("1.2.3.4/32") == Interval{0x01020304u, 0x01020304u});
  CHECK(parse_interval("1.2.3.4-1.2.3.10") == Interval{0x01020304u, 0x0102030au});
  CHECK(parse_interval(" 1.2.3.4 ") == Interval{0x01020304u, 0x01020304u});
  for (const char* bad :
       {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.9-1.2.3.1", "x", "1.2.3.4-", "/8"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_interval(bad), UsageError);
  }
}

TEST_CASE("IpSet merges overlaps and adjacency, subtracts exclusions") {
  IpSet s;
  s.add_specs("10.0.0.0/24, 10.0.1.0/24 10.0.0.128-10.0.0.200,10.0.3.1");
  REQUIRE(s.intervals().size() == 2);
  CHECK(s.intervals()[0] == Interval{0x0a000000u, 0x0a0001ffu});
  CHECK(s.size() == 513);
  IpSet ex;
  ex.add_specs("10.0.0.0/30,10.0.1.255,10.0.3.0/24");
  const IpSet r = s.minus(ex);
  CHECK(r.size() == 513 - 4 - 1 - 1);
  CHECK_FALSE(r.contains(Ipv4Addr(0x0a000002u)));
  CHECK(r.contains(Ipv4Addr(0x0a000004u)));
  CHECK_FALSE(r.contains(Ipv4Addr(0x0a0001ffu)));
  CHECK_FALSE(r.contains(Ipv4Addr(0x0a000301u)));
}

TEST_CASE("IpSet at the edges of the address space") {
  IpSet all;
  all.add_specs("0.0.0.0/0");
  CHECK(all.size() == (uint64_t{1} << 32));
  IpSet ex;
  ex.add_specs("0.0.0.0,255.255.255.255");
  const IpSet r = all.minus(ex);
  CHECK(r.size() == (uint64_t{1} << 32) - 2);
  CHECK(r.intervals().front().first == Ipv4Addr(1));
  CHECK(r.intervals().back().last == Ipv4Addr(0xfffffffeu));
  CHECK(all.minus(all).empty());
}

TEST_CASE("IpSet::minus agrees with a brute-force reference on random sets") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    IpSet a, b;
    std::set<uint32_t> ref_a, ref_b;
    auto fill = [&](IpSet& s, std::set<uint32_t>& ref) {
      const int n = static_cast<int>(rng() % 6);
      for (int i = 0; i < n; ++i) {
        const uint32_t first = rng() % 300;
        const uint32_t last = first + rng() % 40;
        s.add({first, last});
        for (uint32_t x = first; x <= last; ++x) ref.insert(x);
      }
    };
    fill(a, ref_a);
    fill(b, ref_b);
    const IpSet d = a.minus(b);
    std::set<uint32_t> got, want;
    for (const auto& iv : d.intervals())
      for (uint32_t x = iv.first.value(); x <= iv.last.value(); ++x) got.insert(x);
    for (uint32_t x : ref_a)
      if (!ref_b.count(x)) want.insert(x);
    CHECK(got == want);
    // Normalised: sorted, disjoint, not adjacent.
    for (size_t i = 1; i < d.intervals().size(); ++i)
      CHECK(uint64_t{d.intervals()[i - 1].last.value()} + 1 < d.intervals()[i].first.value());
  }
}

TEST_CASE("spec files: comments, blank lines, errors with line numbers") {
  std::istringstream in(
      "# lab\n198.18.0.0/30\n\n  198.18.1.1 # one host\n198.18.2.0-198.18.2.1,198.18.3.3\n");
  IpSet s;
  s.add_stream(in, "t.txt");
  CHECK(s.size() == 4 + 1 + 2 + 1);
  std::istringstream bad("198.18.0.0/30\n198.18.0.999\n");
  IpSet t;
  try {
    t.add_stream(bad, "t.txt");
    FAIL("no exception");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("t.txt:2:") == 0);
  }
  CHECK_THROWS_AS(t.add_file("/nonexistent/targets.txt"), UsageError);
}

TEST_CASE("default blocklist holds the IANA special-purpose ranges") {
  const IpSet& b = default_blocklist();
  for (const char* ip :
       {"0.1.2.3", "10.9.9.9", "100.64.0.1", "127.0.0.1", "169.254.1.1", "172.16.0.1", "192.0.0.1",
        "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.2", "198.51.100.1",
        "203.0.113.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"}) {
    CAPTURE(ip);
    CHECK(b.contains(*Ipv4Addr::parse(ip)));
  }
  for (const char* ip : {"1.1.1.1", "8.8.8.8", "198.20.0.1", "100.128.0.1", "172.32.0.1"}) {
    CAPTURE(ip);
    CHECK_FALSE(b.contains(*Ipv4Addr::parse(ip)));
  }
}
