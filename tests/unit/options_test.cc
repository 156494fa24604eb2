#include <doctest/doctest.h>

#include <vector>

#include "dpscan/campaign.hpp"
#include "dpscan/error.hpp"
#include "dpscan/plan.hpp"

using namespace dpscan;

namespace {

std::optional<ScanPlan> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "dpscan");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
  try {
    parse(std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a lab scan command line") {
  const auto p = parse(
      {"--no-default-blocklist", "198.18.0.0/24,198.18.1.1", "198.18.2.0-198.18.2.9", "-p", "22,80",
       "--device", "net_null0", "--source-ip", "198.19.255.2", "--gateway-ip", "198.19.255.1",
       "--rate", "50000", "--report", "open,closed", "--seed", "42", "--exclude", "198.18.0.0/30"});
  REQUIRE(p);
  CHECK(p->addresses.size() == 256 + 1 + 10 - 4);
  CHECK(p->ports == std::vector<uint16_t>{22, 80});
  CHECK(p->rate_pps == 50000);
  CHECK(p->seed == 42);
  CHECK(p->seed_given);
  CHECK(p->report == std::array<bool, 4>{true, true, false, false});
  CHECK(p->gateway_ip == Ipv4Addr(0xc613ff01u));
}

TEST_CASE("the default blocklist applies unless disabled") {
  CHECK(error_of({"198.18.0.0/24", "-p", "80", "--dry-run"}).find("--no-default-blocklist") !=
        std::string::npos);
  const auto p = parse({"10.0.0.0/7", "-p", "80", "--dry-run"});  // 10/8 excluded, 11/8 kept
  REQUIRE(p);
  CHECK(p->addresses.size() == (1u << 24));
}

TEST_CASE("usage errors") {
  CHECK(error_of({"--bogus"}).find("bogus") != std::string::npos);
  CHECK(error_of({"-p", "80", "--dry-run"}).find("no targets") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "--dry-run"}).find("no ports") != std::string::npos);
  CHECK(error_of({"1.2.3.400", "-p", "80", "--dry-run"}).find("1.2.3.400") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "0", "--dry-run"}).find("port") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80"}).find("--device") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--device", "net_null0"}).find("--source-ip") !=
        std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--device", "net_null0", "--source-ip", "1.1.1.1"})
            .find("gateway") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--output-format", "xml2"}).find("xml2") !=
        std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--report", "open,weird"}).find("weird") !=
        std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--rate", "-5"}).find("rate") !=
        std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--rate", "fast"}).find("rate") !=
        std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--gateway-mac", "zz:00:00:00:00:00"})
            .find("MAC") != std::string::npos);
  CHECK(error_of({"1.2.3.4", "-p", "80", "--dry-run", "--targets-file", "/nonexistent"})
            .find("/nonexistent") != std::string::npos);
}

TEST_CASE("--tx-cpus/--rx-cpus: CPU lists set the lcore counts; malformed lists are refused") {
  auto cpus = [](const char* tx, const char* rx) {
    return parse({"--dry-run", "--no-default-blocklist", "198.18.0.0/30", "-p", "80", "--tx-cpus",
                  tx, "--rx-cpus", rx});
  };
  const auto p = cpus("3,1,4-6", "0");
  REQUIRE(p);
  CHECK(p->tx_cpus == std::vector<unsigned>{3, 1, 4, 5, 6});
  CHECK(p->tx_lcores == 5);
  CHECK(p->rx_cpus == std::vector<unsigned>{0});
  CHECK(p->rx_lcores == 1);
  CHECK(cpus("0-63", "1023")->tx_lcores == 64);
  for (const char* bad : {"", "3-", "-3", "3-,", "1,,2", ",1", "1,", " 1", "1 ", "x", "3-1", "1024",
                          "4294967299", "4294967296-4294967297", "00001", "0-64", "2,2", "1-3,2"}) {
    CAPTURE(bad);
    CHECK(error_of({"--dry-run", "--no-default-blocklist", "198.18.0.0/30", "-p", "80", "--tx-cpus",
                    bad})
              .find("--tx-cpus") != std::string::npos);
  }
  CHECK(error_of({"--dry-run", "--no-default-blocklist", "198.18.0.0/30", "-p", "80", "--tx-lcores",
                  "2", "--tx-cpus", "1"})
            .find("disagree") != std::string::npos);
  CHECK(parse({"--dry-run", "--no-default-blocklist", "198.18.0.0/30", "-p", "80", "--tx-lcores",
               "2", "--tx-cpus", "0,1"}));
}

TEST_CASE("campaign values are parsed once, and an error is placed at its value") {
  auto at = [](std::string v, std::string where) {
    return SourcedValue{{std::move(v)}, std::move(where), {}};
  };
  OptionMap m;
  m["targets"] = {{"198.18.0.0/24", "198.18.1.300", "198.18.2.0/24"},
                  "c.yaml:4:12",
                  {"c.yaml:4:13", "c.yaml:5:13", "c.yaml:6:13"}};
  m["ports"] = at("80", "c.yaml:7:12");
  m["dry-run"] = at("true", "c.yaml:8:14");
  m["no-default-blocklist"] = at("true", "c.yaml:9:27");
  auto error = [&](const OptionMap& opts) {
    try {
      plan_from_options({"one", "c.yaml:3:5", opts});
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // The bad item of a list, at the item's place.
  CHECK(error(m).rfind("c.yaml:5:13: 'targets': invalid target '198.18.1.300'", 0) == 0);
  m["targets"].values[1] = "198.18.1.0/24";
  // A value Boost cannot convert, at its place.
  m["rate"] = at("fast", "c.yaml:10:9");
  CHECK(error(m).rfind("c.yaml:10:9: 'rate': ", 0) == 0);
  // A value the plan builder refuses, at its place.
  m["rate"] = at("-5", "c.yaml:10:9");
  CHECK(error(m).rfind("c.yaml:10:9: 'rate': --rate must be 0 or more", 0) == 0);
  m.erase("rate");
  // A contradiction between options, at the scan's place.
  m["shard"] = at("1/2", "c.yaml:11:10");
  CHECK(error(m).rfind("c.yaml:3:5: scan 'one': --shard needs --seed", 0) == 0);
  m.erase("shard");
  const ScanPlan p = plan_from_options({"one", "c.yaml:3:5", m});
  CHECK(p.name == "one");
  CHECK(p.addresses.size() == 768);
}
