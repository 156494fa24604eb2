// The built-in UDP payloads: each written from a cookie and checked against a hand-made
// answer, a wrong echo, truncated and malformed answers, and random bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "dpscan/udp_payload.hpp"

using namespace dpscan::udp;
using Buf = std::vector<uint8_t>;

namespace {

PayloadCookie cookie(uint8_t seed) {
  PayloadCookie c{};
  for (int i = 0; i < 16; ++i) c.b[i] = static_cast<uint8_t>(seed * 37 + i * 101 + 7);
  return c;
}

const Payload& builtin(const std::string& name) {
  for (const Payload& p : builtin_payloads())
    if (p.name() == name) return p;
  FAIL("no built-in payload " << name);
  throw 0;
}

Buf written(const Payload& p, const PayloadCookie& c) {
  Buf out(p.size() + 8, 0xee);
  p.write(out.data(), c, {});
  CHECK(std::all_of(out.begin() + static_cast<long>(p.size()), out.end(),
                    [](uint8_t b) { return b == 0xee; }));  // writes size() bytes, no more
  out.resize(p.size());
  return out;
}

Buf cat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Buf text(const std::string& s) {
  return Buf(s.begin(), s.end());
}
Buf part(const Buf& b, size_t at, size_t n) {
  return Buf(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(at + n));
}
Buf be16(unsigned v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
Buf be32(uint32_t v) {
  return cat({be16(v >> 16), be16(v & 0xffff)});
}
Buf tlv(uint8_t tag, const Buf& content) {
  Buf out{tag};
  if (content.size() < 128) {
    out.push_back(static_cast<uint8_t>(content.size()));
  } else {
    out.push_back(0x82);
    out.insert(out.end(),
               {static_cast<uint8_t>(content.size() >> 8), static_cast<uint8_t>(content.size())});
  }
  return cat({out, content});
}

Echo check(const Payload& p, const Buf& answer, const PayloadCookie& c) {
  return p.check(std::span<const uint8_t>(answer.data(), answer.size()), c);
}

// Every prefix of a valid answer shorter than `needed` (all of it by default: where lengths
// are declared, a truncated answer contradicts them) is refused.
void truncations_fail(const Payload& p, const Buf& answer, const PayloadCookie& c,
                      size_t needed = SIZE_MAX) {
  for (size_t n = 0; n < std::min(needed, answer.size()); ++n) {
    // A heap copy of exactly n bytes, so ASan sees any read past the end.
    const Buf cut(answer.begin(), answer.begin() + static_cast<long>(n));
    CAPTURE(n);
    CHECK_FALSE(check(p, cut, c).ok);
  }
}

}  // namespace

TEST_CASE("the built-in library: names, ports, fixed sizes") {
  const std::vector<std::tuple<std::string, uint16_t, size_t>> want = {
      {"dns", 53, 30},    {"ntp", 123, 48},         {"snmp", 161, 43},
      {"ssdp", 1900, 94}, {"memcached", 11211, 17}, {"nbns", 137, 50},
      {"stun", 3478, 20}, {"coap", 5683, 29},       {"ike", 500, 376}};
  REQUIRE(builtin_payloads().size() == want.size());
  for (const auto& [name, port, size] : want) {
    CAPTURE(name);
    const Payload& p = builtin(name);
    CHECK(p.port() == port);
    CHECK(p.size() == size);
    CHECK(check_name(p.check_kind()) == name);
    const auto for_port = builtin_for_port(port);
    REQUIRE(for_port.size() == 1);
    CHECK(for_port[0].name() == name);
  }
  CHECK(builtin_for_port(80).empty());
}

TEST_CASE("payloads differ per cookie only in their fields") {
  for (const Payload& p : builtin_payloads()) {
    CAPTURE(p.name());
    const Buf a = written(p, cookie(1)), b = written(p, cookie(1)), c = written(p, cookie(2));
    CHECK(a == b);
    if (p.name() != "ssdp") CHECK(a != c);
    std::vector<bool> in_field(p.size());
    for (const Field& f : p.fields())
      for (size_t i = f.offset; i < f.offset + f.len; ++i) in_field[i] = true;
    for (size_t i = 0; i < p.size(); ++i)
      if (!in_field[i]) CHECK(a[i] == c[i]);
  }
}

TEST_CASE("dns: version.bind CH TXT, ID and 0x20 case from the cookie") {
  const Payload& p = builtin("dns");
  const auto c = cookie(3);
  const Buf q = written(p, c);
  CHECK(q[0] == c.b[0]);
  CHECK(q[1] == c.b[1]);
  CHECK(part(q, 2, 10) == Buf{0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0});
  std::string name(q.begin() + 13, q.begin() + 20);
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  CHECK(lower == "version");
  for (int i = 0; i < 7; ++i) CHECK(bool(isupper(name[i])) == bool((c.b[2] >> i) & 1));
  CHECK(part(q, 26, 4) == Buf{0, 0x10, 0, 3});

  // A response: header with QR, the question as sent, a TXT answer.
  Buf ans = q;
  ans[2] = 0x85, ans[3] = 0x80, ans[7] = 1;
  ans = cat({ans, Buf{0xc0, 0x0c, 0, 0x10, 0, 3, 0, 0, 0, 0, 0, 8, 7}, text("dnsmasq")});
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 27);     // ID + 11 letters
  truncations_fail(p, ans, c, q.size());  // the answer records are not parsed

  Buf wrong = ans;
  wrong[1] ^= 1;  // another ID
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[13] ^= 0x20;  // the name's case not echoed
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[2] &= 0x7f;  // a query, not a response
  CHECK_FALSE(check(p, wrong, c).ok);
  CHECK_FALSE(check(p, ans, cookie(4)).ok);

  // A refusal without the question proves the ID only; without an error it is malformed.
  Buf refused = part(q, 0, 12);
  refused[2] = 0x81, refused[3] = 0x05, refused[5] = 0;
  CHECK(check(p, refused, c).ok);
  CHECK(check(p, refused, c).bits == 16);
  refused[3] = 0x00;
  CHECK_FALSE(check(p, refused, c).ok);
}

TEST_CASE("ntp: v4 client request, transmit timestamp from the cookie") {
  const Payload& p = builtin("ntp");
  const auto c = cookie(5);
  const Buf q = written(p, c);
  CHECK(q[0] == 0x23);
  CHECK(part(q, 40, 8) == Buf(c.b, c.b + 8));
  Buf ans(48, 0);
  ans[0] = 0x24, ans[1] = 2;
  std::copy(q.begin() + 40, q.end(), ans.begin() + 24);
  ans[40] = 0xe9;
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 64);
  truncations_fail(p, ans, c);
  Buf wrong = ans;
  wrong[31] ^= 1;
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[0] = 0x23;  // a client's, not a server's
  CHECK_FALSE(check(p, wrong, c).ok);
}

TEST_CASE("snmp: GetRequest sysDescr.0 with a positive 31-bit request-id") {
  const Payload& p = builtin("snmp");
  auto c = cookie(6);
  c.b[0] = 0xff;  // the top bit must be cleared
  const Buf q = written(p, c);
  const Buf oid{0x2b, 6, 1, 2, 1, 1, 1, 0};
  const Buf varbinds = tlv(0x30, tlv(0x30, cat({tlv(0x06, oid), Buf{0x05, 0}})));
  const Buf req_id{0x7f, c.b[1], c.b[2], c.b[3]};
  const Buf request = tlv(
      0x30, cat({tlv(0x02, {1}), tlv(0x04, text("public")),
                 tlv(0xa0, cat({tlv(0x02, req_id), tlv(0x02, {0}), tlv(0x02, {0}), varbinds}))}));
  CHECK(q == request);

  auto response = [&](const Buf& id, uint8_t pdu, const std::string& descr) {
    const Buf vb = tlv(0x30, tlv(0x30, cat({tlv(0x06, oid), tlv(0x04, text(descr))})));
    return tlv(0x30, cat({tlv(0x02, {1}), tlv(0x04, text("public")),
                          tlv(pdu, cat({tlv(0x02, id), tlv(0x02, {0}), tlv(0x02, {0}), vb}))}));
  };
  const Buf ans = response(req_id, 0xa2, "Linux lab 6.1.0");
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 31);
  truncations_fail(p, ans, c);
  // Long-form lengths (a 200-byte sysDescr) parse too.
  CHECK(check(p, response(req_id, 0xa2, std::string(200, 'x')), c).ok);
  CHECK_FALSE(check(p, response(req_id, 0xa0, "x"), c).ok);  // a GetRequest, not a response
  Buf other = req_id;
  other[3] ^= 1;
  CHECK_FALSE(check(p, response(other, 0xa2, "x"), c).ok);

  // A request-id encoded in fewer bytes is the same INTEGER.
  PayloadCookie small{};
  small.b[0] = 0x00, small.b[1] = 0x00, small.b[2] = 0x12, small.b[3] = 0x34;
  CHECK(check(p, response({0x12, 0x34}, 0xa2, "x"), small).ok);
  CHECK_FALSE(check(p, response({0x12, 0x35}, 0xa2, "x"), small).ok);

  // Malformed BER: an indefinite length, a length past the end, trailing bytes.
  Buf bad = ans;
  bad[1] = 0x80;
  CHECK_FALSE(check(p, bad, c).ok);
  bad = ans;
  bad[1] = static_cast<uint8_t>(bad[1] + 1);
  CHECK_FALSE(check(p, bad, c).ok);
  bad = ans;
  bad.push_back(0);
  CHECK_FALSE(check(p, bad, c).ok);
}

TEST_CASE("ssdp: M-SEARCH; an HTTP 200 answer proves nothing") {
  const Payload& p = builtin("ssdp");
  const auto c = cookie(7);
  const Buf q = written(p, c);
  const std::string s(q.begin(), q.end());
  CHECK(s.starts_with("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"));
  CHECK(s.find("ST: ssdp:all\r\n") != std::string::npos);
  CHECK(s.ends_with("\r\n\r\n"));
  const Buf ans = text("HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n");
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 0);
  CHECK_FALSE(check(p, text("HTTP/1.1 404 Not Found\r\n\r\n"), c).ok);
  truncations_fail(p, part(ans, 0, 12), c);
}

TEST_CASE("memcached: frame header with the request ID, version command") {
  const Payload& p = builtin("memcached");
  const auto c = cookie(8);
  const Buf q = written(p, c);
  CHECK(q == cat({Buf{c.b[0], c.b[1], 0, 0, 0, 1, 0, 0}, text("version\r\n")}));
  const Buf ans = cat({Buf{c.b[0], c.b[1], 0, 0, 0, 1, 0, 0}, text("VERSION 1.6.21\r\n")});
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 16);
  truncations_fail(p, part(ans, 0, 16), c);
  Buf wrong = ans;
  wrong[0] ^= 1;
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[3] = 1;  // sequence 1 of 1 datagram
  CHECK_FALSE(check(p, wrong, c).ok);
  CHECK_FALSE(check(p, cat({part(ans, 0, 8), text("ERROR\r\n")}), c).ok);
}

TEST_CASE("nbns: node status request for *, transaction ID from the cookie") {
  const Payload& p = builtin("nbns");
  const auto c = cookie(9);
  const Buf q = written(p, c);
  CHECK(part(q, 0, 2) == Buf{c.b[0], c.b[1]});
  CHECK(q[12] == 0x20);
  CHECK(std::string(q.begin() + 13, q.begin() + 45) == "CK" + std::string(30, 'A'));
  CHECK(part(q, 45, 5) == Buf{0, 0, 0x21, 0, 1});
  const Buf name = part(q, 12, 34);
  Buf names = {1};
  names = cat({names, text("LAB            "), Buf{0x00, 0x04, 0x00}, Buf(46, 0)});
  const Buf ans =
      cat({Buf{c.b[0], c.b[1], 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0}, name,
           Buf{0, 0x21, 0, 1, 0, 0, 0, 0}, be16(static_cast<unsigned>(names.size())), names});
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 16);
  truncations_fail(p, part(ans, 0, 50), c);
  Buf wrong = ans;
  wrong[1] ^= 1;
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[47] = 0x20;  // NB, not NBSTAT
  CHECK_FALSE(check(p, wrong, c).ok);
}

TEST_CASE("stun: binding request, 96-bit transaction ID") {
  const Payload& p = builtin("stun");
  const auto c = cookie(10);
  const Buf q = written(p, c);
  CHECK(q == cat({Buf{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, Buf(c.b, c.b + 12)}));
  const Buf ans = cat({Buf{0x01, 0x01, 0, 12}, part(q, 4, 16),
                       Buf{0, 0x20, 0, 8, 0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}});
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 96);
  truncations_fail(p, ans, c);
  Buf wrong = ans;
  wrong[19] ^= 1;
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[1] = 0x11;  // an error response
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[3] = 16;  // a length past the datagram
  CHECK_FALSE(check(p, wrong, c).ok);
}

TEST_CASE("coap: CON GET /.well-known/core; message ID and token from the cookie") {
  const Payload& p = builtin("coap");
  const auto c = cookie(11);
  const Buf q = written(p, c);
  CHECK(q == cat({Buf{0x48, 0x01, c.b[0], c.b[1]}, Buf(c.b + 2, c.b + 10), Buf{0xbb},
                  text(".well-known"), Buf{0x04}, text("core")}));
  const Buf mid = part(q, 2, 2), token = part(q, 4, 8);
  const Buf piggybacked = cat({Buf{0x68, 0x45}, mid, token, Buf{0xff}, text("</>")});
  CHECK(check(p, piggybacked, c).ok);
  CHECK(check(p, piggybacked, c).bits == 80);
  truncations_fail(p, piggybacked, c, 12);  // header and token; the payload is not parsed
  const Buf separate = cat({Buf{0x58, 0x45, 0x12, 0x34}, token, Buf{0xff}, text("</>")});
  CHECK(check(p, separate, c).bits == 64);
  CHECK(check(p, separate, c).ok);
  const Buf empty_ack = cat({Buf{0x60, 0x00}, mid});
  CHECK(check(p, empty_ack, c).ok);
  CHECK(check(p, empty_ack, c).bits == 16);
  const Buf reset = cat({Buf{0x70, 0x00}, mid});
  CHECK(check(p, reset, c).bits == 16);
  Buf wrong = piggybacked;
  wrong[11] ^= 1;  // token
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = piggybacked;
  wrong[3] ^= 1;  // message ID
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = piggybacked;
  wrong[1] = 0x01;  // a request code
  CHECK_FALSE(check(p, wrong, c).ok);
  CHECK_FALSE(check(p, cat({empty_ack, Buf{0}}), c).ok);  // an empty message with bytes after
}

TEST_CASE("ike: IKE_SA_INIT with SA, KE and nonce; initiator SPI from the cookie") {
  const Payload& p = builtin("ike");
  const auto c = cookie(12);
  const Buf q = written(p, c);
  CHECK(part(q, 0, 8) == Buf(c.b, c.b + 8));
  CHECK(part(q, 16, 4) == Buf{0x21, 0x20, 0x22, 0x08});
  CHECK(part(q, 24, 4) == be32(static_cast<uint32_t>(q.size())));
  // The payload chain: SA (48) -> KE (264) -> Nonce (36) -> end, lengths adding up.
  size_t at = 28;
  uint8_t next = q[16];
  std::vector<uint8_t> chain;
  while (next != 0) {
    REQUIRE(at + 4 <= q.size());
    chain.push_back(next);
    next = q[at];
    at += (q[at + 2] << 8) | q[at + 3];
  }
  CHECK(chain == std::vector<uint8_t>{33, 34, 40});
  CHECK(at == q.size());
  CHECK(written(p, cookie(13)) != q);  // the KE value and nonce vary per probe

  const Buf ans = cat({part(q, 0, 8), Buf{1, 2, 3, 4, 5, 6, 7, 8}, Buf{0x29, 0x20, 0x22, 0x20},
                       be32(0), be32(36), Buf{0, 0, 0, 8, 0, 0, 0x40, 0x04}});
  CHECK(check(p, ans, c).ok);
  CHECK(check(p, ans, c).bits == 64);
  truncations_fail(p, ans, c);
  Buf wrong = ans;
  wrong[7] ^= 1;
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[19] = 0x08;  // the initiator's flag: our own message reflected
  CHECK_FALSE(check(p, wrong, c).ok);
  wrong = ans;
  wrong[27] = 40;  // a length past the datagram
  CHECK_FALSE(check(p, wrong, c).ok);
}

TEST_CASE("check() never reads past the answer and refuses random bytes") {
  std::mt19937_64 rng(20240519);
  for (const Payload& p : builtin_payloads()) {
    CAPTURE(p.name());
    for (int round = 0; round < 20000; ++round) {
      const auto c = cookie(static_cast<uint8_t>(round));
      const size_t n = rng() % 80;
      Buf junk(n);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      // Half the rounds start from the probe itself, mutated: nearer to what parses.
      if (round % 2) {
        junk = written(p, c);
        for (int k = 0; k < 3; ++k) junk[rng() % junk.size()] = static_cast<uint8_t>(rng());
        junk.resize(rng() % (junk.size() + 1));
      }
      const Echo e = check(p, junk, c);
      if (p.name() != "ssdp" && e.ok) CHECK(e.bits > 0);
    }
  }
}
