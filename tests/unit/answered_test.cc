// The --answered writer (src/reflect/answered_log.hpp): the first answer per pair, in the
// file while the run goes, sorted at the end; the SPSC ring refuses when full.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "answered_log.hpp"
#include "dpscan/status.hpp"

using namespace dpscan;
using namespace dpscan::reflect;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

AnswerRecord v4(uint32_t ip, uint16_t port, Status st, uint64_t tsc) {
  AnswerRecord r;
  r.lo = ip;
  r.port = port;
  r.status = static_cast<uint8_t>(st);
  r.tsc = tsc;
  return r;
}

// TTL = the address's last byte, window = the port: the lookup is visible in every line.
AnsweredWriter::Lookup lookup() {
  return [](Proto, const IpAddr& ip, uint16_t port) {
    const uint8_t ttl =
        ip.is_v4() ? static_cast<uint8_t>(ip.v4().value()) : static_cast<uint8_t>(ip.v6().lo());
    return std::pair<uint8_t, uint16_t>(ttl, port);
  };
}

}  // namespace

TEST_CASE("the answered log: first answer per pair as it goes, sorted at the end") {
  const std::string path = "answered_test.csv";
  AnsweredWriter w(path, lookup(), 64);
  w.set_clock(1000000, 500, 1700000000.0);  // 1 MHz: a tick is a microsecond
  const std::string header = "ip,port,status,ttl,window,timestamp,proto\n";
  CHECK(slurp(path) == header);  // the header is there before any answer
  // Sent in this order: a later duplicate (another status: a retransmission's record is the
  // same pair) must not replace the first.
  REQUIRE(w.ring().push(v4(0xc6120203, 80, Status::kOpen, 1500)));
  REQUIRE(w.ring().push(v4(0xc6120105, 443, Status::kClosed, 2500)));
  REQUIRE(w.ring().push(v4(0xc6120203, 80, Status::kClosed, 3500)));
  REQUIRE(w.ring().push(v4(0xc6120203, 22, Status::kUnreachable, 4500)));
  CHECK(w.drain() == 4);
  CHECK(slurp(path) == header +
                           "198.18.2.3,80,open,3,80,1700000000.001000,tcp\n"
                           "198.18.1.5,443,closed,5,443,1700000000.002000,tcp\n"
                           "198.18.2.3,22,unreachable,3,22,1700000000.004000,tcp\n");
  AnswerRecord six;
  six.hi = 0x20010db800010000ULL;
  six.lo = 0x42;
  six.v6 = 1;
  six.port = 8080;
  six.status = static_cast<uint8_t>(Status::kOpen);
  six.tsc = 5500;
  REQUIRE(w.ring().push(six));
  REQUIRE(w.ring().push(v4(0xc6120105, 443, Status::kOpen, 6500)));  // a duplicate again
  // The same address and port over UDP, and an echo reply (port 0): pairs of their own.
  AnswerRecord u = v4(0xc6120203, 80, Status::kClosed, 7500);
  u.proto = static_cast<uint8_t>(Proto::kUdp);
  AnswerRecord echo = v4(0xc6120203, 0, Status::kUp, 8500);
  echo.proto = static_cast<uint8_t>(Proto::kIcmp);
  REQUIRE(w.ring().push(u));
  REQUIRE(w.ring().push(echo));
  CHECK(w.drain() == 4);
  w.finish();
  CHECK(w.records() == 8);
  CHECK(w.written() == 6);
  // Sorted: IPv4 by address then port, IPv6 after; each pair's first answer.
  CHECK(slurp(path) == header +
                           "198.18.1.5,443,closed,5,443,1700000000.002000,tcp\n"
                           "198.18.2.3,22,unreachable,3,22,1700000000.004000,tcp\n"
                           "198.18.2.3,80,open,3,80,1700000000.001000,tcp\n"
                           "198.18.2.3,80,closed,3,80,1700000000.007000,udp\n"
                           "198.18.2.3,0,up,3,0,1700000000.008000,icmp\n"
                           "2001:db8:1::42,8080,open,66,8080,1700000000.005000,tcp\n");
  std::remove(path.c_str());
}

TEST_CASE("the answered log's thread writes while the run goes; a full ring refuses") {
  const std::string path = "answered_thread_test.csv";
  {
    AnsweredWriter w(path, lookup(), 4);
    CHECK(w.ring().capacity() == 4);
    w.set_clock(1000, 0, 0);
    w.start(std::chrono::milliseconds(20));
    for (uint16_t p = 1; p <= 4; ++p) REQUIRE(w.ring().push(v4(0x0a000001, p, Status::kOpen, p)));
    // The thread takes them within its period; wait up to a second for the file to hold them.
    std::string text;
    for (int i = 0; i < 100 && std::count(text.begin(), text.end(), '\n') < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      text = slurp(path);
    }
    CHECK(std::count(text.begin(), text.end(), '\n') == 5);
    CHECK(text.find("10.0.0.1,4,open,1,4,0.004000,tcp\n") != std::string::npos);
    CHECK(w.records() == 4);
    // Without the consumer, the ring holds four and refuses the fifth.
    AnswerRing r(4);
    for (uint16_t p = 1; p <= 4; ++p) REQUIRE(r.push(v4(1, p, Status::kOpen, p)));
    CHECK_FALSE(r.push(v4(1, 5, Status::kOpen, 5)));
    std::vector<uint16_t> got;
    CHECK(r.pop(10, [&](const AnswerRecord& a) { got.push_back(a.port); }) == 4);
    CHECK(got == std::vector<uint16_t>{1, 2, 3, 4});
    CHECK(r.push(v4(1, 5, Status::kOpen, 5)));
  }  // destroyed without finish(): the file keeps what the thread wrote
  const std::string left = slurp(path);
  CHECK(std::count(left.begin(), left.end(), '\n') == 5);
  std::remove(path.c_str());
}
