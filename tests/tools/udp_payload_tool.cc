// udp_payload_tool: dpscan's UDP payload library as a filter, so that a test can dissect the
// payloads with an independent implementation (scapy) and hand it answers built there.
//   udp_payload_tool write COOKIE                  each built-in: NAME PORT PAYLOAD_HEX
//   udp_payload_tool spec COOKIE DST MAX SPEC      a user's payload: NAME PORT PAYLOAD_HEX,
//                                                  or "error MESSAGE"
//   udp_payload_tool check NAME COOKIE < answers   per answer (a hex line): "ok BITS" or "bad"
//   udp_payload_tool nmap PATH PORT                nmap's payloads for PORT: NAME PORT HEX
// COOKIE is 32 hex digits (the 16 cookie bytes), DST the destination address in hex.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/udp_payload.hpp"

using namespace dpscan::udp;

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  if (s.size() % 2) throw std::invalid_argument("odd hex: " + s);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

PayloadCookie parse_cookie(const std::string& s) {
  const auto b = unhex(s);
  if (b.size() != 16) throw std::invalid_argument("the cookie is 32 hex digits");
  PayloadCookie c;
  std::copy(b.begin(), b.end(), c.b);
  return c;
}

void print(const Payload& p, const PayloadCookie& c, const std::vector<uint8_t>& dst) {
  std::vector<uint8_t> out(p.size());
  p.write(out.data(), c, dst);
  std::string hex;
  for (const uint8_t b : out) hex += fmt::format("{:02x}", b);
  fmt::print("{} {} {}\n", p.name(), p.port(), hex.empty() ? "-" : hex);
}

int usage() {
  std::fprintf(stderr,
               "usage: udp_payload_tool write COOKIE | spec COOKIE DST MAX SPEC | "
               "check NAME COOKIE < answers | nmap PATH PORT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "write") {
    for (const Payload& p : builtin_payloads()) print(p, parse_cookie(args[1]), {});
    return 0;
  }
  if (args.size() == 5 && args[0] == "spec") {
    try {
      print(parse_payload_spec(args[4], std::stoul(args[3])), parse_cookie(args[1]),
            unhex(args[2]));
    } catch (const dpscan::UsageError& e) {
      fmt::print("error {}\n", e.what());
    }
    return 0;
  }
  if (args.size() == 3 && args[0] == "nmap") {
    for (const Payload& p :
         load_nmap_payloads(args[1], static_cast<uint16_t>(std::stoul(args[2])), 1472))
      print(p, PayloadCookie{}, {});
    return 0;
  }
  if (args.size() == 3 && args[0] == "check") {
    const auto c = parse_cookie(args[2]);
    for (const Payload& p : builtin_payloads()) {
      if (p.name() != args[1]) continue;
      for (std::string line; std::getline(std::cin, line);) {
        const auto answer = unhex(line);
        const Echo e = p.check(answer, c);
        if (e.ok)
          fmt::print("ok {}\n", e.bits);
        else
          fmt::print("bad\n");
      }
      return 0;
    }
    std::fprintf(stderr, "no built-in payload %s\n", args[1].c_str());
    return 2;
  }
  return usage();
}
