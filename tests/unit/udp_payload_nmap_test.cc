// nmap's UDP payload file: entries per port, escapes, keywords after entries, errors.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "dpscan/error.hpp"
#include "dpscan/udp_payload.hpp"

using namespace dpscan::udp;
using dpscan::UsageError;
using Buf = std::vector<uint8_t>;

namespace {

struct TempFile {
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/dpscan-nmap-payloads-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

Buf bytes_of(const Payload& p) {
  Buf out(p.size());
  PayloadCookie c{};
  p.write(out.data(), c, {});
  return out;
}

std::string error_of(const std::string& content, uint16_t port = 53, size_t max = 1472) {
  const TempFile f(content);
  try {
    load_nmap_payloads(f.path, port, max);
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    return msg.starts_with(f.path) ? "FILE" + msg.substr(f.path.size()) : msg;
  }
  return "(no error)";
}

// The start of nmap 7.93's file, as it is.
const char* kSample = R"(# Nmap nmap payload database -*- mode: fundamental; -*-
# GenericLines. Use for the echo service.
udp 7 "\x0D\x0A\x0D\x0A"
# DNSStatusRequest
udp 53,69,5353,26198 "\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"
# DNS VER
udp 53,5353,26198
  "\x77\x77\x01\x00\x00"
  "\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"

udp 500 "\x00\x11\x22\x33" # comment
source 500
udp 32768-65535 "a\tb\"c\\" "\r\n"
)";

}  // namespace

TEST_CASE("nmap payloads: the entries for a port, in order, with C escapes") {
  const TempFile f(kSample);
  const auto dns = load_nmap_payloads(f.path, 53, 1472);
  REQUIRE(dns.size() == 2);
  CHECK(dns[0].name() == "nmap:" + f.path + ":5");
  CHECK(dns[0].port() == 53);
  CHECK(bytes_of(dns[0]) == Buf{0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const std::string ver(
      "\x77\x77\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04"
      "bind\x00\x00\x10\x00\x03",
      30);
  CHECK(bytes_of(dns[1]) == Buf(ver.begin(), ver.end()));
  CHECK(dns[1].name() == "nmap:" + f.path + ":7");
  CHECK(dns[1].check(Buf{1, 2, 3}, PayloadCookie{}).ok);  // no cookie: the source port only
  CHECK(dns[1].check(Buf{1, 2, 3}, PayloadCookie{}).bits == 0);

  CHECK(bytes_of(load_nmap_payloads(f.path, 7, 1472).at(0)) == Buf{13, 10, 13, 10});
  CHECK(bytes_of(load_nmap_payloads(f.path, 500, 1472).at(0)) == Buf{0, 0x11, 0x22, 0x33});
  const auto high = load_nmap_payloads(f.path, 40000, 1472);
  REQUIRE(high.size() == 1);
  CHECK(bytes_of(high[0]) == Buf{'a', '\t', 'b', '"', 'c', '\\', '\r', '\n'});
  CHECK(load_nmap_payloads(f.path, 80, 1472).empty());
  CHECK(load_nmap_payloads(f.path, 32767, 1472).empty());
}

TEST_CASE("nmap payloads: errors at file:line") {
  CHECK(error_of("udp 53 \"\\q\"\n") == "FILE:1: unknown escape \\q");
  CHECK(error_of("udp 53 \"\\x4\"\n") == "FILE:1: \\x needs two hex digits");
  CHECK(error_of("\nudp 53 \"abc\n\"\n") == "FILE:2: a string is not closed");
  CHECK(error_of("udp 53\n\nsource 5\n") == "FILE:3: expected a quoted payload after the ports");
  CHECK(error_of("udp \"ab\"\n") == "FILE:1: expected a port list after udp");
  CHECK(error_of("udp 53,x \"ab\"\n") == "FILE:1: bad port list item 'x'");
  CHECK(error_of("udp 9-3 \"ab\"\n") == "FILE:1: bad port list item '9-3'");
  CHECK(error_of("udp 70000 \"ab\"\n") == "FILE:1: bad port list item '70000'");
  CHECK(error_of("tcp 53 \"ab\"\n") == "FILE:1: expected udp, found 'tcp'");
  CHECK(error_of("udp 53 \"ab\"\n\"cd\"?\n") == "FILE:2: expected udp, found '?'");
  CHECK(error_of("udp 53 \"ab\"\nfuture 1 2 \"x\"\n") == "(no error)");  // keywords ignored
  CHECK(error_of("\"ab\"\n") == "FILE:1: a string outside an entry");
  CHECK(error_of("udp 53 \"abcdef\"\n", 53, 4) ==
        "FILE:1: the payload is 6 bytes, more than the 4 a UDP probe carries unfragmented here");
  CHECK(error_of("udp 54 \"abcdef\"\n", 53, 4) == "(no error)");  // another port's: not used
  CHECK(error_of("") == "(no error)");
  try {
    load_nmap_payloads("/nonexistent/nmap-payloads", 53, 1472);
    FAIL("no error");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()) ==
          "cannot read nmap payloads '/nonexistent/nmap-payloads': No such file or directory "
          "(nmap's payload file: Debian's package nmap-common installs it as "
          "/usr/share/nmap/nmap-payloads)");
  }
  CHECK_THROWS_WITH_AS(load_nmap_payloads("/tmp", 53, 1472),
                       "cannot read nmap payloads '/tmp': it is a directory (nmap's payload file: "
                       "Debian's package nmap-common installs it as /usr/share/nmap/nmap-payloads)",
                       UsageError);
  CHECK_THROWS_WITH_AS(load_nmap_payloads("/dev/null", 53, 1472),
                       "cannot read nmap payloads '/dev/null': not a regular file (nmap's payload "
                       "file: Debian's package nmap-common installs it as "
                       "/usr/share/nmap/nmap-payloads)",
                       UsageError);
}

TEST_CASE("nmap payloads: parsed once, then per port") {
  const auto entries = parse_nmap_payloads(kSample, "S");
  REQUIRE(entries.size() == 5);
  CHECK(entries[1].ports == std::vector<std::pair<uint16_t, uint16_t>>{
                                {53, 53}, {69, 69}, {5353, 5353}, {26198, 26198}});
  CHECK(entries[4].ports == std::vector<std::pair<uint16_t, uint16_t>>{{32768, 65535}});
  CHECK(entries[4].line == 13);
  const auto dns = nmap_payloads_for(entries, "S", 53, 1472);
  REQUIRE(dns.size() == 2);
  CHECK(dns[0].name() == "nmap:S:5");  // nmap:ORIGIN:LINE, the origin as the caller gives it
  CHECK(nmap_payloads_for(entries, "S", 80, 1472).empty());
  CHECK(nmap_payloads_for(entries, "S", 65535, 1472).size() == 1);
}

TEST_CASE("nmap payload specs: nmap:PORT, nmap:all, each with an optional :FILE") {
  auto spec = parse_nmap_spec("nmap:53");
  CHECK(spec.port == 53);
  CHECK(spec.path == kNmapPayloadsPath);
  spec = parse_nmap_spec("nmap:all");
  CHECK(spec.port == 0);
  CHECK(spec.path == kNmapPayloadsPath);
  spec = parse_nmap_spec("nmap:161:/opt/nmap/share/nmap-payloads");
  CHECK(spec.port == 161);
  CHECK(spec.path == "/opt/nmap/share/nmap-payloads");
  spec = parse_nmap_spec("nmap:all:rel:with:colons");
  CHECK(spec.port == 0);
  CHECK(spec.path == "rel:with:colons");
  const auto error = [](const char* s) {
    try {
      parse_nmap_spec(s);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(error("nmap:") ==
        "udp payload 'nmap:': bad port '' (nmap:PORT with PORT 1-65535, or nmap:all)");
  CHECK(error("nmap:0").find("bad port '0'") != std::string::npos);
  CHECK(error("nmap:65536").find("bad port '65536'") != std::string::npos);
  CHECK(error("nmap:53x").find("bad port '53x'") != std::string::npos);
  CHECK(error("nmap:ALL").find("bad port 'ALL'") != std::string::npos);
  CHECK(error("nmap:53:") == "udp payload 'nmap:53:': expected a file name after nmap:53:");
  CHECK(error("53:hex:00") == "udp payload '53:hex:00': expected nmap:PORT or nmap:all");
}
