// Users' UDP payloads (PORT:FILE, PORT:hex:, PORT:text:), their template fields, every error
// message, and the library file's format.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dpscan/error.hpp"
#include "dpscan/udp_payload.hpp"
#include "probe/udp_payload_conf.hpp"

using namespace dpscan::udp;
using dpscan::UsageError;
using Buf = std::vector<uint8_t>;

namespace {

PayloadCookie cookie() {
  PayloadCookie c{};
  for (int i = 0; i < 16; ++i) c.b[i] = static_cast<uint8_t>(0xa0 + i);
  return c;
}

Buf write(const Payload& p, const Buf& dst = {198, 18, 0, 7}) {
  Buf out(p.size());
  p.write(out.data(), cookie(), std::span<const uint8_t>(dst.data(), dst.size()));
  return out;
}

std::string error_of(const std::string& spec, size_t max = 1472) {
  try {
    parse_payload_spec(spec, max);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

struct TempFile {
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/dpscan-udp-payload-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("hex and text payloads, literal braces and escapes") {
  const Payload h = parse_payload_spec("53:hex:0a1B ff", 1472);
  CHECK(h.name() == "hex");
  CHECK(h.port() == 53);
  CHECK(write(h) == Buf{0x0a, 0x1b, 0xff});
  CHECK(h.check(Buf{1, 2}, cookie()).ok);
  CHECK(h.check(Buf{1, 2}, cookie()).bits == 0);

  const Payload t =
      parse_payload_spec("80:text:GET / HTTP/1.0\\r\\n\\t{{x}}\\\\\\x00\\x7B\\r\\n", 1472);
  CHECK(t.name() == "text");
  const std::string want("GET / HTTP/1.0\r\n\t{x}\\\0{\r\n", 25);
  CHECK(write(t) == Buf(want.begin(), want.end()));

  CHECK(parse_payload_spec("7:text:", 1472).size() == 0);  // an empty datagram is a probe too
}

TEST_CASE("template fields: cookie bytes in order, rand, dst, case") {
  const auto c = cookie();
  const Payload p = parse_payload_spec("9:hex:01{cookie16}{cookie32}{cookie64}02", 1472);
  CHECK(p.size() == 16);
  const Buf w = write(p);
  CHECK(w.front() == 1);
  CHECK(w.back() == 2);
  CHECK(Buf(w.begin() + 1, w.end() - 1) == Buf(c.b, c.b + 14));
  CHECK(p.check(Buf{}, c).ok);  // users' payloads validate by the source port only
  CHECK(p.check(Buf{}, c).bits == 0);

  const Payload p31 = parse_payload_spec("9:hex:{cookie31}", 1472);
  CHECK(write(p31) == Buf{static_cast<uint8_t>(c.b[0] & 0x7f), c.b[1], c.b[2], c.b[3]});

  const Payload d4 = parse_payload_spec("9:text:to {dst}!", 1472);
  CHECK(write(d4) == Buf{'t', 'o', ' ', 198, 18, 0, 7, '!'});
  const Buf a6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  const Payload d6 = parse_payload_spec("9:hex:{dst}", 1232);
  CHECK(write(d6, a6) == a6);
  CHECK(parse_payload_spec("9:hex:{dst}", 1000, 16).size() == 16);

  const Payload r = parse_payload_spec("9:hex:{rand8}{rand16}{rand32}{rand64}", 1472);
  CHECK(r.size() == 15);
  const Buf r1 = write(r);
  CHECK(write(r) == r1);  // derived from the cookie: the same cookie, the same bytes
  PayloadCookie other = c;
  other.b[15] ^= 1;
  Buf r2(r.size());
  r.write(r2.data(), other, {});
  CHECK(r2 != r1);

  const Payload cs = parse_payload_spec("9:text:{cookie16}{case:AbCdEfGhIj}", 1472);
  const Buf w2 = write(cs);
  const std::string letters(w2.begin() + 2, w2.end());
  for (int i = 0; i < 10; ++i) {
    const int bit = (c.b[2 + i / 8] >> (i % 8)) & 1;
    CHECK(letters[i] == (bit ? "ABCDEFGHIJ"[i] : "abcdefghij"[i]));
  }

  // Found by tests/fuzz/payload_fuzz.cc: {case:TEXT} takes a cookie bit per letter, but
  // Payload's constructor counted a byte per 8 characters, so a name with dots in the last
  // cookie byte threw std::logic_error (a crash) instead of being sent.
  const Payload dots = parse_payload_spec(
      "9:text:{cookie64}{cookie32}{cookie16}{case:abcdefgh}{case:a.b.c.d.e}", 1472);
  const Buf w3 = write(dots);
  const std::string tail(w3.end() - 9, w3.end());
  for (int i = 0; i < 5; ++i) {
    const int bit = (c.b[15] >> i) & 1;
    CHECK(tail[2 * i] == (bit ? "ABCDE"[i] : "abcde"[i]));
  }
  CHECK(tail.substr(1, 1) == ".");
}

TEST_CASE("payload files: raw bytes with fields, errors at file:line") {
  const TempFile f(std::string("\x00\x01{cookie16}\n{{\xff", 16));
  const Payload p = parse_payload_spec("1234:" + f.path, 1472);
  CHECK(p.name() == "file:" + f.path);
  CHECK(p.port() == 1234);
  const auto c = cookie();
  CHECK(write(p) == Buf{0, 1, c.b[0], c.b[1], '\n', '{', 0xff});
  CHECK(parse_payload_spec("1234:file:" + f.path, 1472).size() == 7);

  const TempFile bad("line one\nline two {cookie99}\n");
  CHECK(error_of("5:" + bad.path) == bad.path +
                                         ":2: unknown field {cookie99} (known: {cookie16} "
                                         "{cookie32} {cookie64} {cookie31} {rand8}..{rand64} "
                                         "{dst} {case:TEXT}; a literal brace is {{) (in udp "
                                         "payload '5:" +
                                         bad.path + "')");
  const TempFile brace("a\nb\nc}");
  CHECK(error_of("5:" + brace.path).starts_with(brace.path + ":3: '}' closes no field"));

  CHECK(error_of("5:/nonexistent/x.bin") ==
        "udp payload '5:/nonexistent/x.bin': cannot read '/nonexistent/x.bin': No such file or "
        "directory");
  CHECK(error_of("5:/tmp") == "udp payload '5:/tmp': cannot read '/tmp': it is a directory");
  const TempFile big(std::string(65537, 'x'));
  CHECK(error_of("5:" + big.path).ends_with("larger than 65536 bytes"));
  const TempFile large(std::string(1473, 'x'));
  CHECK(error_of("5:" + large.path) == "udp payload '5:" + large.path +
                                           "': 1473 bytes, more than the 1472 a UDP probe "
                                           "carries unfragmented here");
  CHECK(parse_payload_spec("5:" + large.path, 1500, 4).size() == 1473);
}

TEST_CASE("payload spec errors, each with its message") {
  CHECK(error_of("53") == "udp payload '53': expected PORT:FILE, PORT:hex:HEX or PORT:text:TEXT");
  CHECK(error_of("53:") == "udp payload '53:': expected PORT:FILE, PORT:hex:HEX or PORT:text:TEXT");
  CHECK(error_of("dns:hex:00") == "udp payload 'dns:hex:00': bad port 'dns' (1-65535)");
  CHECK(error_of("0:hex:00") == "udp payload '0:hex:00': bad port '0' (1-65535)");
  CHECK(error_of("65536:hex:00") == "udp payload '65536:hex:00': bad port '65536' (1-65535)");
  CHECK(error_of("53:file:") == "udp payload '53:file:': expected a file name after the port");
  CHECK(error_of("53:hex:0g") == "udp payload '53:hex:0g': bad hex digit 'g' (at character 9)");
  CHECK(error_of("53:hex:abc") ==
        "udp payload '53:hex:abc': odd number of hex digits (a byte is two digits) (at character "
        "10)");
  CHECK(error_of("53:hex:0{cookie16}0") ==
        "udp payload '53:hex:0{cookie16}0': odd number of hex digits (a byte is two digits) (at "
        "character 8)");
  CHECK(error_of("53:hex:a b") ==
        "udp payload '53:hex:a b': a space splits a hex digit pair (at character 9)");
  CHECK(error_of("53:hex:{{") == "udp payload '53:hex:{{': bad hex digit '{' (at character 8)");
  CHECK(error_of("53:text:{foo}") ==
        "udp payload '53:text:{foo}': unknown field {foo} (known: {cookie16} {cookie32} "
        "{cookie64} {cookie31} {rand8}..{rand64} {dst} {case:TEXT}; a literal brace is {{) (at "
        "character 9)");
  CHECK(error_of("53:text:{cookie16") ==
        "udp payload '53:text:{cookie16': '{' opens a field that is not closed (a literal brace "
        "is {{) (at character 9)");
  CHECK(error_of("53:text:a}") ==
        "udp payload '53:text:a}': '}' closes no field (a literal brace is }}) (at character 10)");
  CHECK(error_of("53:text:{cookie64}{cookie64}{cookie16}") ==
        "udp payload '53:text:{cookie64}{cookie64}{cookie16}': {cookie16} needs 2 more cookie "
        "bytes, but the fields before it use 16 of the 16 (at character 29)");
  CHECK(error_of("53:text:{rand12}") ==
        "udp payload '53:text:{rand12}': bad field {rand12}: {randN} takes N a multiple of 8 "
        "({rand8}, {rand16}, {rand32}, {rand64}, ...) (at character 9)");
  CHECK(error_of("53:text:{rand}").find("bad field {rand}") != std::string::npos);
  CHECK(error_of("53:text:{case:123}") ==
        "udp payload '53:text:{case:123}': {case:...} needs letters to carry cookie bits (at "
        "character 9)");
  CHECK(error_of("53:text:\\q") ==
        "udp payload '53:text:\\q': unknown escape \\q (known: \\r \\n \\t \\\\ \\xNN) (at "
        "character 9)");
  CHECK(error_of("53:text:\\x4") ==
        "udp payload '53:text:\\x4': \\x needs two hex digits (at character 9)");
  CHECK(error_of("53:text:ab\\") ==
        "udp payload '53:text:ab\\': '\\' ends the text (write \\\\) (at character 11)");
  CHECK(error_of("53:text:" + std::string(1233, 'x'), 1232)
            .ends_with("1233 bytes, more than the 1232 a UDP probe carries unfragmented here"));
  CHECK(error_of("53:hex:{dst}", 1000) ==
        "udp payload '53:hex:{dst}': {dst}: the address family is not known here (at character "
        "8)");
  CHECK(error_of("53:text:\x1b[2J{x}") ==  // the spec quoted printably
        "udp payload '53:text:\\x1b[2J{x}': unknown field {x} (known: {cookie16} {cookie32} "
        "{cookie64} {cookie31} {rand8}..{rand64} {dst} {case:TEXT}; a literal brace is {{) (at "
        "character 13)");
}

TEST_CASE("the library file's format: errors at file:line") {
  auto conf_error = [](const std::string& text) {
    try {
      parse_payload_conf(text, "t.conf");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const auto ok = parse_payload_conf("# c\n\npayload a 7 none\nhex 01\ntext b\\n\n", "t.conf");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].size() == 3);
  CHECK(conf_error("hex 00\n") == "t.conf:1: a template line before the first payload line");
  CHECK(conf_error("payload a 7\n") == "t.conf:1: expected: payload NAME PORT CHECK");
  CHECK(conf_error("payload a 7 dns extra\n") == "t.conf:1: expected: payload NAME PORT CHECK");
  CHECK(conf_error("payload a x none\n") == "t.conf:1: bad port 'x' (1-65535)");
  CHECK(conf_error("payload a 7 smtp\n") == "t.conf:1: unknown check 'smtp'");
  CHECK(conf_error("payload a 7 none\n") == "t.conf:1: payload a has no hex or text lines");
  CHECK(conf_error("payload a 7 none\nhex 0\n") ==
        "t.conf:2: odd number of hex digits (a byte is two digits) (column 5)");
  CHECK(conf_error("payload a 7 none\nhex {dst}\n") ==
        "t.conf:2: {dst}: the address family is not known here (column 5)");
  CHECK(conf_error("payload a 7 none\nbytes 00\n") ==
        "t.conf:2: unknown keyword 'bytes' (expected payload, hex or text)");
  // Found by tests/fuzz/payload_fuzz.cc: a checked payload longer than check()'s buffer was a
  // std::logic_error out of Payload's constructor, not an error at the payload's line.
  const std::string big(2 * (Payload::kMaxChecked + 1), 'a');
  CHECK(conf_error("payload big 53 dns\nhex " + big + "\n") ==
        "t.conf:1: payload big is 513 bytes: a payload with a check (dns) is at most 512");
  CHECK(parse_payload_conf("payload big 53 none\nhex " + big + "\n", "t.conf").at(0).size() ==
        513);  // unchecked: no limit here
}
