#include "dpscan/addr.hpp"

#include <fmt/format.h>

namespace dpscan {

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  uint32_t ip = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const size_t begin = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - begin < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - begin;
    if (digits == 0 || value > 255 || (digits > 1 && text[begin] == '0')) return std::nullopt;
    ip = (ip << 8) | value;
  }
  if (pos != text.size()) return std::nullopt;
  return Ipv4Addr(ip);
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One group: 1 to 4 hex digits (Python's _parse_hextet), or -1.
int32_t parse_group(std::string_view g) {
  if (g.empty() || g.size() > 4) return -1;
  int32_t v = 0;
  for (const char c : g) {
    const int d = hex_digit(c);
    if (d < 0) return -1;
    v = v << 4 | d;
  }
  return v;
}

}  // namespace

// The steps are those of Python's ipaddress.IPv6Address._ip_int_from_string (CPython 3.11),
// so that both accept and refuse the same texts: split at ':'; at least 3 parts; a last part
// holding a '.' is a dotted IPv4 address giving two groups; at most 9 parts; one empty part
// between the ends marks "::", which must stand for at least one group, and an empty first
// or last part is allowed only as half of that "::"; without "::" exactly 8 groups.
std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  // 9 parts at most (8 colons); an IPv4 tail adds one part, so more than 9 before it are
  // refused as well.
  std::array<std::string_view, 9> parts;
  size_t n = 0;
  for (size_t start = 0;;) {
    if (n == parts.size()) return std::nullopt;
    const size_t colon = text.find(':', start);
    parts[n++] = text.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (n < 3) return std::nullopt;

  // Each part's group value; kEmpty for an empty part.
  constexpr int32_t kEmpty = -2;
  std::array<int32_t, 10> groups{};
  size_t m = 0;
  for (size_t i = 0; i + 1 < n; ++i)
    groups[m++] = parts[i].empty() ? kEmpty : parse_group(parts[i]);
  if (parts[n - 1].find('.') != std::string_view::npos) {
    const auto v4 = Ipv4Addr::parse(parts[n - 1]);
    if (!v4) return std::nullopt;
    groups[m++] = static_cast<int32_t>(v4->value() >> 16);
    groups[m++] = static_cast<int32_t>(v4->value() & 0xffff);
    if (m > 9) return std::nullopt;
  } else {
    groups[m++] = parts[n - 1].empty() ? kEmpty : parse_group(parts[n - 1]);
  }

  size_t skip = 0;  // index of the empty part between the ends that "::" leaves, or 0
  for (size_t i = 1; i + 1 < m; ++i) {
    if (groups[i] != kEmpty) continue;
    if (skip) return std::nullopt;  // a second "::"
    skip = i;
  }
  size_t first = 0, last = m;  // the groups [first, last) other than the "::"
  if (skip) {
    if (groups[0] == kEmpty) {
      if (skip != 1) return std::nullopt;  // a leading ':' that is not half of "::"
      first = 1;
    }
    if (groups[m - 1] == kEmpty) {
      if (skip != m - 2) return std::nullopt;  // a trailing ':' that is not half of "::"
      last = m - 1;
    }
    if (last - first - 1 > 7) return std::nullopt;  // "::" must stand for a group or more
  } else if (m != 8) {
    return std::nullopt;
  }
  uint64_t words[2] = {0, 0};
  size_t pos = 0;  // group position 0..7 in the address
  for (size_t i = first; i < last; ++i) {
    if (skip && i == skip) {
      pos += 8 - (last - first - 1);
      continue;
    }
    if (groups[i] < 0) return std::nullopt;  // junk, or an empty part that is not "::"
    words[pos / 4] |= static_cast<uint64_t>(groups[i]) << (16 * (3 - pos % 4));
    ++pos;
  }
  return Ipv6Addr(words[0], words[1]);
}

size_t Ipv6Addr::format(char* out) const {
  uint16_t g[8];
  for (unsigned i = 0; i < 4; ++i) {
    g[i] = static_cast<uint16_t>(hi_ >> (48 - 16 * i));
    g[4 + i] = static_cast<uint16_t>(lo_ >> (48 - 16 * i));
  }
  // The longest run of zero groups, the first one of equal length; a single zero group is
  // not shortened (RFC 5952 section 4.2.2).
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out[n++] = ':';
      if (i == 0) out[n++] = ':';
      i += best_len - 1;
      continue;
    }
    const unsigned v = g[i];
    // Lower-case hex without leading zeros (RFC 5952 sections 4.1 and 4.3).
    for (int shift = 12; shift >= 0; shift -= 4) {
      if (shift == 0 || v >> shift) out[n++] = kHex[(v >> shift) & 0xf];
    }
    if (i < 7) out[n++] = ':';
  }
  return n;
}

std::string Ipv6Addr::to_string() const {
  char buf[kMaxText];
  return std::string(buf, format(buf));
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  std::array<uint8_t, 6> b{};
  for (size_t i = 0; i < 6; ++i) {
    const int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':')) return std::nullopt;
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return MacAddr(b);
}

std::string MacAddr::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b_[0], b_[1], b_[2], b_[3], b_[4],
                     b_[5]);
}

}  // namespace dpscan
