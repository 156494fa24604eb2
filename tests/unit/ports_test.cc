#include <doctest/doctest.h>

#include "dpscan/error.hpp"
#include "dpscan/ports.hpp"

using namespace dpscan;

TEST_CASE("port lists: sorted, unique, ranges") {
  CHECK(parse_ports("80") == std::vector<uint16_t>{80});
  CHECK(parse_ports("443,22,80,22") == std::vector<uint16_t>{22, 80, 443});
  CHECK(parse_ports("20-23, 22") == std::vector<uint16_t>{20, 21, 22, 23});
  CHECK(parse_ports("1-65535").size() == 65535);
  CHECK(parse_ports("65535") == std::vector<uint16_t>{65535});
}

TEST_CASE("bad port lists are rejected") {
  for (const char* bad :
       {"", "0", "65536", "80-70", "abc", "80,", ",80", "1-", "-5", "8o", "0-10", "99999"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_ports(bad), UsageError);
  }
}
