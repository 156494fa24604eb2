#include "dpscan/probe.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {
namespace {

constexpr uint8_t kNop = 1;

}  // namespace

// Appends the TCP options of a profile; returns their length (a multiple of 4).
size_t write_tcp_options(uint8_t* o, OptionProfile profile, uint16_t mss) {
  size_t n = 0;
  auto put_mss = [&] {
    o[n++] = 2;
    o[n++] = 4;
    store_be16(o + n, mss);
    n += 2;
  };
  switch (profile) {
    case OptionProfile::kNone:
      break;
    case OptionProfile::kMss:  // ZMap "smallest probable": MSS alone
      put_mss();
      break;
    case OptionProfile::kWindows:  // MSS, NOP, WS 8, NOP, NOP, SACK permitted
      put_mss();
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 8;
      o[n++] = kNop;
      o[n++] = kNop;
      o[n++] = 4, o[n++] = 2;
      break;
    case OptionProfile::kLinux:  // MSS, SACK permitted, timestamps, NOP, WS 7
      put_mss();
      o[n++] = 4, o[n++] = 2;
      o[n++] = 8, o[n++] = 10;
      store_be32(o + n, 0x00000001), n += 4;  // TSval: any non-zero value
      store_be32(o + n, 0), n += 4;           // TSecr: zero in a SYN
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 7;
      break;
    case OptionProfile::kBsd:  // macOS/FreeBSD: MSS, NOP, WS 6, NOP, NOP, TS, SACK-perm, EOL, EOL
      put_mss();
      o[n++] = kNop;
      o[n++] = 3, o[n++] = 3, o[n++] = 6;
      o[n++] = kNop;
      o[n++] = kNop;
      o[n++] = 8, o[n++] = 10;
      store_be32(o + n, 0x00000001), n += 4;
      store_be32(o + n, 0), n += 4;
      o[n++] = 4, o[n++] = 2;
      o[n++] = 0, o[n++] = 0;
      break;
  }
  return n;
}

OptionProfile parse_option_profile(std::string_view name) {
  if (name == "none") return OptionProfile::kNone;
  if (name == "mss" || name == "smallest") return OptionProfile::kMss;
  if (name == "windows") return OptionProfile::kWindows;
  if (name == "linux") return OptionProfile::kLinux;
  if (name == "bsd") return OptionProfile::kBsd;
  throw UsageError(fmt::format(
      "invalid probe option profile '{}': expected none, mss, windows, linux or bsd", name));
}

std::string_view to_string(OptionProfile p) {
  switch (p) {
    case OptionProfile::kNone:
      return "none";
    case OptionProfile::kMss:
      return "mss";
    case OptionProfile::kWindows:
      return "windows";
    case OptionProfile::kLinux:
      return "linux";
    case OptionProfile::kBsd:
      return "bsd";
  }
  return "?";
}

}  // namespace dpscan
