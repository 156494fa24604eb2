// The template language of UDP payloads: see udp_payload_template.hpp.
#include "probe/udp_payload_template.hpp"

#include <charconv>

#include <fmt/format.h>

#include "dpscan/text.hpp"

namespace dpscan::udp {

namespace {

constexpr size_t kCookieBytes = sizeof(PayloadCookie::b);
constexpr size_t kMaxTemplate = 65535;  // fields' offsets are 16 bits

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

bool is_letter(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

std::string quoted_char(char ch) {
  return "'" + printable(std::string_view(&ch, 1)) + "'";
}

}  // namespace

void TemplateBuilder::append(std::string_view text, Literal lit) {
  std::string pending;  // literal text with {{ and }} made single
  size_t pending_pos = 0;
  auto flush = [&] {
    literal(pending, pending_pos, lit);
    pending.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const char ch = text[i];
    if ((ch == '{' || ch == '}') && i + 1 < text.size() && text[i + 1] == ch) {
      if (pending.empty()) pending_pos = i;
      pending += ch;
      i += 2;
    } else if (ch == '{') {
      flush();
      const size_t close = text.find_first_of("{}", i + 1);
      if (close == std::string_view::npos || text[close] != '}')
        throw TemplateError(i, "'{' opens a field that is not closed (a literal brace is {{)");
      field(text.substr(i + 1, close - i - 1), i);
      i = close + 1;
      pending_pos = i;
    } else if (ch == '}') {
      throw TemplateError(i, "'}' closes no field (a literal brace is }})");
    } else {
      if (pending.empty()) pending_pos = i;
      pending += ch;
      ++i;
    }
  }
  flush();
  if (bytes_.size() > kMaxTemplate)
    throw TemplateError(text.size(), fmt::format("longer than {} bytes", kMaxTemplate));
}

void TemplateBuilder::literal(std::string_view text, size_t pos, Literal lit) {
  switch (lit) {
    case Literal::kRaw:
      bytes_.insert(bytes_.end(), text.begin(), text.end());
      return;
    case Literal::kHex: {
      int high = -1;
      size_t high_pos = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch == ' ' || ch == '\t') {
          if (high >= 0) throw TemplateError(pos + i, "a space splits a hex digit pair");
          continue;
        }
        const int d = hex_digit(ch);
        if (d < 0) throw TemplateError(pos + i, "bad hex digit " + quoted_char(ch));
        if (high < 0) {
          high = d;
          high_pos = pos + i;
        } else {
          bytes_.push_back(static_cast<uint8_t>(high * 16 + d));
          high = -1;
        }
      }
      if (high >= 0)
        throw TemplateError(high_pos, "odd number of hex digits (a byte is two digits)");
      return;
    }
    case Literal::kText:
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
          bytes_.push_back(static_cast<uint8_t>(text[i]));
          continue;
        }
        if (i + 1 == text.size()) throw TemplateError(pos + i, "'\\' ends the text (write \\\\)");
        const char e = text[i + 1];
        if (e == 'r' || e == 'n' || e == 't' || e == '\\') {
          bytes_.push_back(e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : '\\');
          ++i;
        } else if (e == 'x') {
          const int hi = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
          const int lo = i + 3 < text.size() ? hex_digit(text[i + 3]) : -1;
          if (hi < 0 || lo < 0) throw TemplateError(pos + i, "\\x needs two hex digits");
          bytes_.push_back(static_cast<uint8_t>(hi * 16 + lo));
          i += 3;
        } else {
          throw TemplateError(pos + i, "unknown escape \\" + printable(std::string_view(&e, 1)) +
                                           " (known: \\r \\n \\t \\\\ \\xNN)");
        }
      }
      return;
  }
}

size_t TemplateBuilder::take_cookie(size_t n, std::string_view name, size_t pos) {
  if (cookie_used_ + n > kCookieBytes)
    throw TemplateError(pos, fmt::format("{{{}}} needs {} more cookie bytes, but the fields before "
                                         "it use {} of the {}",
                                         printable(name), n, cookie_used_, kCookieBytes));
  const size_t src = cookie_used_;
  cookie_used_ += n;
  return src;
}

void TemplateBuilder::add(Field::Kind kind, size_t len, size_t src) {
  if (bytes_.size() + len > kMaxTemplate)
    throw TemplateError(0, fmt::format("longer than {} bytes", kMaxTemplate));
  fields_.push_back(Field{kind, static_cast<uint16_t>(bytes_.size()), static_cast<uint16_t>(len),
                          static_cast<uint16_t>(src)});
  bytes_.resize(bytes_.size() + len, 0);
}

void TemplateBuilder::field(std::string_view name, size_t pos) {
  if (name == "cookie16" || name == "cookie32" || name == "cookie64") {
    const size_t n = name == "cookie16" ? 2 : name == "cookie32" ? 4 : 8;
    add(Field::Kind::kCookie, n, take_cookie(n, name, pos));
  } else if (name == "cookie31") {
    add(Field::Kind::kCookie31, 4, take_cookie(4, name, pos));
  } else if (name == "dst") {
    if (addr_len_ != 4 && addr_len_ != 16)
      throw TemplateError(pos, "{dst}: the address family is not known here");
    add(Field::Kind::kDst, addr_len_, 0);
  } else if (name.starts_with("rand")) {
    unsigned bits = 0;
    const auto digits = name.substr(4);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || bits == 0 ||
        bits % 8 != 0 || bits > 8 * kMaxTemplate)
      throw TemplateError(pos, fmt::format("bad field {{{}}}: {{randN}} takes N a multiple of 8 "
                                           "({{rand8}}, {{rand16}}, {{rand32}}, {{rand64}}, ...)",
                                           printable(name)));
    add(Field::Kind::kRand, bits / 8, rand_used_);
    rand_used_ += bits / 8;
  } else if (name.starts_with("case:")) {
    const auto word = name.substr(5);
    size_t letters = 0;
    for (const char ch : word) {
      if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
        throw TemplateError(pos, "{case:...} takes printable ASCII text");
      letters += is_letter(ch);
    }
    if (letters == 0) throw TemplateError(pos, "{case:...} needs letters to carry cookie bits");
    const size_t src = take_cookie((letters + 7) / 8, name, pos);
    fields_.push_back(Field{Field::Kind::kCase, static_cast<uint16_t>(bytes_.size()),
                            static_cast<uint16_t>(word.size()), static_cast<uint16_t>(src)});
    bytes_.insert(bytes_.end(), word.begin(), word.end());
  } else {
    throw TemplateError(pos, fmt::format("unknown field {{{}}} (known: {{cookie16}} {{cookie32}} "
                                         "{{cookie64}} {{cookie31}} {{rand8}}..{{rand64}} {{dst}} "
                                         "{{case:TEXT}}; a literal brace is {{{{)",
                                         printable(name)));
  }
}

}  // namespace dpscan::udp
