#include "dpscan/text.hpp"

#include <fmt/format.h>

namespace dpscan {
namespace {

// Length of the valid UTF-8 sequence at s[i] (2 to 4), or 0 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const unsigned c = b(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view s, size_t max) {
  std::string out;
  const size_t n = std::min(s.size(), max);
  for (size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (const size_t len = c >= 0x80 ? utf8_length(s, i) : 0; len) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  if (n < s.size()) out += "...";
  return out;
}

std::string mask_url_credentials(std::string_view s) {
  std::string out;
  size_t i = 0;
  for (;;) {
    const size_t scheme = s.find("://", i);
    if (scheme == std::string_view::npos) break;
    const size_t start = scheme + 3;
    out.append(s.substr(i, start - i));
    size_t end = s.find_first_of(" \t\r\n\"'<>`", start);
    if (end == std::string_view::npos) end = s.size();
    // A later "://" in the same word (nats://a@h1,nats://b@h2) is the next URL's.
    if (const size_t next = s.substr(0, end).find("://", start); next != std::string_view::npos)
      end = s.rfind(',', next) != std::string_view::npos && s.rfind(',', next) >= start
                ? s.rfind(',', next) + 1
                : next;
    // Each server of the list: USER:PASS@HOST or TOKEN@HOST, the secret up to its last '@'.
    for (size_t k = start; k < end;) {
      size_t comma = s.find(',', k);
      if (comma == std::string_view::npos || comma > end) comma = end;
      const std::string_view server = s.substr(k, comma - k);
      const size_t at = server.rfind('@');
      if (at == std::string_view::npos) {
        out.append(server);
      } else {
        const size_t colon = server.substr(0, at).find(':');
        if (colon != std::string_view::npos) out.append(server.substr(0, colon + 1));
        out += "***";
        out.append(server.substr(at));
      }
      if (comma < end) out += ',';
      k = comma + 1;
    }
    i = end;
  }
  out.append(s.substr(i));
  return out;
}

std::string_view trim_space(std::string_view s) {
  const auto ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace dpscan
